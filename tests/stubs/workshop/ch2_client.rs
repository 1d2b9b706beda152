//! Your turn, chapter 2: doc A's client, A2, with nothing but `std::net`.
//!
//! What to build (docs/02-tcp.md, "The client, A2"):
//!
//! - once connected, print `client connected` and send `world!\r\n`;
//! - print the first data the server sends (`String::from_utf8_lossy`),
//!   then end your side with FIN: `shutdown(Shutdown::Write)`, Node's
//!   `client.end()`;
//! - go on reading, and print whatever else comes, until the server's FIN
//!   (`read` returns 0); then print `client disconnected` and exit.
//!
//! Try it against your own server or the course's:
//! `cargo run --example tcp_server`, then
//! `cargo run --features workshop --example ch2_client`.
//! Grade it: `cargo run --example grade -- ch2-client` (the grader plays
//! the server).

// --host and --port, and `.or_exit("...")`, as in the course's examples.
#[path = "../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::net::TcpStream;

fn main() {
    let args = Args::parse(8124);
    let addr = args.addr();
    let client =
        TcpStream::connect(addr).or_exit(format_args!("cannot connect to {}:{}", addr.0, addr.1));
    // Your turn: 'connect' has happened. For now the stream is dropped here,
    // which closes the connection at once.
    drop(client);
}
