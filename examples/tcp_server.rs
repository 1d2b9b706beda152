//! A1, doc A's TCP server, on port 8124.
//!
//! Every client is greeted with `hello world：` (a full-width colon, as in
//! the document), every chunk it sends is answered with `你好`, and when it
//! sends FIN the server prints `连接断开` ("disconnected").
//!
//! Run: `cargo run --example tcp_server [-- --host HOST --port PORT]`, then
//! `cargo run --example tcp_client` or `nc 127.0.0.1 8124` in another terminal.

mod common;

use common::{Args, OrExit};
use netcourse::tcp::{Handler, Server, Socket};
use std::io;

/// One client's connection: the body of Node's `'connection'` listener.
struct Greeter;

impl Handler for Greeter {
    // 'connection': greet the new client.
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.write("hello world：\n")
    }

    // 'data': answer every chunk, whatever it says.
    fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        socket.write("你好")
    }

    // 'end': the client sent FIN.
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        println!("连接断开");
        Ok(())
    }
}

fn main() {
    let args = Args::parse(8124);
    let server = Server::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    // 'listening': bind() returned Ok.
    println!("server bound");
    eprintln!(
        "listening on {}",
        server.local_addr().or_exit("local address")
    );
    server.serve(|| Greeter).or_exit("cannot start the server");
}
