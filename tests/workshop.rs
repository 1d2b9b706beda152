//! The workshop's grader, checked both ways: every reference solution
//! passes its step, every untouched stub fails it with its first helpful
//! sentence (so the grader can neither pass everything nor fail
//! everything), in English and in Chinese; and for each mistake that an
//! older grader passed or mislabelled, a small program that makes it, and
//! the sentence it gets now.
//!
//! The programs are the examples `cargo test` has built already; the grader
//! grades them with `--exe` (no cargo inside the tests), and keeps its
//! progress in a file of each test's own, never in `target/workshop-progress`.
//!
//! The stubs graded here are the pristine copies in `tests/stubs/workshop/`
//! (the examples `ch2_server_stub` and so on), never the files in
//! `examples/workshop/`: those are the learner's, and hold whatever the
//! learner has written by now, so `cargo test` stays green for a learner
//! halfway through the workshop, or done with it. The programs with one
//! mistake each are in `tests/workshop_bad/`.

mod common;

use common::{example, run};
use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

/// The longest one grading may take: the capstone takes a few seconds on a
/// quiet machine; this is for a loaded one.
const GRADING: Duration = Duration::from_secs(180);

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

/// The grader, in English whatever the machine's locale, with a fresh
/// progress file.
fn grader(progress: &Progress) -> assert_cmd::Command {
    let mut grade = run("grade");
    grade
        .timeout(GRADING)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "en_US.UTF-8")
        .arg("--progress")
        .arg(&progress.0);
    grade
}

/// `grade STEP --exe PROGRAM`, with `args` (`--lang zh`, say).
fn grade_with(step: &str, program: &str, args: &[&str]) -> Output {
    let progress = progress(&format!("{step}-{program}"));
    grader(&progress)
        .arg(step)
        .arg("--exe")
        .arg(example(program))
        .args(args)
        .output()
        .expect("run the grader")
}

/// `grade STEP --exe PROGRAM`, in English.
fn grade(step: &str, program: &str) -> Output {
    grade_with(step, program, &[])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The example name of the step's solution: `ch2_server_solution`.
fn solution(step: &str) -> String {
    format!("{}_solution", step.replace('-', "_"))
}

/// The pristine copy of the step's stub: the example `ch2_server_stub`.
fn stub(step: &str) -> String {
    format!("{}_stub", step.replace('-', "_"))
}

/// The grading failed; returns what it printed after `  not yet: ` (or
/// `  还没通过：`), to the end.
fn failure(output: &Output) -> String {
    let stdout = stdout(output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let at = stdout
        .find("  not yet: ")
        .map(|at| at + "  not yet: ".len())
        .or_else(|| {
            stdout
                .find("  还没通过：")
                .map(|at| at + "  还没通过：".len())
        })
        .unwrap_or_else(|| panic!("no failure in {stdout}"));
    stdout[at..].to_string()
}

/// The first line of the failure.
fn first_line(output: &Output) -> String {
    failure(output).lines().next().unwrap_or("").to_string()
}

/// The step's solution passes every check.
fn solution_passes(step: &str, args: &[&str], passes: &str) {
    let output = grade_with(step, &solution(step), args);
    let stdout = stdout(&output);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("\n{step}{passes}")), "{stdout}");
}

/// The step's untouched stub fails, and the failure is `sentence`.
fn stub_fails_with(step: &str, args: &[&str], sentence: &str) {
    let output = grade_with(step, &stub(step), args);
    assert_eq!(first_line(&output), sentence, "{}", stdout(&output));
}

#[test]
fn ch2_server_solution_passes() {
    solution_passes("ch2-server", &[], " passes.");
}

#[test]
fn ch2_client_solution_passes() {
    solution_passes("ch2-client", &[], " passes.");
}

#[test]
fn ch3_events_solution_passes() {
    solution_passes("ch3-events", &[], " passes.");
}

#[test]
fn ch4_server_solution_passes() {
    solution_passes("ch4-server", &[], " passes.");
}

#[test]
fn ch4_client_solution_passes() {
    solution_passes("ch4-client", &[], " passes.");
}

#[test]
fn ch5_chat_solution_passes() {
    solution_passes("ch5-chat", &[], " passes.");
}

