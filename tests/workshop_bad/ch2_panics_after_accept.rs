//! A greeting server that panics once a client connects: it looks up a
//! setting that is not there. The old grader said only that it "got the end
//! of the connection (FIN) and no bytes", nothing of a crash.

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::io::Write;
use std::net::TcpListener;

fn main() {
    let args = Args::parse(8124);
    let listener = TcpListener::bind(args.addr()).or_exit("cannot listen");
    eprintln!("listening on {}", listener.local_addr().or_exit("address"));
    for socket in listener.incoming() {
        let mut socket = socket.or_exit("accept");
        let greeting = std::env::var("GREETING").unwrap();
        let _ = socket.write_all(greeting.as_bytes());
    }
}
