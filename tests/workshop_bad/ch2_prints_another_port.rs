//! A greeting server that prints a port it does not listen on: the port
//! in `PRINTED_PORT` (the tests put another server there), as a learner's
//! hard-coded `println!` would. The old grader graded whatever listened on
//! the printed port.

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::net::TcpListener;

fn main() {
    let args = Args::parse(8124);
    let listener = TcpListener::bind(args.addr()).or_exit("cannot listen");
    let port = std::env::var("PRINTED_PORT").or_exit("PRINTED_PORT");
    eprintln!("listening on 127.0.0.1:{port}");
    for socket in listener.incoming() {
        drop(socket);
    }
}