/// Every solution passes in Chinese too.
#[test]
fn every_solution_passes_in_chinese() {
    for step in [
        "ch2-server",
        "ch2-client",
        "ch3-events",
        "ch4-server",
        "ch4-client",
        "ch5-chat",
    ] {
        solution_passes(step, &["--lang", "zh"], " 通过了。");
    }
}

#[test]
fn ch2_server_stub_fails_on_the_greeting() {
    stub_fails_with(
        "ch2-server",
        &[],
        "Connected and expected the greeting \"hello world：\\n\" (15 bytes), but got the end \
         of the connection (FIN) and no bytes. See docs/02-tcp.md, \"The server, A1\".",
    );
    stub_fails_with(
        "ch2-server",
        &["--lang", "zh"],
        "连接之后，期望收到问候语 \"hello world：\\n\"（15 字节），实际得到：连接的结束（FIN），\
         没有任何字节。参见 docs/zh-CN/02-tcp.md，“服务器 A1”。",
    );
}

#[test]
fn ch2_client_stub_fails_on_what_it_sends() {
    stub_fails_with(
        "ch2-client",
        &[],
        "Accepted the client's connection and expected \"world!\\r\\n\" (8 bytes) from it as \
         soon as it connected, but got the end of the connection (FIN) and no bytes. See \
         docs/02-tcp.md, \"The client, A2\".",
    );
    stub_fails_with(
        "ch2-client",
        &["--lang", "zh"],
        "接受了客户端的连接之后，期望它一连上就发来 \"world!\\r\\n\"（8 字节），实际得到：\
         连接的结束（FIN），没有任何字节。参见 docs/zh-CN/02-tcp.md，“客户端 A2”。",
    );
}

#[test]
fn ch3_events_stub_fails_on_the_greeting() {
    stub_fails_with(
        "ch3-events",
        &[],
        "Connected and expected the greeting \"hi\" (2 bytes), but got the end of the \
         connection (FIN) and no bytes. See docs/03-events.md, \"All of them in one run: A5\".",
    );
    stub_fails_with(
        "ch3-events",
        &["--lang", "zh"],
        "连接之后，期望收到问候语 \"hi\"（2 字节），实际得到：连接的结束（FIN），没有任何字节。\
         参见 docs/zh-CN/03-events.md，“一次全部触发：A5”。",
    );
}

#[test]
fn ch4_server_stub_fails_on_listening() {
    for (args, listens, sentence) in [
        (
            &[][..],
            "  ok: it listens: listening on 127.0.0.1:",
            "Started the server and expected ch4_server to print \"server listening \
             127.0.0.1:{port}\" next, but got nothing: it exited with code 0. See \
             docs/04-udp.md, \"The server, A3\".",
        ),
        (
            &["--lang", "zh"][..],
            "  通过：它在监听：listening on 127.0.0.1:",
            "启动服务器之后，期望 ch4_server 接下来打印 \"server listening 127.0.0.1:{port}\"，\
             实际得到：什么也没有：它退出了，退出码 0。参见 docs/zh-CN/04-udp.md，“服务器，A3”。",
        ),
    ] {
        let output = grade_with("ch4-server", &stub("ch4-server"), args);
        let stdout = stdout(&output);
        // The sentence names the port that the stub got.
        let port = stdout
            .lines()
            .find_map(|line| line.strip_prefix(listens))
            .unwrap_or_else(|| panic!("no port in {stdout}"));
        let sentence = sentence.replace("{port}", port);
        assert_eq!(first_line(&output), sentence, "{stdout}");
    }
}

#[test]
fn ch4_client_stub_fails_on_its_datagram() {
    stub_fails_with(
        "ch4-client",
        &[],
        "Started ch4_client with no words and expected one datagram, \"hello world\" (11 \
         bytes), but got none: it exited with code 0. See docs/04-udp.md, \"The client, A4\".",
    );
    stub_fails_with(
        "ch4-client",
        &["--lang", "zh"],
        "不带单词启动 ch4_client，期望收到一个数据报 \"hello world\"（11 字节），实际得到：\
         没有数据报：它退出了，退出码 0。参见 docs/zh-CN/04-udp.md，“客户端，A4”。",
    );
}

