//! B1, doc B's `server.js`, on port 8080.
//!
//! Prints `服务创建` ("server created") once listening, and for each client
//! `客户端链接` ("client connected"), every chunk it sends after
//! `监听客户端的数据: ` ("data from the client:"), and `客户端断开链接`
//! ("client disconnected") at its FIN. Each client is sent `哈哈哈我是一个测试`.
//!
//! Run: `cargo run --example net_server [-- --host HOST --port PORT]`, then
//! `cargo run --example net_client` in another terminal.

mod common;

use common::{Args, OrExit};
use netcourse::tcp::{Handler, Server, Socket};
use std::io;

struct Logger;

impl Handler for Logger {
    // 'connection'
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        println!("客户端链接");
        socket.write("哈哈哈我是一个测试")
    }

    // 'data'. Node's console.log('A: ', b) puts a space between its two
    // arguments, hence the two spaces.
    fn on_data(&mut self, _socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        println!("监听客户端的数据:  {}", String::from_utf8_lossy(data));
        Ok(())
    }

    // 'end'
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        println!("客户端断开链接");
        Ok(())
    }
}

fn main() {
    let args = Args::parse(8080);
    let server = Server::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    // 'listening'
    println!("服务创建");
    eprintln!(
        "listening on {}",
        server.local_addr().or_exit("local address")
    );
    server.serve(|| Logger).or_exit("cannot start the server");
}
