//! A chat room whose senders wait for a client whose queue is full, as
//! long as that client's socket took a byte within the last 1.5 s: a
//! client that never reads is cut off within 1.5 s, but one that reads
//! slowly keeps its socket taking bytes, and sets everyone's pace. The old
//! grader passed it.

#[path = "../../examples/common/mod.rs"]
mod common;
mod room;

use std::time::Duration;

static RULES: room::Rules = room::Rules {
    max_line: Some(64 * 1024),
    wait_for_readers: Some(Duration::from_millis(1500)),
};

fn main() {
    room::serve(&RULES);
}
