//! A greeting server that panics before it listens: it reads its greeting
//! from a file that is not there. The old grader showed only the last line
//! of its stderr, Rust's note on backtraces, not the panic.

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::net::TcpListener;

fn main() {
    let args = Args::parse(8124);
    let greeting = std::fs::read_to_string("greeting.txt").unwrap();
    let listener = TcpListener::bind(args.addr()).or_exit("cannot listen");
    eprintln!("listening on {}", listener.local_addr().or_exit("address"));
    let _ = (listener.accept(), greeting);
}
