//! Your turn, chapter 3: a server that prints a line for each event of
//! each connection, as A5 does, with nothing but `std::net`.
//!
//! What to build (docs/03-events.md; A5's lines are in "All of them in one
//! run: A5", each event has its own section). Print, on stdout:
//!
//! ```text
//! server: listening 127.0.0.1:8124        once bound ('listening')
//! server: connection from 127.0.0.1:PORT  for each client; then write "hi" to it
//! socket: data 6 bytes                    each read that returned bytes ('data')
//! socket: timeout, nothing for 1000 ms    a read that waited 1 s for nothing ('timeout');
//!                                         then end the connection (FIN) and stop the timer
//! socket: end, 6 bytes read, 2 written    read returned 0, the client's FIN ('end');
//!                                         then end your side too (FIN)
//! socket: error MESSAGE                   read or write failed, a reset most often ('error')
//! socket: close, had_error false          the connection is over ('close'), after an
//!                                         error: had_error true
//! ```
//!
//! The 1 s timeout is `set_read_timeout`: a read that waits that long fails
//! with `WouldBlock` (`TimedOut` on Windows; Linux words it "Resource
//! temporarily unavailable (os error 11)"), which is 'timeout', not 'error'.
//! `set_read_timeout(None)` stops the timer. Count the bytes read and written
//! yourself. A thread per connection is best, but the grader's clients come
//! one at a time.
//!
//! Try it: `cargo run --features workshop --example ch3_events`, then
//! `nc 127.0.0.1 8124`.
//! Grade it: `cargo run --example grade -- ch3-events`.

// --host and --port, and `.or_exit("...")`, as in the course's examples.
#[path = "../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::net::TcpListener;

fn main() {
    let args = Args::parse(8124);
    // Where to listen: --host and --port. The grader gives --port 0, and
    // learns the port the kernel chose from the line below.
    let addr = args.addr();
    let listener =
        TcpListener::bind(addr).or_exit(format_args!("cannot listen on {}:{}", addr.0, addr.1));
    // The grader learns the port from this line (on stderr, not stdout).
    eprintln!(
        "listening on {}",
        listener.local_addr().or_exit("local address")
    );

    for socket in listener.incoming() {
        let Ok(socket) = socket else { continue };
        // Your turn: the events of this connection. For now the socket is
        // dropped here, which closes the connection at once.
        drop(socket);
    }
}
