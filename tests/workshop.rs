//! The workshop's grader, checked both ways: every reference solution
//! passes its step, every untouched stub fails it with its first helpful
//! sentence (so the grader can neither pass everything nor fail
//! everything), and the list of steps prints, with the progress.
//!
//! The programs are the examples `cargo test` has built already; the grader
//! grades them with `--exe` (no cargo inside the tests), and keeps its
//! progress in a file of each test's own, never in `target/workshop-progress`.
//!
//! The stubs graded here are the pristine copies in `tests/stubs/workshop/`
//! (the examples `ch2_server_stub` and so on), never the files in
//! `examples/workshop/`: those are the learner's, and hold whatever the
//! learner has written by now, so `cargo test` stays green for a learner
//! halfway through the workshop, or done with it.

mod common;

use common::{example, run};
use std::fs;
use std::path::PathBuf;
use std::process::Output;

/// A fresh progress file for one test (and for this process: two runs of
/// the suite at once do not share one), removed when the test ends.
struct Progress(PathBuf);

impl Drop for Progress {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn progress(test: &str) -> Progress {
    let name = format!("workshop-{test}-{}", std::process::id());
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_file(&path);
    Progress(path)
}

/// `grade STEP --exe PROGRAM --progress FILE`.
fn grade(step: &str, program: &str, progress: &Progress) -> Output {
    run("grade")
        .arg(step)
        .arg("--exe")
        .arg(example(program))
        .arg("--progress")
        .arg(&progress.0)
        .output()
        .expect("run the grader")
}

/// `grade --progress FILE`: the list of steps.
fn list(progress: &Progress) -> String {
    let output = run("grade")
        .arg("--progress")
        .arg(&progress.0)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The step's solution passes every check.
fn solution_passes(step: &str) {
    let solution = format!("{}_solution", step.replace('-', "_"));
    let output = grade(step, &solution, &progress(step));
    let stdout = stdout(&output);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("\n{step} passes.")), "{stdout}");
    assert!(!stdout.contains("not yet"), "{stdout}");
}

/// The pristine copy of the step's stub: the example `ch2_server_stub`.
fn stub(step: &str) -> String {
    format!("{}_stub", step.replace('-', "_"))
}

/// The step's untouched stub fails, and the failure is `sentence`.
fn stub_fails_with(step: &str, sentence: &str) {
    let output = grade(step, &stub(step), &progress(&format!("{step}-stub")));
    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let failure = stdout
        .lines()
        .find_map(|line| line.strip_prefix("  not yet: "))
        .unwrap_or_else(|| panic!("no failure in {stdout}"));
    assert_eq!(failure, sentence, "{stdout}");
}

#[test]
fn ch2_server_solution_passes() {
    solution_passes("ch2-server");
}

#[test]
fn ch2_client_solution_passes() {
    solution_passes("ch2-client");
}

#[test]
fn ch3_events_solution_passes() {
    solution_passes("ch3-events");
}

#[test]
fn ch4_server_solution_passes() {
    solution_passes("ch4-server");
}

#[test]
fn ch4_client_solution_passes() {
    solution_passes("ch4-client");
}

#[test]
fn ch5_chat_solution_passes() {
    solution_passes("ch5-chat");
}

#[test]
fn ch2_server_stub_fails_on_the_greeting() {
    stub_fails_with(
        "ch2-server",
        "Connected and expected the greeting \"hello world：\\n\" (15 bytes), but got the end \
         of the connection (FIN) and no bytes. See docs/02-tcp.md, \"The server, A1\".",
    );
}

#[test]
fn ch2_client_stub_fails_on_what_it_sends() {
    stub_fails_with(
        "ch2-client",
        "Accepted the client's connection and expected \"world!\\r\\n\" (8 bytes) from it as \
         soon as it connected, but got the end of the connection (FIN) and no bytes. See \
         docs/02-tcp.md, \"The client, A2\".",
    );
}

#[test]
fn ch3_events_stub_fails_on_the_greeting() {
    stub_fails_with(
        "ch3-events",
        "Connected and expected the greeting \"hi\" (2 bytes), but got the end of the \
         connection (FIN) and no bytes. See docs/03-events.md, \"All of them in one run: A5\".",
    );
}

#[test]
fn ch4_server_stub_fails_on_listening() {
    let output = grade(
        "ch4-server",
        &stub("ch4-server"),
        &progress("ch4-server-stub"),
    );
    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    // The sentence names the port that the stub got.
    let port = stdout
        .lines()
        .find_map(|line| line.strip_prefix("  ok: it listens: listening on 127.0.0.1:"))
        .unwrap_or_else(|| panic!("no port in {stdout}"));
    let sentence = format!(
        "Started the server and expected ch4_server to print \"server listening \
         127.0.0.1:{port}\" next, but got nothing: it exited with code 0. See docs/04-udp.md, \
         \"The server, A3\"."
    );
    assert!(
        stdout.contains(&format!("  not yet: {sentence}\n")),
        "{stdout}"
    );
}

