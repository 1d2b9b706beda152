//! The Node side of the course, checked the way the Rust side is.
//!
//! Every ```js block in `docs/` is one of the files in `docs/node/` (or an
//! excerpt of one, marked by `// ...` where lines are left out), and every
//! one of those programs runs here, with the output its chapter shows for
//! it compared line by line: ports, client ports and the figures a chapter
//! says vary are masked as `N`. Where a chapter says that a Node program
//! and a Rust example talk to each other, the pair runs here too.
//!
//! Node is a tool, not a dependency: without `node` on `PATH` the tests
//! that need it say that they skipped and why, except under `CI=true`,
//! where a missing `node` fails them.

mod common;

use common::{assert_fails_at, assert_fails_cleanly, run, Running};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;

/// Where the Node programs are.
fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/node")
}

/// The text of `docs/NAME`.
fn doc(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of `docs/node/NAME`.
fn program(name: &str) -> String {
    let path = node_dir().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes straight to the terminal: `cargo test` shows it for a passing
/// test too (it captures only `print!` and `eprint!`).
fn say(what: &str) {
    let _ = writeln!(io::stderr(), "{what}");
}

// ---------------------------------------------------------------------------
// The ```js blocks and the files.

/// One ```js block of a chapter: where it is, and its text.
struct Block {
    place: String,
    text: String,
}

/// Every ```js block in `docs/*.md`, in file order. A ```js-original block
/// (a document's own code, quoted) is not one.
fn js_blocks() -> Vec<Block> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut docs: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("docs/")
        .map(|entry| entry.expect("an entry of docs/").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    let mut blocks = Vec::new();
    for path in docs {
        let text = fs::read_to_string(&path).expect("a chapter");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut lines = text.lines().enumerate();
        while let Some((number, line)) = lines.next() {
            if line.trim_start() != "```js" {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let mut body = String::new();
            for (_, line) in lines.by_ref() {
                if line.trim_start() == "```" {
                    break;
                }
                body.push_str(line.get(indent..).unwrap_or(""));
                body.push('\n');
            }
            blocks.push(Block {
                place: format!("docs/{name}:{}", number + 1),
                text: body,
            });
        }
    }
    blocks
}

/// Every `docs/node/*.js`, by name.
fn node_files() -> BTreeMap<String, String> {
    fs::read_dir(node_dir())
        .expect("docs/node/")
        .map(|entry| entry.expect("an entry of docs/node/").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "js"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&path).expect("a Node program"))
        })
        .collect()
}

/// Whether `block` is an excerpt of `file`: it leaves lines out where it
/// says `// ...`, and each run of lines between those marks is in `file`,
/// whole lines, in the same order.
fn is_excerpt(block: &str, file: &str) -> bool {
    let mut pieces = vec![String::new()];
    for line in block.lines() {
        if line.trim_start().starts_with("// ...") {
            pieces.push(String::new());
        } else {
            let piece = pieces.last_mut().unwrap();
            piece.push_str(line);
            piece.push('\n');
        }
    }
    if pieces.len() == 1 {
        return false; // no mark: a block must then be the whole file
    }
    let mut from = 0;
    for piece in pieces.iter().filter(|piece| !piece.is_empty()) {
        let found = file[from..]
            .match_indices(piece.as_str())
            .map(|(at, _)| from + at)
            .find(|&at| at == 0 || file[..at].ends_with('\n'));
        match found {
            Some(at) => from = at + piece.len(),
            None => return false,
        }
    }
    true
}

/// The programs this file runs, each in a test of its own below. The bench
/// servers run in `bench_node_runs_every_scenario`.
const RUN_HERE: &[&str] = &[
    "bench-chat-server.js",
    "bench-udp-server.js",
    "ch1-two-sockets.js",
    "ch2-a1-tcp-server.js",
    "ch2-a2-tcp-client.js",
    "ch2-b1-net-server.js",
    "ch2-b2-net-client.js",
    "ch3-a5-tcp-events.js",
    "ch3-drain.js",
    "ch3-error.js",
    "ch3-half-close.js",
    "ch3-max-connections.js",
    "ch3-per-address.js",
    "ch3-server-close.js",
    "ch3-timeout.js",
    "ch4-a3-udp-server.js",
    "ch4-a4-udp-client.js",
    "ch4-boundaries.js",
    "ch4-close.js",
    "ch4-connected-udp.js",
    "ch4-loss.js",
    "ch4-rinfo.js",
    "ch4-size.js",
    "ch5-b3-chat-server.js",
    "ch5-b4-chat-client.js",
    "ch5-chat-server-max-line.js",
    "ch5-chat-server-max-waiting.js",
    "ch5-stuck.js",
    "errata-14-splice.js",
];

