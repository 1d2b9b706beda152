//! A greeting server whose connection threads panic: an index past the end
//! of a buffer. The server itself goes on running; the old grader said only
//! that it "got the end of the connection (FIN) and no bytes".

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() {
    let args = Args::parse(8124);
    let listener = TcpListener::bind(args.addr()).or_exit("cannot listen");
    eprintln!("listening on {}", listener.local_addr().or_exit("address"));
    for socket in listener.incoming() {
        let Ok(socket) = socket else { continue };
        thread::spawn(move || greet(socket));
    }
}

fn greet(mut socket: TcpStream) {
    let words: Vec<&str> = "hello world：".split(' ').collect();
    let greeting = format!("{} {}\n", words[0], words[2]);
    let _ = socket.write_all(greeting.as_bytes());
}