#[test]
fn ch4_client_stub_fails_on_its_datagram() {
    stub_fails_with(
        "ch4-client",
        "Started ch4_client with no words and expected one datagram, \"hello world\" (11 \
         bytes), but got none: it exited with code 0. See docs/04-udp.md, \"The client, A4\".",
    );
}

#[test]
fn ch5_chat_stub_fails_on_listening() {
    stub_fails_with(
        "ch5-chat",
        "Started ch5_chat with --port 0 and expected the line `listening on ADDR` on stderr, \
         but got nothing: it exited with code 0. See docs/05-chat.md, \"The server, B3\".",
    );
}

/// The course's own chat room, `chat_server`, passes the capstone too: the
/// grader asks of a learner's room what the library's room does.
#[test]
fn the_course_s_own_chat_server_passes_the_capstone() {
    let output = grade("ch5-chat", "chat_server", &progress("chat-server"));
    let stdout = stdout(&output);
    assert!(output.status.success(), "{stdout}");
}

/// A server that accepts and never says a word (the course's chat server,
/// graded as a greeting server) fails a check at its deadline: no hang.
#[test]
fn a_server_that_never_answers_fails_at_the_deadline() {
    let output = grade("ch2-server", "chat_server", &progress("silent"));
    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "  not yet: Connected and expected the greeting \"hello world：\\n\" (15 bytes), but \
             got nothing within 5 s. See docs/02-tcp.md, \"The server, A1\".\n"
        ),
        "{stdout}"
    );
}

#[test]
fn with_no_step_it_lists_every_step() {
    let listed = list(&progress("list"));
    for (step, file) in [
        ("ch2-server", "examples/workshop/ch2_server.rs"),
        ("ch2-client", "examples/workshop/ch2_client.rs"),
        ("ch3-events", "examples/workshop/ch3_events.rs"),
        ("ch4-server", "examples/workshop/ch4_server.rs"),
        ("ch4-client", "examples/workshop/ch4_client.rs"),
        ("ch5-chat", "examples/workshop/ch5_chat.rs"),
    ] {
        let line = listed
            .lines()
            .find(|line| line.contains(step))
            .unwrap_or_else(|| panic!("no {step} in {listed}"));
        assert!(line.starts_with("  [ ] "), "{line}");
        assert!(line.contains(file), "{line}");
    }
    assert!(
        listed.contains("0 of 6 steps pass. Next: cargo run --example grade -- ch2-server\n"),
        "{listed}"
    );
}

#[test]
fn the_list_shows_which_steps_pass_now() {
    let progress = progress("progress");
    assert!(grade("ch2-server", "ch2_server_solution", &progress)
        .status
        .success());
    let listed = list(&progress);
    assert!(listed.contains("  [x] ch2-server "), "{listed}");
    assert!(listed.contains("  [ ] ch2-client "), "{listed}");
    assert!(
        listed.contains("1 of 6 steps pass. Next: cargo run --example grade -- ch2-client\n"),
        "{listed}"
    );

    // Broken again: it does not pass any more.
    assert!(!grade("ch2-server", &stub("ch2-server"), &progress)
        .status
        .success());
    assert!(list(&progress).contains("  [ ] ch2-server "));
}

#[test]
fn an_unknown_step_is_a_one_line_error() {
    let output = run("grade").arg("ch9-nothing").output().unwrap();
    common::assert_fails_cleanly(&output, "no step 'ch9-nothing'; the steps are ch2-server,");
}

/// Every section a failed check points to is a heading of its chapter, so
/// that renaming a section cannot leave the grader pointing at nothing.
#[test]
fn every_section_the_grader_names_exists() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut named = 0;
    for file in fs::read_dir(format!("{root}/examples/grade")).unwrap() {
        let source = fs::read_to_string(file.unwrap().path()).unwrap();
        // `See("docs/02-tcp.md", "The server, A1")`, on one line or more.
        for see in source.split(": See = See(").skip(1) {
            let quoted: Vec<&str> = see.split('"').collect();
            let (chapter, section) = (quoted[1], quoted[3]);
            let text = fs::read_to_string(format!("{root}/{chapter}")).unwrap();
            let heading = |level: &str| format!("\n{level} {section}\n");
            assert!(
                text.contains(&heading("##")) || text.contains(&heading("###")),
                "{chapter} has no section \"{section}\""
            );
            named += 1;
        }
    }
    assert!(named > 20, "found only {named} sections");
}
