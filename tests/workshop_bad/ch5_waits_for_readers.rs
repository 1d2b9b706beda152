//! A chat room that waits, up to 1 s, for a client whose queue is full,
//! before it cuts that client off: a client that never reads is cut off
//! after a second, but one that reads slowly sets everyone's pace. The old
//! grader passed it.

#[path = "../../examples/common/mod.rs"]
mod common;
mod room;

use std::time::Duration;

fn main() {
    room::serve(room::Rules {
        max_line: Some(64 * 1024),
        wait_for_readers: Some(Duration::from_secs(1)),
    });
}
