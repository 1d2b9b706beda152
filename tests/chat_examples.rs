//! The chat examples (B3, B4) as a user runs them: a `chat_server` process
//! and `chat_client` processes typing into it through their stdin.

mod common;

use common::{run, Running};
use std::io::Write;

/// A `chat_client` connected to `server`, once the server has it in the
/// room (it prints `Got a new connection` after the client has joined).
fn client(server: &Running) -> Running {
    let client = Running::start("chat_client", &["--port", &server.port()]);
    assert_eq!(client.line(), "input:");
    assert_eq!(server.line(), "Got a new connection");
    client
}

#[test]
fn two_chat_clients_talk_through_chat_server() {
    let server = Running::server("chat_server", &[]);
    let mut alice = client(&server);
    let mut bob = client(&server);

    alice.stdin().write_all(b"hello from alice\n").unwrap();
    assert_eq!(alice.line(), "input：");
    assert_eq!(bob.line(), "Other user's input hello from alice");

    // A `\r\n` line, as a Windows terminal sends it.
    bob.stdin().write_all(b"hi alice\r\n").unwrap();
    assert_eq!(bob.line(), "input：");
    assert_eq!(alice.line(), "Other user's input hi alice");

    // `close` is sent to the room, then ends alice's connection.
    alice.stdin().write_all(b"close\r\n").unwrap();
    assert_eq!(alice.line(), "input：");
    assert_eq!(bob.line(), "Other user's input close");
    assert_eq!(
        alice.wait(),
        (Some(0), vec!["Disconnected from server".to_string()])
    );
    assert_eq!(server.line(), "A client connection closed");

    // The end of stdin ends bob's the same way.
    bob.close_stdin();
    assert_eq!(
        bob.wait(),
        (Some(0), vec!["Disconnected from server".to_string()])
    );
    assert_eq!(server.line(), "A client connection closed");
}

#[test]
fn echo_into_chat_client_sends_the_line_and_exits() {
    let server = Running::server("chat_server", &[]);
    let listener = client(&server);

    // `echo hi | chat_client`
    run("chat_client")
        .args(["--port", &server.port()])
        .write_stdin("hi\n")
        .assert()
        .success()
        .stdout("input:\ninput：\nDisconnected from server\n");
    assert_eq!(listener.line(), "Other user's input hi");
    assert_eq!(server.line(), "Got a new connection");
    assert_eq!(server.line(), "A client connection closed");
}
