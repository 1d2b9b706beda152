//! A3, doc A's UDP server, on port 41234.
//!
//! Once bound it prints `server listening ADDR:PORT`, then
//! `server got: MSG from ADDR:PORT` for every datagram, whoever sent it. A
//! message that is not UTF-8 is printed with `�` in place of the bad bytes,
//! as Node's `Buffer` would print it: never a crash.
//!
//! The document creates `socket` and then attaches its listeners to
//! `server`, which does not exist; here there is one `server`.
//!
//! Run: `cargo run --example udp_server [-- --host HOST --port PORT]`, then
//! `cargo run --example udp_client` or `echo hi | nc -u -w1 127.0.0.1 41234`
//! in another terminal.

mod common;

use common::{Args, OrExit};
use netcourse::udp::{Handler, RemoteInfo, Socket};
use std::io;

/// The body of Node's `'message'` listener.
struct Printer;

impl Handler for Printer {
    // 'message': a datagram arrived, with its sender's rinfo.
    fn on_message(&mut self, _server: &Socket, msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()> {
        let msg = String::from_utf8_lossy(msg);
        println!("server got: {msg} from {}:{}", rinfo.address, rinfo.port);
        Ok(())
    }
}

fn main() {
    let args = Args::parse(41234);
    let server = Socket::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    // 'listening': bind() returned Ok. Node prints the address and the port
    // as they are, without brackets around an IPv6 address.
    let address = server.local_addr();
    println!("server listening {}:{}", address.ip(), address.port());
    common::say_listening(address);
    server.receive(Printer).or_exit("cannot receive");
}
