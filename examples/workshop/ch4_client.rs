//! Your turn, chapter 4: doc A's UDP client, A4, that also waits for the
//! answer, with nothing but `std::net`'s `UdpSocket`.
//!
//! What to build (docs/04-udp.md, "The client, A4", "`rinfo`: who sent it"
//! and "No connection, no delivery promise"):
//!
//! - send the words given on the command line, joined by spaces, or
//!   `hello world` when there are none, as one datagram to --host and
//!   --port (`args.rest` has the words);
//! - print `sent N bytes to HOST:PORT`;
//! - wait at most one second for the answer, on the same socket; print it
//!   as `client got: MSG from ADDR:PORT`, with the sender's address and
//!   port, and exit;
//! - if no answer comes within that second (UDP will not tell you that
//!   nobody listens), exit with code 1 and a one-line error:
//!   `common::fail("no answer")` does both.
//!
//! Try it against your server:
//! `cargo run --features workshop --example ch4_server`, then
//! `cargo run --features workshop --example ch4_client -- some words`.
//! Grade it: `cargo run --example grade -- ch4-client` (the grader plays
//! the server).

// --host and --port, and `.or_exit("...")`, as in the course's examples.
#[path = "../common/mod.rs"]
mod common;

use common::Args;

fn main() {
    let args = Args::parse(41234);
    // Your turn: everything. For now the client does nothing at all.
    let _ = args;
}