#[test]
fn every_js_block_in_docs_is_a_file_of_docs_node_and_every_file_runs_here() {
    let files = node_files();
    let blocks = js_blocks();
    let (mut whole, mut excerpts) = (0, 0);
    let mut shown = Vec::new();
    for block in &blocks {
        if let Some((name, _)) = files.iter().find(|(_, text)| **text == block.text) {
            whole += 1;
            shown.push(name.clone());
        } else if let Some((name, _)) = files.iter().find(|(_, text)| is_excerpt(&block.text, text))
        {
            excerpts += 1;
            shown.push(name.clone());
        } else {
            panic!(
                "{}: this ```js block is no file of docs/node/ (nor an excerpt of one, \
                 marked `// ...`); make it one, byte for byte:\n{}",
                block.place, block.text
            );
        }
    }
    for name in files.keys() {
        assert!(
            shown.contains(name) || name.starts_with("bench-"),
            "docs/node/{name} is in no ```js block of docs/ (only bench-*.js may be)"
        );
    }
    let run_here: Vec<&str> = RUN_HERE.to_vec();
    let on_disk: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        run_here, on_disk,
        "RUN_HERE must name every docs/node/*.js, each run by a test of this file"
    );
    say(&format!(
        "node: {} ```js blocks in docs/ checked: {whole} are files of docs/node/, \
         {excerpts} are excerpts of one; {} programs in docs/node/, every one run by tests/node.rs",
        blocks.len(),
        files.len()
    ));
}

#[test]
fn an_excerpt_must_keep_whole_lines_in_order() {
    let file = "a\n  b\nc\nd\n";
    assert!(is_excerpt("a\n// ...\nc\n", file));
    assert!(is_excerpt("  b\n// ...\nd\n", file));
    assert!(!is_excerpt("c\n// ...\na\n", file)); // out of order
    assert!(!is_excerpt("b\n// ...\nd\n", file)); // not a whole line
    assert!(!is_excerpt("a\n", file)); // no mark: not an excerpt
}

// ---------------------------------------------------------------------------
// What the chapters show.

/// The first ```text block after `marker` in `docs/DOC`, which must come
/// before the next ```js block.
fn text_after(doc_name: &str, marker: &str) -> String {
    let text = doc(doc_name);
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("docs/{doc_name} has no {marker:?}"))
        + marker.len();
    let rest = &text[at..];
    let start = rest
        .find("```text\n")
        .unwrap_or_else(|| panic!("docs/{doc_name}: no ```text block after {marker:?}"));
    if let Some(js) = rest.find("```js\n") {
        assert!(
            js > start,
            "docs/{doc_name}: the next ```js block comes before any ```text after {marker:?}"
        );
    }
    let body = &rest[start + "```text\n".len()..];
    let end = body.find("\n```").expect("the ```text block's end");
    body[..end].to_string()
}

/// The output a chapter shows for `docs/node/PROGRAM`: the ```text block
/// that follows its ```js block.
fn shown_output(doc_name: &str, name: &str) -> String {
    text_after(doc_name, &format!("```js\n{}```\n", program(name)))
}