#[test]
fn ch5_chat_stub_fails_on_listening() {
    stub_fails_with(
        "ch5-chat",
        &[],
        "Started ch5_chat with --port 0 and expected the line `listening on ADDR` on stderr, \
         but got nothing: it exited with code 0. See docs/05-chat.md, \"The server, B3\".",
    );
    stub_fails_with(
        "ch5-chat",
        &["--lang", "zh"],
        "用 --port 0 启动 ch5_chat，期望它在 stderr 上打印一行 `listening on ADDR`，\
         实际得到：什么也没有：它退出了，退出码 0。参见 docs/zh-CN/05-chat.md，“服务器 B3”。",
    );
}

/// The course's own chat room, `chat_server`, passes the capstone too: the
/// grader asks of a learner's room what the library's room does.
#[test]
fn the_course_s_own_chat_server_passes_the_capstone() {
    let output = grade("ch5-chat", "chat_server");
    let stdout = stdout(&output);
    assert!(output.status.success(), "{stdout}");
}

/// A server that accepts and never says a word (the course's chat server,
/// graded as a greeting server) fails a check at its deadline: no hang.
#[test]
fn a_server_that_never_answers_fails_at_the_deadline() {
    let output = grade("ch2-server", "chat_server");
    assert_eq!(
        first_line(&output),
        "Connected and expected the greeting \"hello world：\\n\" (15 bytes), but got nothing \
         within 5 s. See docs/02-tcp.md, \"The server, A1\"."
    );
}

