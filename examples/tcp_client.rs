//! A2, doc A's TCP client, for the server on port 8124 (`tcp_server`).
//!
//! On connect it prints `client connected` and sends `world!\r\n`; it prints
//! what the server sends and ends its side; when the server ends too it
//! prints `client disconnected` and exits 0.
//!
//! Run: `cargo run --example tcp_client [-- --host HOST --port PORT]`.

mod common;

use common::{Args, OrExit};
use netcourse::tcp::{self, Handler, Socket};
use std::io::{self, Write};

struct Client;

impl Handler for Client {
    // 'connect': the handshake finished.
    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        println!("client connected");
        socket.write_all(b"world!\r\n")
    }

    // 'data': print it, then end our side. Node calls this for every chunk
    // that arrives, and so do we; a second end() does nothing.
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        println!("{}", String::from_utf8_lossy(data));
        socket.end()
    }

    // 'end': the server sent FIN.
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        println!("client disconnected");
        Ok(())
    }
}

fn main() {
    let args = Args::parse(8124);
    tcp::connect(args.addr(), Client).or_exit(format_args!("{}:{}", args.host, args.port));
}