/// `text` with every run of digits that follows one of `prefixes` replaced
/// by `N`: the ports and figures that change from run to run.
fn mask(text: &str, prefixes: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = text;
    'next: while let Some(c) = rest.chars().next() {
        for prefix in prefixes {
            if let Some(after) = rest.strip_prefix(prefix) {
                let digits =
                    after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                if digits > 0 {
                    out.push_str(prefix);
                    out.push('N');
                    rest = &after[digits..];
                    continue 'next;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[test]
fn mask_replaces_the_digits_after_a_prefix() {
    assert_eq!(
        mask(
            "a 127.0.0.1:8124 -> 127.0.0.1:x, port: 5",
            &["127.0.0.1:", "port: "]
        ),
        "a 127.0.0.1:N -> 127.0.0.1:x, port: N"
    );
}

// ---------------------------------------------------------------------------
// Running Node.

/// Whether `node` (18 or newer) can run here. If not, says why, and fails
/// under `CI=true`, where Node must be installed.
fn node_or_skip(test: &str) -> bool {
    let why = match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => {
            let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
            let major = version
                .strip_prefix('v')
                .and_then(|v| v.split('.').next())
                .and_then(|major| major.parse::<u32>().ok());
            if matches!(major, Some(major) if major >= 18) {
                return true;
            }
            format!("`node` is {version}, older than 18")
        }
        Ok(output) => format!("`node --version` failed ({})", output.status),
        Err(err) => format!("`node` cannot be run ({err})"),
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {why}; CI=true, and CI must run the course's Node programs (install Node.js 18 or newer)");
    }
    say(&format!(
        "{test}: skipped: {why}; install Node.js 18 or newer to check the course's Node programs"
    ));
    false
}

/// `node docs/node/NAME ARGS...`, its streams piped.
fn node_program(name: &str, args: &[&str]) -> Running {
    let mut command = Command::new("node");
    command.arg(node_dir().join(name)).args(args);
    Running::spawn(command)
}

/// Ends a program's input, then waits for it to end by itself: its exit
/// code, and the lines it printed on stdout that were not read yet.
fn finish(mut program: Running) -> (Option<i32>, Vec<String>) {
    program.close_stdin();
    program.wait()
}

/// Runs `node docs/node/NAME` to its end: its stdout, after it exited 0.
fn run_node(name: &str) -> String {
    let (code, lines) = finish(node_program(name, &[]));
    assert_eq!(code, Some(0), "{name} failed; it printed {lines:?}");
    lines.join("\n")
}

/// Runs `docs/node/NAME` and compares what it prints with what chapter
/// `DOC` shows after its block, `prefixes` masked in both.
fn check_shown(doc_name: &str, name: &str, prefixes: &[&str]) -> String {
    let printed = run_node(name);
    let shown = shown_output(doc_name, name);
    assert_eq!(
        mask(&printed, prefixes),
        mask(&shown, prefixes),
        "docs/node/{name}: what it printed, against what docs/{doc_name} shows"
    );
    printed
}

/// The number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> u64 {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in {text:?}"))
        + prefix.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix:?} in {text:?}"))
}

// ---------------------------------------------------------------------------
// The programs that run by themselves, chapter by chapter.

#[test]
fn ch1_two_sockets() {
    if node_or_skip("ch1_two_sockets") {
        check_shown("01-sockets.md", "ch1-two-sockets.js", &["127.0.0.1:"]);
    }
}

#[test]
fn ch3_a5_every_event() {
    if !node_or_skip("ch3_a5_every_event") {
        return;
    }
    let printed = run_node("ch3-a5-tcp-events.js");
    let shown = shown_output("03-events.md", "ch3-a5-tcp-events.js");
    // The chapter: "`client: connect` and `server: connection` trade
    // places", a matter of scheduling; either order is the same run.
    let in_order = |text: &str| {
        let mut lines: Vec<String> = mask(text, &["127.0.0.1:"])
            .lines()
            .map(String::from)
            .collect();
        if lines.get(2).is_some_and(|line| line == "client: connect") {
            lines.swap(2, 3);
        }
        lines
    };
    assert_eq!(in_order(&printed), in_order(&shown));
}

#[test]
fn ch3_server_close() {
    if node_or_skip("ch3_server_close") {
        check_shown("03-events.md", "ch3-server-close.js", &[]);
    }
}

#[test]
fn ch3_timeout() {
    if node_or_skip("ch3_timeout") {
        check_shown("03-events.md", "ch3-timeout.js", &[]);
    }
}

#[test]
fn ch3_drain_never_comes_when_the_peer_does_not_read() {
    if !node_or_skip("ch3_drain_never_comes_when_the_peer_does_not_read") {
        return;
    }
    let printed = check_shown(
        "03-events.md",
        "ch3-drain.js",
        &["false after ", "after 1 s: "],
    );
    // "About 3.8 MB went into the kernel's buffers": megabytes, at least.
    assert!(
        number_after(&printed, "false after ") > 1_000_000,
        "{printed}"
    );
}

#[test]
fn ch3_half_close() {
    if !node_or_skip("ch3_half_close") {
        return;
    }
    // The chapter says it in a sentence, after the Rust twin.
    assert!(doc("03-events.md").contains("Both print `\"got 7 bytes;\"`."));
    assert_eq!(run_node("ch3-half-close.js"), "\"got 7 bytes;\"");
}

#[test]
fn ch3_error_and_its_fourth_line() {
    if !node_or_skip("ch3_error_and_its_fourth_line") {
        return;
    }
    let printed = check_shown("03-events.md", "ch3-error.js", &[]);
    // The corrected claim: both programs print four lines, the last the
    // second connection's 'close'. The Rust block asserts it happened
    // (under `cargo test --doc`); here, that the chapter shows it for both.
    let rust = text_after("03-events.md", "println!(\"the next client is greeted\");");
    for output in [&printed, &rust] {
        assert_eq!(output.lines().count(), 4, "{output}");
        assert_eq!(
            output.lines().last(),
            Some("socket: close, had_error false")
        );
    }
}

#[test]
fn ch3_max_connections() {
    if node_or_skip("ch3_max_connections") {
        check_shown("03-events.md", "ch3-max-connections.js", &["127.0.0.1:"]);
    }
}

#[test]
fn ch3_per_address() {
    if node_or_skip("ch3_per_address") {
        check_shown("03-events.md", "ch3-per-address.js", &["127.0.0.1:"]);
    }
}

#[test]
fn ch4_loss() {
    if !node_or_skip("ch4_loss") {
        return;
    }
    let printed = check_shown("04-udp.md", "ch4-loss.js", &["received "]);
    // "another kernel ... keeps another number, but not 1,000".
    assert!(number_after(&printed, "received ") < 1000, "{printed}");
}

#[test]
fn ch4_boundaries() {
    if node_or_skip("ch4_boundaries") {
        check_shown("04-udp.md", "ch4-boundaries.js", &[]);
    }
}

#[test]
fn ch4_size() {
    if node_or_skip("ch4_size") {
        check_shown("04-udp.md", "ch4-size.js", &["127.0.0.1:"]);
    }
}

#[test]
fn ch4_rinfo() {
    if node_or_skip("ch4_rinfo") {
        check_shown("04-udp.md", "ch4-rinfo.js", &["port: ", "from port "]);
    }
}

#[test]
fn ch4_close() {
    if node_or_skip("ch4_close") {
        check_shown("04-udp.md", "ch4-close.js", &[]);
    }
}

#[test]
fn ch4_exercise_3_node_reports_the_refusal_as_an_error_event() {
    // The corrected hint: the send's callback gets null, and the socket
    // emits 'error' for its receive (without a listener, the process ends).
    if node_or_skip("ch4_exercise_3_node_reports_the_refusal_as_an_error_event") {
        check_shown("04-udp.md", "ch4-connected-udp.js", &[]);
    }
}

#[test]
fn ch5_stuck_client_in_a_node_room() {
    if !node_or_skip("ch5_stuck_client_in_a_node_room") {
        return;
    }
    let printed = check_shown("05-chat.md", "ch5-stuck.js", &["holds "]);
    // "96 MB of one client's backlog in the server's memory".
    assert!(number_after(&printed, "holds ") > 50_000_000, "{printed}");
}

#[test]
fn errata_14_splice() {
    if node_or_skip("errata_14_splice") {
        check_shown("errata.md", "errata-14-splice.js", &[]);
    }
}

// ---------------------------------------------------------------------------
// Chapter 2: A1 and A2, B1 and B2, Node and Rust in every pairing.

/// A server: the Node program or the example, on port 0.
fn server(node: Option<&str>, example: &str) -> (Running, SocketAddr) {
    let mut server = match node {
        Some(name) => node_program(name, &["0"]),
        None => Running::start(example, &["--port", "0"]),
    };
    let addr = server.listening();
    (server, addr)
}

/// A client of the server at `addr`: the Node program or the example.
fn client(node: Option<&str>, example: &str, addr: SocketAddr) -> Running {
    let port = addr.port().to_string();
    match node {
        Some(name) => node_program(name, &[&port]),
        None => Running::start(example, &["--port", &port]),
    }
}

#[test]
fn ch2_a1_and_a2_node_and_rust_in_every_pairing() {
    if !node_or_skip("ch2_a1_and_a2_node_and_rust_in_every_pairing") {
        return;
    }
    // The two forms the chapter shows: one 'data' or two.
    let one = text_after(
        "02-tcp.md",
        "Run the pair a few times and the client prints either",
    );
    let two = text_after("02-tcp.md", "or, with an empty line after the greeting,");
    for (server_js, client_js) in [
        (Some("ch2-a1-tcp-server.js"), Some("ch2-a2-tcp-client.js")),
        (Some("ch2-a1-tcp-server.js"), None),
        (None, Some("ch2-a2-tcp-client.js")),
    ] {
        let (server, addr) = server(server_js, "tcp_server");
        assert_eq!(server.line(), "server bound");
        let (code, printed) = finish(client(client_js, "tcp_client", addr));
        let printed = printed.join("\n");
        assert_eq!(code, Some(0));
        assert!(
            printed == one || printed == two,
            "{server_js:?} and {client_js:?}: the client printed {printed:?}"
        );
        assert_eq!(server.line(), "连接断开");
    }
}

#[test]
fn ch2_b1_and_b2_node_and_rust_in_every_pairing() {
    if !node_or_skip("ch2_b1_and_b2_node_and_rust_in_every_pairing") {
        return;
    }
    let client_shows = text_after(
        "02-tcp.md",
        "`cargo run --example net_client`, the client prints",
    );
    let server_shows = text_after("02-tcp.md", "\nand the server (with, on stderr,");
    for (server_js, client_js) in [
        (Some("ch2-b1-net-server.js"), Some("ch2-b2-net-client.js")),
        (Some("ch2-b1-net-server.js"), None),
        (None, Some("ch2-b2-net-client.js")),
    ] {
        let (server, addr) = server(server_js, "net_server");
        let (code, printed) = finish(client(client_js, "net_client", addr));
        assert_eq!(code, Some(0));
        assert_eq!(
            printed.join("\n"),
            client_shows,
            "{server_js:?}, {client_js:?}"
        );
        // The server's lines, up to its last one (the client has closed).
        let expected: Vec<&str> = server_shows.lines().collect();
        let heard: Vec<String> = expected.iter().map(|_| server.line()).collect();
        // The data line ends in the client's ` \r`, invisible on a terminal
        // and so not in the chapter's transcript.
        let heard: Vec<&str> = heard.iter().map(|line| line.trim_end()).collect();
        assert_eq!(heard, expected, "{server_js:?}, {client_js:?}");
    }
}

// ---------------------------------------------------------------------------
// Chapter 4: A3 and A4, Node and Rust in every pairing.

#[test]
fn ch4_a3_and_a4_node_and_rust_in_every_pairing() {
    if !node_or_skip("ch4_a3_and_a4_node_and_rust_in_every_pairing") {
        return;
    }
    let ports = ["127.0.0.1:", "localhost:"];
    let server_shows = text_after("04-udp.md", "In one terminal, the server:");
    let got_shows = text_after(
        "04-udp.md",
        "It exits at once, and the server prints one line for it:",
    );
    let rust_client_shows = text_after("04-udp.md", "In a second terminal,\nthe client:");
    let node_client_shows = shown_output("04-udp.md", "ch4-a4-udp-client.js");
    for (server_js, client_js) in [
        (Some("ch4-a3-udp-server.js"), Some("ch4-a4-udp-client.js")),
        (Some("ch4-a3-udp-server.js"), None),
        (None, Some("ch4-a4-udp-client.js")),
    ] {
        let (server, addr) = server(server_js, "udp_server");
        // stdout's line, then stderr's, as the chapter shows them.
        let started = format!("{}\nlistening on {addr}", server.line());
        assert_eq!(mask(&started, &ports), mask(&server_shows, &ports));
        let (code, printed) = finish(client(client_js, "udp_client", addr));
        assert_eq!(code, Some(0));
        let client_shows = match client_js {
            Some(_) => &node_client_shows,
            None => &rust_client_shows,
        };
        assert_eq!(
            mask(&printed.join("\n"), &ports),
            mask(client_shows, &ports)
        );
        assert_eq!(mask(&server.line(), &ports), mask(&got_shows, &ports));
    }
}

// ---------------------------------------------------------------------------
// Chapter 5: the chat room, in three terminals, in every mix.

/// A chat client, once it has printed `input:` and the server has it.
fn chat_client(node: bool, server: &Running, addr: SocketAddr) -> Running {
    let client = client(node.then_some("ch5-b4-chat-client.js"), "chat_client", addr);
    assert_eq!(client.line(), "input:");
    assert_eq!(server.line(), "Got a new connection");
    client
}

/// The chapter's transcript of one terminal, without the typed lines.
fn chat_transcript(marker: &str) -> Vec<String> {
    text_after("05-chat.md", marker)
        .lines()
        .filter(|line| !line.starts_with("> "))
        .map(String::from)
        .collect()
}

#[test]
fn ch5_chat_room_node_and_rust_in_every_mix() {
    if !node_or_skip("ch5_chat_room_node_and_rust_in_every_mix") {
        return;
    }
    let alice_shows = chat_transcript("Alice's terminal shows");
    let bob_shows = chat_transcript("Bob's:");
    let server_shows = chat_transcript("And the server's");
    // Server, alice, bob: true for Node. All-Rust is tests/chat_examples.rs.
    for (server_node, alice_node, bob_node) in [
        (true, true, true),
        (true, false, false),
        (false, true, true),
        (true, true, false),
        (false, false, true),
    ] {
        let mix = format!("server, alice, bob in Node: {server_node}, {alice_node}, {bob_node}");
        let (server, addr) = server(
            server_node.then_some("ch5-b3-chat-server.js"),
            "chat_server",
        );
        let mut server_lines = vec![format!("listening on {addr}")];
        let mut alice = chat_client(alice_node, &server, addr);
        let mut bob = chat_client(bob_node, &server, addr);
        server_lines.extend([
            "Got a new connection".to_string(),
            "Got a new connection".to_string(),
        ]);
        let mut alice_lines = vec!["input:".to_string()];
        let mut bob_lines = vec!["input:".to_string()];

        alice.stdin().write_all(b"hello, I am alice\n").unwrap();
        alice_lines.push(alice.line());
        bob_lines.push(bob.line());
        bob.stdin().write_all(b"hi alice, bob here\n").unwrap();
        bob_lines.push(bob.line());
        alice_lines.push(alice.line());
        alice.stdin().write_all(b"close\n").unwrap();
        alice_lines.push(alice.line());
        bob_lines.push(bob.line());
        let (code, rest) = finish(alice);
        assert_eq!(code, Some(0), "{mix}: alice");
        alice_lines.extend(rest);
        server_lines.push(server.line());
        bob.close_stdin(); // Ctrl-D
        let (code, rest) = finish(bob);
        assert_eq!(code, Some(0), "{mix}: bob");
        bob_lines.extend(rest);
        server_lines.push(server.line());

        assert_eq!(alice_lines, alice_shows, "{mix}: alice");
        assert_eq!(bob_lines, bob_shows, "{mix}: bob");
        let ports = ["127.0.0.1:"];
        let masked = |lines: &[String]| -> Vec<String> {
            lines.iter().map(|line| mask(line, &ports)).collect()
        };
        assert_eq!(
            masked(&server_lines),
            masked(&server_shows),
            "{mix}: server"
        );
    }
}

#[test]
fn ch5_a_port_in_use_both_chat_servers_print_the_snippets_server_error_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();

    // The example: the snippet's line on stdout, then, like every example,
    // a one-line error on stderr and exit code 1.
    let output = run("chat_server")
        .args(["--port", &port])
        .output()
        .expect("run chat_server");
    assert_fails_at(
        &output,
        "chat_server",
        &format!("cannot listen on 127.0.0.1:{port}"),
    );
    // The snippet's line, ending in the OS's own words for the error
    // (Linux's: `Address already in use (os error 98)`).
    let stdout = String::from_utf8_lossy(&output.stdout);
    let error = stdout
        .strip_prefix("Server error : ")
        .and_then(|rest| rest.strip_suffix('\n'));
    assert!(
        error.is_some_and(|error| !error.trim().is_empty() && !error.contains('\n')),
        "{stdout:?}"
    );

    if !node_or_skip("ch5_a_port_in_use_both_chat_servers_print_the_snippets_server_error_line") {
        return;
    }
    // Node: the same listener's line; then nothing is left to run.
    let (code, printed) = finish(node_program("ch5-b3-chat-server.js", &[&port]));
    assert_eq!(code, Some(0));
    assert_eq!(
        printed,
        [format!(
            "Server error : listen EADDRINUSE: address already in use 127.0.0.1:{port}"
        )]
    );
    // The chapter quotes both lines.
    let chapter = doc("05-chat.md");
    assert!(chapter
        .contains("`Server error : listen\nEADDRINUSE: address already in use 127.0.0.1:8080`"));
    assert!(chapter.contains("`Server error : Address already in use (os error 98)`"));
}

