//! Your turn, chapter 5, the capstone: the chat room, from an empty file.
//! No `netcourse`: `std::net`, threads, and an `Arc<Mutex<Vec<...>>>`.
//!
//! What to build (docs/05-chat.md, from "Shared state: one list, many
//! threads" to "Leaving, by id"). A server on --host and --port (8080 by
//! default) that:
//!
//! - prints `listening on ADDR` on stderr once bound, as the other
//!   servers do;
//! - prints `Got a new connection` for each client, once it is in the room
//!   (the grader waits for this line before it talks);
//! - sends every line a client sends (the bytes up to and including its
//!   `\n`) to every *other* client: whole, byte for byte, and in one order
//!   for everyone;
//! - takes a client out of the room when it leaves, with FIN or with a
//!   reset, and ends its connection too;
//! - never makes a client wait for another: not for one that never reads,
//!   nor for one that reads, but slowly. Give each client a bounded queue
//!   of the lines waiting for it, and cut off a client whose queue passes
//!   its cap: the room must not keep every line for it either;
//! - survives a client that sends one line without end, and keeps serving
//!   the others, without keeping the whole line: bound what it keeps of a
//!   line, and cut off a client whose line passes it (on Linux the grader
//!   watches the server's memory).
//!
//! Try it: `cargo run --features workshop --example ch5_chat`, then
//! `cargo run --example chat_client` in two more terminals.
//! Grade it: `cargo run --example grade -- ch5-chat`.

// --host and --port, as in the course's examples (and `common::OrExit`,
// for `.or_exit("...")`).
#[path = "../common/mod.rs"]
mod common;

use common::Args;

fn main() {
    let args = Args::parse(8080);
    // Your turn: everything.
    let _ = args;
}