/// `grade --progress FILE`: the list of steps.
fn list(progress: &Progress, args: &[&str]) -> String {
    let output = grader(progress).args(args).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn with_no_step_it_lists_every_step() {
    let listed = list(&progress("list"), &[]);
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
fn the_list_shows_which_steps_pass() {
    let progress = progress("progress");
    fs::write(&progress.0, "ch2-server\n").unwrap();
    let listed = list(&progress, &[]);
    assert!(listed.contains("  [x] ch2-server "), "{listed}");
    assert!(listed.contains("  [ ] ch2-client "), "{listed}");
    assert!(
        listed.contains("1 of 6 steps pass. Next: cargo run --example grade -- ch2-client\n"),
        "{listed}"
    );
    let listed = list(&progress, &["--lang", "zh"]);
    assert!(listed.contains("  [x] ch2-server "), "{listed}");
    assert!(
        listed.contains("6 个步骤中通过了 1 个。下一步：cargo run --example grade -- ch2-client\n"),
        "{listed}"
    );
}

/// `--exe` grades a program the learner did not write (a solution, the
/// course's room): it never marks the learner's step, nor unmarks it, and
/// says so in its last line. The old grader marked `[x]` a step whose file
/// was `fn main(){}`, after `--exe target/debug/examples/chat_server`.
#[test]
fn grading_with_exe_leaves_the_progress_alone() {
    let progress = progress("exe");
    fs::write(&progress.0, "ch2-client\n").unwrap();
    for (program, passes) in [("ch5_chat_solution", true), ("ch5_chat_stub", false)] {
        let output = grader(&progress)
            .args(["ch5-chat", "--exe"])
            .arg(example(program))
            .output()
            .unwrap();
        assert_eq!(output.status.success(), passes, "{output:?}");
        let stdout = stdout(&output);
        assert_eq!(
            stdout.lines().last(),
            Some(
                "Graded with --exe, so your progress was not changed: only `cargo run \
                 --example grade -- ch5-chat`, which builds your own \
                 examples/workshop/ch5_chat.rs, records it."
            ),
            "{stdout}"
        );
        assert_eq!(fs::read_to_string(&progress.0).unwrap(), "ch2-client\n");
    }
}

#[test]
fn an_unknown_step_is_a_one_line_error() {
    let output = run("grade")
        .args(["ch9-nothing", "--lang", "en"])
        .output()
        .unwrap();
    common::assert_fails_cleanly(&output, "no step 'ch9-nothing'; the steps are ch2-server,");
    let output = run("grade")
        .args(["ch9-nothing", "--lang", "zh"])
        .output()
        .unwrap();
    common::assert_fails_cleanly(&output, "没有步骤 'ch9-nothing'；步骤有 ch2-server,");
}

// Crashes are named (issue 23, item 2).

/// A panic before the program listens: the panic message itself, not
/// Rust's note on backtraces, which was all the old grader showed.
#[test]
fn a_panic_at_start_is_shown_whole() {
    let output = grade("ch2-server", "ch2_panics_at_start");
    let failure = failure(&output);
    let lines: Vec<&str> = failure.lines().collect();
    assert_eq!(
        lines[0],
        "ch2_server crashed (exit code 101: a panic) during the check \"it listens\". What it \
         printed on stderr since the last check passed:",
        "{failure}"
    );
    assert!(lines[1].starts_with("    | thread 'main'"), "{failure}");
    assert!(
        lines[1].contains("panicked at tests/workshop_bad/ch2_panics_at_start.rs:"),
        "{failure}"
    );
    assert_eq!(
        lines[2],
        "    | called `Result::unwrap()` on an `Err` value: Os { code: 2, kind: NotFound, \
         message: \"No such file or directory\" }",
        "{failure}"
    );
    assert!(!failure.contains("RUST_BACKTRACE"), "{failure}");
    assert_eq!(
        lines[3],
        "  What the check saw: Started ch2_server with --port 0 and expected the line \
         `listening on ADDR` on stderr, but got nothing: it exited with code 101. See \
         docs/02-tcp.md, \"The server, A1\".",
        "{failure}"
    );
}

/// A panic once a client connects: the old grader said only "got the end
/// of the connection (FIN) and no bytes".
#[test]
fn a_crash_during_a_check_is_named() {
    let output = grade("ch2-server", "ch2_panics_after_accept");
    let failure = failure(&output);
    assert!(
        failure.starts_with(
            "ch2_server crashed (exit code 101: a panic) during the check \"it greets each \
             client with \"hello world：\\n\"\". What it printed on stderr since the last \
             check passed:\n    | thread 'main'"
        ),
        "{failure}"
    );
    assert!(
        failure.contains("\n    | called `Result::unwrap()` on an `Err` value: NotPresent\n"),
        "{failure}"
    );
    assert!(
        failure.contains(
            "\n  What the check saw: Connected and expected the greeting \"hello world：\\n\" \
             (15 bytes), but got the end of the connection (FIN) and no bytes."
        ),
        "{failure}"
    );
    // And in Chinese.
    let output = grade_with("ch2-server", "ch2_panics_after_accept", &["--lang", "zh"]);
    assert!(
        first_line(&output).starts_with(
            "ch2_server 在检查“它给每个客户端发问候语 \"hello world：\\n\"”时崩溃了（退出码 \
             101：panic）。上一项检查通过之后，它在 stderr 上打印了："
        ),
        "{}",
        stdout(&output)
    );
}

/// A connection's thread that panics, in a server that goes on running.
#[test]
fn a_thread_s_panic_is_named() {
    let output = grade("ch2-server", "ch2_thread_panics");
    let failure = failure(&output);
    assert!(
        failure.starts_with(
            "A thread of ch2_server panicked during the check \"it greets each client with \
             \"hello world：\\n\"\" (the program went on running). What it printed on stderr \
             since the last check passed:\n    | thread '<unnamed>'"
        ),
        "{failure}"
    );
    assert!(
        failure.contains("\n    | index out of bounds: the len is 2 but the index is 2\n"),
        "{failure}"
    );
}

// The port is the child's (issue 23, item 3).

/// A server that prints the port of another server: the old grader graded
/// that other server (here, the solution itself, which passes).
#[cfg(target_os = "linux")]
#[test]
fn a_port_that_is_not_the_program_s_own_is_refused() {
    let other = common::Running::server("ch2_server_solution", &[]);
    let port = other.addr.expect("its address").port().to_string();
    let progress = progress("port");
    let output = grader(&progress)
        .env("PRINTED_PORT", &port)
        .args(["ch2-server", "--exe"])
        .arg(example("ch2_prints_another_port"))
        .output()
        .unwrap();
    let failure = first_line(&output);
    let start = format!(
        "Started ch2_server with --port 0 and expected it to listen on the port it printed, \
         but it printed \"listening on 127.0.0.1:{port}\" and port {port} is not its own: its \
         own ports are "
    );
    assert!(failure.starts_with(&start), "{failure}");
    assert!(
        failure.ends_with(&format!(
            ". Whatever answers on {port} is another program; print the address your socket \
             has, from local_addr(). See docs/02-tcp.md, \"The server, A1\"."
        )),
        "{failure}"
    );
    drop(other);
}

/// Where the OS cannot tell, the grader says it did not check.
#[cfg(not(target_os = "linux"))]
#[test]
fn elsewhere_the_port_is_not_checked_and_the_grader_says_so() {
    let output = grade("ch2-server", "ch2_server_solution");
    assert!(
        stdout(&output).contains("(whether that port is its own was not checked"),
        "{}",
        stdout(&output)
    );
}

// The remaining checks and wordings (issue 23, item 5).

/// An idle timer that goes on after 'timeout': the old grader passed it.
#[test]
fn a_timer_not_stopped_after_timeout_fails() {
    let output = grade("ch3-events", "ch3_timer_not_stopped");
    assert_eq!(
        first_line(&output),
        "After 'timeout' and the server's FIN, said nothing for 2 s more and expected nothing \
         more until the client's FIN, but got \"socket: timeout, nothing for 1000 ms\": the \
         timer still runs; stop it once it has fired, with set_read_timeout(None). See \
         docs/03-events.md, \"`'timeout'`: a connection that goes quiet\"."
    );
}

/// A read timeout taken for an error: the grader says what that error is.
#[test]
fn a_read_timeout_printed_as_an_error_is_explained() {
    let output = grade("ch3-events", "ch3_timeout_is_an_error");
    let failure = first_line(&output);
    assert!(
        failure.starts_with(
            "Connected and then said nothing for 1 s and expected ch3_events to print \
             \"socket: timeout, nothing for 1000 ms\" next, but got \"socket: error "
        ),
        "{failure}"
    );
    assert!(
        failure.ends_with(
            ": that error is how a read timeout shows (WouldBlock on Linux and macOS, \
             TimedOut on Windows); it is 'timeout', not 'error'. See docs/03-events.md, \
             \"`'timeout'`: a connection that goes quiet\"."
        ),
        "{failure}"
    );
}

/// A UDP client with no read timeout: the old grader said "it was still
/// running after 6 s".
#[test]
fn a_client_that_waits_for_ever_is_told_why() {
    let output = grade("ch4-client", "ch4_client_waits_forever");
    let failure = first_line(&output);
    assert!(
        failure.ends_with(
            "wait 1 s for the answer, and exit with code 1, but it was still running 6 s \
             later: a recv_from with no read timeout waits for ever; set one, \
             set_read_timeout(Some(Duration::from_secs(1))). See docs/04-udp.md, \"No \
             connection, no delivery promise\"."
        ),
        "{failure}"
    );
}

/// A stub whose port the learner hard-coded, a port in use: the stub's own
/// error names the address it tried (the old stub said 127.0.0.1:0), and
/// the grader says why that is wrong.
#[test]
fn a_port_in_use_is_named_and_explained() {
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let progress = progress("in-use");
    let output = grader(&progress)
        .env("IN_USE_PORT", &port)
        .args(["ch2-server", "--exe"])
        .arg(example("ch2_port_in_use"))
        .output()
        .unwrap();
    let failure = failure(&output);
    let lines: Vec<&str> = failure.lines().collect();
    assert_eq!(
        lines[0],
        "ch2_server stopped (exit code 1) during the check \"it listens\". What it printed on \
         stderr since the last check passed:",
        "{failure}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "    | ch2_port_in_use: cannot listen on 127.0.0.1:{port}: "
        )),
        "{failure}"
    );
    assert_eq!(
        lines[2],
        "  The grader starts it with --port 0, for which the kernel picks a free port: an \
         address in use means it listens on a port of its own choosing. Listen on args.addr().",
        "{failure}"
    );
    drop(holder);
}