#[test]
fn ch5_max_waiting_drops_a_client_that_never_reads() {
    if !node_or_skip("ch5_max_waiting_drops_a_client_that_never_reads") {
        return;
    }
    let (server, addr) = server(Some("ch5-chat-server-max-waiting.js"), "");
    let stuck = TcpStream::connect(addr).unwrap(); // and never reads
    assert_eq!(server.line(), "Got a new connection");
    let mut talker = common::connect(addr);
    assert_eq!(server.line(), "Got a new connection");
    // Lines until the server drops the stuck client ('close' says so).
    let line = format!("{}\n", "x".repeat(999));
    let mut sent = 0;
    let closed = loop {
        talker.write_all(line.as_bytes()).unwrap();
        sent += line.len();
        if let Some(closed) = server.try_line() {
            break closed;
        }
        assert!(sent < 100_000_000, "no client dropped after 100 MB");
    };
    assert_eq!(closed, "A client connection closed");
    // Not before Node held MAX_WAITING (1 MiB) for it, past what the kernel took.
    assert!(sent > 1024 * 1024, "dropped after only {sent} bytes");
    drop(stuck);
}

#[test]
fn ch5_max_line_tells_the_client_and_drains() {
    if !node_or_skip("ch5_max_line_tells_the_client_and_drains") {
        return;
    }
    // "Against the same 1 MB paste, this server's client reads the message too."
    let (server, addr) = server(Some("ch5-chat-server-max-line.js"), "");
    let mut client = common::connect(addr);
    assert_eq!(server.line(), "Got a new connection");
    client.write_all(&vec![b'y'; 1_000_000]).unwrap();
    client.write_all(b"\n").unwrap();
    let answer = String::from_utf8(common::read_to_end(&mut client)).unwrap();
    assert_eq!(answer, "error: line longer than 65536 bytes\n");
}

