//! B1, doc B's `server.js`, on port 8080.
//!
//! Prints `服务创建` ("server created") once listening, and for each client
//! `客户端链接` ("client connected"), every chunk it sends after
//! `监听客户端的数据: ` ("data from the client:"), and `客户端断开链接`
//! ("client disconnected") at its FIN. Each client is sent `哈哈哈我是一个测试`.
//!
//! What the snippet leaves out, as in `tcp_server`: a client silent for
//! `--idle` seconds (120 unless given, 0 for never) is disconnected; a
//! connection over the server's limits (`--max-connections N`,
//! `--max-per-ip N`) is refused with a line saying why, at most one such
//! line a second.
//!
//! Run: `cargo run --example net_server [-- --host HOST --port PORT]`, then
//! `cargo run --example net_client` in another terminal.

mod common;

use common::{Args, OrExit};
use netcourse::tcp::{Handler, Server, Socket};
use std::io::{self, Write};
use std::time::Duration;

struct Logger {
    /// How long the client may stay silent; `None` for ever.
    idle: Option<Duration>,
}

impl Handler for Logger {
    // 'connection', and the client's idle timer (socket.setTimeout(idle)).
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        common::println("客户端链接");
        socket.set_timeout(self.idle)?;
        socket.write_all("哈哈哈我是一个测试".as_bytes())
    }

    // 'data'. Node's console.log('A: ', b) puts a space between its two
    // arguments, hence the two spaces.
    fn on_data(&mut self, _socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        common::println(format_args!(
            "监听客户端的数据:  {}",
            String::from_utf8_lossy(data)
        ));
        Ok(())
    }

    // 'end'
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        common::println("客户端断开链接");
        Ok(())
    }

    // 'timeout': silent for too long; destroy() frees its seat now.
    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.destroy();
        Ok(())
    }
}

fn main() {
    let mut args = Args::parse(8080);
    let idle = args.idle();
    let server = Server::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    let server = args
        .seats(server, idle)
        .on_drop(|addr, why| {
            common::println_limited("Server drop", format!("Server drop : {addr} ({why})"))
        })
        .on_error(|err| common::println_limited("Server error", format!("Server error : {err}")));
    // 'listening'
    common::println("服务创建");
    common::say_listening(server.local_addr().or_exit("local address"));
    server
        .serve(move || Logger { idle })
        .or_exit("cannot start the server");
}
