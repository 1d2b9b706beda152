//! The TCP examples (A1, A2, B1, B2) as a user runs them: real processes,
//! real sockets, the console lines of the documents.

mod common;

use common::{
    assert_fails_at, assert_fails_cleanly, assert_second_server_fails_cleanly, run,
    with_closed_port, Running,
};
use std::io;
use std::net::TcpStream;

/// The client's output is fixed but for one thing: TCP may deliver the
/// server's greeting and its `你好` in one read or in two, and the client
/// prints each read on a line of its own (as Node's `'data'` listener does).
#[test]
fn tcp_client_against_tcp_server_prints_doc_a_lines() {
    let server = Running::server("tcp_server", &[]);
    assert_eq!(server.line(), "server bound");

    let output = run("tcp_client")
        .args(["--port", &server.port()])
        .assert()
        .success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..2],
        ["client connected", "hello world："],
        "{stdout}"
    );
    assert_eq!(lines.last(), Some(&"client disconnected"), "{stdout}");
    assert_eq!(lines[2..lines.len() - 1].concat(), "你好", "{stdout}");

    assert_eq!(server.line(), "连接断开");
}

#[test]
fn net_client_against_net_server_reproduces_doc_b_transcript() {
    let server = Running::server("net_server", &[]);
    assert_eq!(server.line(), "服务创建");

    run("net_client")
        .args(["--port", &server.port()])
        .assert()
        .success()
        .stdout("连接服务器\n接收服务端的数据:  哈哈哈我是一个测试\n断开连接\n");

    // The data line ends in the client's "\r\n", then console.log's "\n".
    assert_eq!(server.line(), "客户端链接");
    assert_eq!(server.line(), "监听客户端的数据:  http://xingxin.me \r");
    assert_eq!(server.line(), "");
    assert_eq!(server.line(), "客户端断开链接");
}

#[test]
fn second_server_on_the_same_port_fails_cleanly() {
    assert_second_server_fails_cleanly("tcp_server");
}

/// Whether the kernel refuses a connection to `port` now.
fn refused(port: u16) -> Option<()> {
    let error = TcpStream::connect(("127.0.0.1", port)).err()?;
    (error.kind() == io::ErrorKind::ConnectionRefused).then_some(())
}

#[test]
fn client_with_nothing_listening_fails_cleanly() {
    for client in ["tcp_client", "net_client", "chat_client"] {
        let (port, output) = with_closed_port(|port| {
            refused(port)?;
            let output = run(client)
                .args(["--port", &port.to_string()])
                .output()
                .unwrap();
            // Refused before and after: the client met a closed port too
            // (unless another test took the port just for that moment).
            refused(port)?;
            Some((port, output))
        });
        assert_fails_at(&output, client, &format!("127.0.0.1:{port}"));
    }
}

#[test]
fn bad_port_fails_cleanly() {
    for port in ["abc", "70000", "-1"] {
        let output = run("tcp_server").args(["--port", port]).output().unwrap();
        assert_fails_cleanly(&output, &format!("bad --port '{port}'"));
    }
    let output = run("tcp_client").arg("--port").output().unwrap();
    assert_fails_cleanly(&output, "--port needs a value");
}