// Memory, and the room's rule (issue 23, item 1).

/// A room that keeps a line without end whole: the old grader sent 16 MiB
/// and passed it.
#[cfg(target_os = "linux")]
#[test]
fn a_room_that_keeps_an_endless_line_fails_on_memory() {
    let output = grade("ch5-chat", "ch5_hoards_lines");
    let failure = first_line(&output);
    assert!(
        failure.starts_with(
            "A client sent a line of 32 MiB without \"\\n\" and expected the server's memory \
             to grow by less than 8.0 MiB, but it grew by "
        ),
        "{failure}"
    );
    assert!(
        failure.ends_with(
            " MiB: the server keeps the whole line. Bound what it keeps of one line \
             (read_until on a reader limited by take(64 * 1024), say), and cut off the client \
             whose line passes that bound. See docs/05-chat.md, \"The endless line\"."
        ),
        "{failure}"
    );
}

/// A room that cuts a line off only past 4 MiB: every client halfway
/// through a line may hold that much.
#[cfg(target_os = "linux")]
#[test]
fn a_room_with_a_large_line_bound_fails_with_many_clients_halfway() {
    let output = grade("ch5-chat", "ch5_long_lines");
    let failure = first_line(&output);
    assert!(
        failure.starts_with(
            "32 clients each sent 2 MiB of a line, no \"\\n\" yet and expected the server's \
             memory to grow by less than 16.0 MiB, but it grew by "
        ),
        "{failure}"
    );
    assert!(
        failure.ends_with(
            " MiB: every client may be halfway through a line, so what the server keeps of \
             each line must be small (the course keeps at most 64 KiB) and a client whose line \
             passes it is cut off. See docs/05-chat.md, \"The endless line\"."
        ),
        "{failure}"
    );
}

