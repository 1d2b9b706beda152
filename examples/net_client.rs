//! B2, doc B's `client.js`, for the server on port 8080 (`net_server`).
//!
//! Prints `连接服务器` ("connected to the server") and sends
//! `http://xingxin.me \r\n`; prints what the server sends after
//! `接收服务端的数据: ` ("data from the server:") and ends its side; prints
//! `断开连接` ("disconnected") when the server ends too, and exits 0.
//!
//! Run: `cargo run --example net_client [-- --host HOST --port PORT]`.

mod common;

use common::{Args, OrExit};
use netcourse::tcp::{self, Handler, Socket};
use std::io::{self, Write};

struct Client;

impl Handler for Client {
    // 'connect'
    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        println!("连接服务器");
        socket.write_all(b"http://xingxin.me \r\n")
    }

    // 'data': print it, then end our side.
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        println!("接收服务端的数据:  {}", String::from_utf8_lossy(data));
        socket.end()
    }

    // 'end'
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        println!("断开连接");
        Ok(())
    }
}

fn main() {
    let args = Args::parse(8080);
    tcp::connect(args.addr(), Client).or_exit(format_args!("{}:{}", args.host, args.port));
}
