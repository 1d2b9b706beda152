//! An events server that takes a read timeout for an error. The old grader
//! quoted `Resource temporarily unavailable (os error 11)` and left it at
//! that.

#[path = "../../examples/common/mod.rs"]
mod common;
mod events;

fn main() {
    events::serve(events::Mistakes {
        timer_not_stopped: false,
        timeout_is_an_error: true,
    });
}
