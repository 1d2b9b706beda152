//! A chat room that keeps the whole of a line until its `"\n"`, however
//! long: a line without end fills its memory. The old grader passed it.

#[path = "../../examples/common/mod.rs"]
mod common;
mod room;

static RULES: room::Rules = room::Rules {
    max_line: None,
    wait_for_readers: None,
};

fn main() {
    room::serve(&RULES);
}