/// Where the OS cannot tell, the grader says it did not check memory.
#[cfg(not(target_os = "linux"))]
#[test]
fn elsewhere_memory_is_not_checked_and_the_grader_says_so() {
    let output = grade("ch5-chat", "ch5_chat_solution");
    assert!(
        stdout(&output).contains(
            "  ok: a line without end hurts nobody else (its memory was not checked: that \
             needs Linux's /proc)\n"
        ),
        "{}",
        stdout(&output)
    );
}

/// A room that waits for a reader whose socket keeps taking bytes: one
/// that never reads is cut off after a second, so the old grader passed it;
/// one that reads slowly sets everyone's pace.
#[test]
fn a_room_that_waits_for_a_slow_reader_fails() {
    let output = grade("ch5-chat", "ch5_waits_for_readers");
    let failure = first_line(&output);
    assert!(
        failure.starts_with(
            "While a client that reads slowly but steadily (16 KiB every 60 ms) sat in the \
             room, talkers said 16000 lines of 1000 bytes and expected listener to receive \
             them about as fast as without that client (all 16000 in "
        ),
        "{failure}"
    );
    assert!(
        failure.ends_with(
            " s: the room goes at the pace of its slowest reader. No sender may wait for a \
             reader: give each client a bounded queue, and cut off the client whose queue \
             passes its cap. See docs/05-chat.md, \"The reader that never reads\"."
        ),
        "{failure}"
    );
}

// The learner's language (issue 23, item 6).

/// A Chinese locale makes Chinese the default; `--lang en` overrides it.
#[test]
fn the_locale_picks_the_language_and_lang_overrides_it() {
    let progress = progress("locale");
    let listed = |lang: &[&str]| {
        let output = grader(&progress)
            .env("LANG", "zh_CN.UTF-8")
            .args(lang)
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let chinese = listed(&[]);
    assert!(
        chinese.starts_with(
            "动手练习：每个程序都由你自己来写，然后给它评分（docs/zh-CN/workshop.md）。\n"
        ),
        "{chinese}"
    );
    let english = listed(&["--lang", "en"]);
    assert!(
        english.starts_with(
            "The workshop: write each program yourself, then grade it (docs/workshop.md).\n"
        ),
        "{english}"
    );
}

/// The grader's sources, as (file name, text).
fn sources() -> Vec<(String, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut sources = Vec::new();
    for file in fs::read_dir(format!("{root}/examples/grade")).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        sources.push((name, fs::read_to_string(&path).unwrap()));
    }
    sources
}

/// The string literals at the start of `text`, after `(` and between
/// commas: `"a", "b"` gives `["a", "b"]` (escapes kept as written, a `\`
/// at a line's end joins the lines, as Rust does).
fn literals(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix('"') {
        let mut literal = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((at, '"')) => break at,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\n')) => {
                        // A line continuation: the next line's indent goes.
                        while chars.clone().next().is_some_and(|(_, c)| c.is_whitespace()) {
                            chars.next();
                        }
                    }
                    Some((_, c)) => {
                        literal.push('\\');
                        literal.push(c);
                    }
                    None => panic!("a literal that does not end: {text:.80}"),
                },
                Some((_, c)) => literal.push(c),
                None => panic!("a literal that does not end: {text:.80}"),
            }
        };
        found.push(literal);
        rest = after[end + 1..].trim_start();
        match rest.strip_prefix(',') {
            Some(after) => rest = after.trim_start(),
            None => break,
        }
    }
    found
}

