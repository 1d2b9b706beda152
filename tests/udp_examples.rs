//! The UDP examples (A3, A4) as a user runs them: real processes, real
//! sockets, the console lines of doc A.

mod common;

use common::{
    assert_fails_at, assert_fails_cleanly, assert_second_server_fails_cleanly, run, Running,
};
use std::net::UdpSocket;

/// Asserts that `line` is `server got: MSG from 127.0.0.1:N`, for any port N.
fn assert_got(line: &str, msg: &str) {
    let port = line
        .strip_prefix(&format!("server got: {msg} from 127.0.0.1:"))
        .unwrap_or_else(|| panic!("expected `server got: {msg} from 127.0.0.1:N`, got {line:?}"));
    port.parse::<u16>()
        .unwrap_or_else(|_| panic!("not a port in {line:?}"));
}

#[test]
fn udp_client_against_udp_server_prints_doc_a_lines() {
    let server = Running::server("udp_server", &[]);
    let addr = server.addr.unwrap();
    assert_eq!(server.line(), format!("server listening {addr}"));

    run("udp_client")
        .args(["--port", &server.port()])
        .assert()
        .success()
        .stdout(format!("sent 11 bytes to {addr}\n"));
    assert_got(&server.line(), "hello world");

    // Words after the flags are the message.
    run("udp_client")
        .args(["--port", &server.port(), "hi", "there"])
        .assert()
        .success()
        .stdout(format!("sent 8 bytes to {addr}\n"));
    assert_got(&server.line(), "hi there");
}

/// What `echo hi | nc -u -w1 127.0.0.1 41234` and worse send: any client
/// is printed, bytes that are not UTF-8 as `�`, and the server goes on.
#[test]
fn udp_server_prints_any_sender_and_survives_bad_utf8() {
    let server = Running::server("udp_server", &[]);
    server.line(); // server listening
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = client.local_addr().unwrap().port();
    let from = format!(" from 127.0.0.1:{port}");

    // nc sends the line with its "\n", and the server prints it as it is.
    client.send_to(b"hi\n", server.addr.unwrap()).unwrap();
    assert_eq!(server.line(), "server got: hi");
    assert_eq!(server.line(), from);

    client
        .send_to(b"caf\xc3 \xff", server.addr.unwrap())
        .unwrap();
    assert_eq!(
        server.line(),
        format!("server got: caf\u{FFFD} \u{FFFD}{from}")
    );

    client.send_to(b"still here", server.addr.unwrap()).unwrap();
    assert_eq!(server.line(), format!("server got: still here{from}"));
}

#[test]
fn udp_client_with_nothing_listening_still_succeeds() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    run("udp_client")
        .args(["--port", &port.to_string()])
        .assert()
        .success()
        .stdout(format!("sent 11 bytes to 127.0.0.1:{port}\n"));
}

#[test]
fn second_udp_server_on_the_same_port_fails_cleanly() {
    assert_second_server_fails_cleanly("udp_server");
}

#[test]
fn bad_flags_fail_cleanly() {
    for example in ["udp_server", "udp_client"] {
        let output = run(example).args(["--port", "abc"]).output().unwrap();
        assert_fails_cleanly(&output, "bad --port 'abc'");
    }
    // Port 0 is "any port" for a server, but no place to send to: every
    // system refuses it, each with its own error.
    let output = run("udp_client").args(["--port", "0"]).output().unwrap();
    assert_fails_at(&output, "udp_client", "cannot send to 127.0.0.1:0");
}