// ---------------------------------------------------------------------------
// The benchmark's Node servers.

#[test]
fn bench_node_runs_every_scenario() {
    if !node_or_skip("bench_node_runs_every_scenario") {
        return;
    }
    let output = run("bench")
        .args(["all", "--quick", "--node"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout);
    for scenario in ["echo:", "chat:", "udp:", "conns:"] {
        let block: Vec<&str> = stdout
            .lines()
            .skip_while(|line| !line.starts_with(scenario))
            .take_while(|line| !line.is_empty())
            .collect();
        assert!(
            block
                .iter()
                .any(|line| line.trim_start().starts_with("node ")),
            "{scenario} has no node row:\n{stdout}"
        );
    }
}

#[test]
fn bench_without_node_says_so_in_one_line() {
    // An empty PATH: no `node` to find.
    let empty = std::env::temp_dir().join(format!("netcourse-no-node-{}", std::process::id()));
    fs::create_dir_all(&empty).unwrap();
    let output = run("bench")
        .args(["echo", "--quick", "--node"])
        .env("PATH", &empty)
        .output()
        .expect("run the bench");
    let _ = fs::remove_dir(&empty);
    assert_fails_cleanly(&output, "install Node.js 18 or newer, or drop --node");
    assert!(output.stdout.is_empty(), "no run started");
}