/// The `{...}` of a format string, sorted: `["{0}", "{name}"]`.
fn placeholders(format: &str) -> Vec<String> {
    let mut found = Vec::new();
    let unescaped = format.replace("{{", "").replace("}}", "");
    let mut rest = unescaped.as_str();
    while let Some(at) = rest.find('{') {
        let end = rest[at..].find('}').expect("a closed placeholder") + at;
        found.push(rest[at..=end].to_string());
        rest = &rest[end + 1..];
    }
    found.sort();
    found
}

/// Whether `text` has a Chinese character, or Chinese punctuation, in it.
fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
            || ('\u{3000}'..='\u{303f}').contains(&c)
            || ('\u{ff00}'..='\u{ffef}').contains(&c)
    })
}

/// Every sentence the grader prints is written with `t!`, in English and
/// in Chinese, with the same values in both; nothing it prints is English
/// only; and every document it names is in the edition of its language.
#[test]
fn every_message_exists_in_both_languages() {
    let mut pairs = 0;
    for (file, source) in sources() {
        for (at, _) in source.match_indices("t!(") {
            // Not `format!(`, nor `macro_rules! t` itself, nor its docs.
            let line = source[..at].rsplit('\n').next().unwrap_or("");
            let word = line.ends_with(|c: char| c.is_alphanumeric() || c == '_');
            if word || line.trim_start().starts_with("//") || line.ends_with("macro_rules! ") {
                continue;
            }
            let found = literals(&source[at + 3..]);
            assert!(
                found.len() >= 2,
                "{file}: t! with fewer than two sentences: {:.100}",
                &source[at..]
            );
            let (en, zh) = (&found[0], &found[1]);
            assert!(
                !en.is_empty() && !zh.is_empty(),
                "{file}: an empty sentence"
            );
            assert!(has_chinese(zh), "{file}: not Chinese: {zh:?} (for {en:?})");
            assert_eq!(
                placeholders(en),
                placeholders(zh),
                "{file}: not the same values in {en:?} and {zh:?}"
            );
            for (sentence, edition) in [(en, "docs/"), (zh, "docs/zh-CN/")] {
                for (at, _) in sentence.match_indices("docs/") {
                    let path: String = sentence[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || "/-_.".contains(*c))
                        .collect();
                    let path = path.trim_end_matches('.');
                    assert!(path.starts_with(edition), "{file}: {path} in {sentence:?}");
                    let root = env!("CARGO_MANIFEST_DIR");
                    assert!(fs::metadata(format!("{root}/{path}")).is_ok(), "no {path}");
                }
            }
            pairs += 1;
        }
        // What is printed is a sentence of t!, never words of its own.
        for print in ["println!(", "eprintln!("] {
            for (at, _) in source.match_indices(print) {
                let Some(format) = literals(&source[at + print.len()..]).into_iter().next() else {
                    continue;
                };
                let mut words = format.clone();
                for placeholder in placeholders(&format) {
                    words = words.replace(&placeholder, "");
                }
                assert!(
                    !words.chars().any(|c| c.is_alphabetic()),
                    "{file}: {print}\"{format}\" prints words that are not in t!"
                );
            }
        }
    }
    assert!(pairs > 150, "found only {pairs} sentences");
}

/// The headings of a chapter: `## The server, A1` gives `The server, A1`.
fn headings(path: &str) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut in_code = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            found.push(line.trim_start_matches('#').trim().to_string());
        }
    }
    found
}

/// Every section a failed check points to is a heading of its chapter, in
/// both editions, so that renaming a section (in either) cannot leave the
/// grader pointing at nothing.
#[test]
fn every_section_the_grader_names_exists_in_both_editions() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut named = 0;
    for (file, source) in sources() {
        // `See("02-tcp.md", "The server, A1", "服务器 A1")`, on one line or
        // more.
        for see in source.split(": See = See(").skip(1) {
            let found = literals(see);
            let [chapter, en, zh] = &found[..3] else {
                panic!("{file}: a See without three strings: {see:.80}");
            };
            for (path, section) in [
                (format!("{root}/docs/{chapter}"), en),
                (format!("{root}/docs/zh-CN/{chapter}"), zh),
            ] {
                let section = section.replace("\\\"", "\"");
                assert!(
                    headings(&path).contains(&section),
                    "{file}: {path} has no section \"{section}\""
                );
            }
            named += 1;
        }
    }
    assert!(named > 20, "found only {named} sections");
}
