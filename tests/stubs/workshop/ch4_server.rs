//! Your turn, chapter 4: doc A's UDP server, A3, that also answers, with
//! nothing but `std::net`'s `UdpSocket`.
//!
//! What to build (docs/04-udp.md, "The server, A3" and "`rinfo`: who sent
//! it"):
//!
//! - once bound, print `server listening 127.0.0.1:41234` ('listening');
//! - for every datagram, print `server got: MSG from ADDR:PORT`, with the
//!   sender's address and port (rinfo), and the message decoded with
//!   `String::from_utf8_lossy` (bytes that are not UTF-8 print as `�`,
//!   never a crash);
//! - answer each datagram with one datagram, `got N bytes` (N is its
//!   size), sent back to whoever sent it;
//! - receive into a buffer big enough for any datagram, so that none is
//!   cut ("How big a datagram can be").
//!
//! Try it: `cargo run --features workshop --example ch4_server`, then
//! `cargo run --example udp_client`, or your own client (ch4-client).
//! Grade it: `cargo run --example grade -- ch4-server`.

// --host and --port, and `.or_exit("...")`, as in the course's examples.
#[path = "../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::net::UdpSocket;

fn main() {
    let args = Args::parse(41234);
    // Where to listen: --host and --port. The grader gives --port 0, and
    // learns the port the kernel chose from the line below.
    let addr = args.addr();
    let server =
        UdpSocket::bind(addr).or_exit(format_args!("cannot listen on {}:{}", addr.0, addr.1));
    // The grader learns the port from this line (on stderr, not stdout).
    eprintln!(
        "listening on {}",
        server.local_addr().or_exit("local address")
    );

    // Your turn: the receive loop. For now the server stops right here.
}
