//! A1, doc A's TCP server, on port 8124.
//!
//! Every client is greeted with `hello world：` (a full-width colon, as in
//! the document), every chunk it sends is answered with `你好`, and when it
//! sends FIN the server prints `连接断开` ("disconnected").
//!
//! What the snippet leaves out: a client silent for `--idle` seconds (120
//! unless given, 0 for never) is disconnected, so that idle connections do
//! not keep their seats; a connection over the server's limits
//! (`--max-connections N`, `--max-per-ip N`) is refused with a line saying
//! why, at most one such line a second.
//!
//! Run: `cargo run --example tcp_server [-- --host HOST --port PORT]`, then
//! `cargo run --example tcp_client` or `nc 127.0.0.1 8124` in another terminal.

mod common;

use common::{Args, OrExit};
use netcourse::tcp::{Handler, Server, Socket};
use std::io::{self, Write};
use std::time::Duration;

/// One client's connection: the body of Node's `'connection'` listener.
struct Greeter {
    /// How long the client may stay silent; `None` for ever.
    idle: Option<Duration>,
}

impl Handler for Greeter {
    // 'connection': greet the new client, and start its idle timer
    // (socket.setTimeout(idle)).
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.set_timeout(self.idle)?;
        socket.write_all("hello world：\n".as_bytes())
    }

    // 'data': answer every chunk, whatever it says.
    fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        socket.write_all("你好".as_bytes())
    }

    // 'end': the client sent FIN.
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        common::println("连接断开");
        Ok(())
    }

    // 'timeout': silent for too long. destroy(), not end(): after end() a
    // client that never closes its side would keep its seat.
    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.destroy();
        Ok(())
    }
}

fn main() {
    let mut args = Args::parse(8124);
    let idle = args.idle();
    let server = Server::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    let server = args
        .seats(server, idle)
        .on_drop(|addr, why| {
            common::println_limited("Server drop", format!("Server drop : {addr} ({why})"))
        })
        .on_error(|err| common::println_limited("Server error", format!("Server error : {err}")));
    // 'listening': bind() returned Ok.
    common::println("server bound");
    common::say_listening(server.local_addr().or_exit("local address"));
    server
        .serve(move || Greeter { idle })
        .or_exit("cannot start the server");
}
