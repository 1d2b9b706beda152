//! A solution to the workshop's ch2-server step: A1, the greeting server,
//! with nothing but `std::net`. Try your own first.

#[path = "../../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

fn main() {
    let args = Args::parse(8124);
    let listener = TcpListener::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    // 'listening': bind() returned Ok.
    println!("server bound");
    eprintln!(
        "listening on {}",
        listener.local_addr().or_exit("local address")
    );

    for socket in listener.incoming() {
        // 'connection': a thread of its own, so that clients do not wait
        // for each other.
        let Ok(socket) = socket else { continue };
        thread::spawn(move || greet(socket));
    }
}

/// One client's connection, from greeting to FIN. An error (a reset) ends
/// this connection only: Node's `socket.on('error', () => {})`.
fn greet(mut socket: TcpStream) -> io::Result<()> {
    socket.write_all("hello world：\n".as_bytes())?;
    let mut buf = [0; 8 * 1024];
    loop {
        match socket.read(&mut buf)? {
            // 'end': the client sent FIN. Ours follows, as Node's does.
            0 => {
                println!("连接断开");
                return socket.shutdown(Shutdown::Write);
            }
            // 'data': answer every chunk, whatever it says.
            _ => socket.write_all("你好".as_bytes())?,
        }
    }
}
