//! An events server that does not stop its idle timer after 'timeout': a
//! second 'timeout' follows a second later. The old grader passed it.

#[path = "../../examples/common/mod.rs"]
mod common;
mod events;

fn main() {
    events::serve(events::Mistakes {
        timer_not_stopped: true,
        timeout_is_an_error: false,
    });
}
