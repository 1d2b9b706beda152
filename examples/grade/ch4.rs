//! Chapter 4's steps: a UDP server that prints and answers each datagram
//! (A3, with the answer of the `rinfo` section), and a client that sends one
//! datagram and waits a bounded time for the answer (A4), both written with
//! `std::net`'s `UdpSocket`.

use crate::check::{secs, show, show_len, Failure, See, PATIENCE};
use crate::lang::t;
use crate::program::Program;
use crate::Grader;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

const A3: See = See("04-udp.md", "The server, A3", "服务器，A3");
const A4: See = See("04-udp.md", "The client, A4", "客户端，A4");
const PROMISE: See = See(
    "04-udp.md",
    "No connection, no delivery promise",
    "没有连接，不保证送达",
);
const DATAGRAMS: See = See(
    "04-udp.md",
    "Datagrams, not a stream",
    "是数据报，不是字节流",
);
const SIZE: See = See(
    "04-udp.md",
    "How big a datagram can be",
    "数据报最大能有多大",
);
const RINFO: See = See("04-udp.md", "`rinfo`: who sent it", "`rinfo`：谁发来的");

/// The largest datagram IPv4 can carry (65,507 bytes), or, on macOS, the
/// largest its kernel sends by default (`net.inet.udp.maxdgram`, 9,216).
const LARGEST: usize = if cfg!(target_os = "macos") {
    9_216
} else {
    65_507
};
/// How long the client waits for its answer.
const ANSWER_WAIT: Duration = Duration::from_secs(1);

/// A socket of the grader's, on loopback, with a deadline on its receives.
fn socket() -> Result<(UdpSocket, SocketAddr), Failure> {
    let bind = || -> std::io::Result<(UdpSocket, SocketAddr)> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_read_timeout(Some(PATIENCE))?;
        let addr = socket.local_addr()?;
        Ok((socket, addr))
    };
    bind().map_err(|e| {
        Failure::plain(t!(
            "The grader could not bind a UDP socket: {e}.",
            "评分器无法绑定 UDP 套接字：{e}。"
        ))
    })
}

/// One datagram for `socket`: its bytes and its sender, or what happened.
fn receive(socket: &UdpSocket) -> Result<(Vec<u8>, SocketAddr), String> {
    let mut buf = vec![0; 65_536];
    match socket.recv_from(&mut buf) {
        Ok((n, from)) => Ok((buf[..n].to_vec(), from)),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            let secs = secs(PATIENCE);
            Err(t!("nothing within {secs} s", "{secs} 秒内什么也没有"))
        }
        Err(e) => Err(t!("an error ({e})", "一个错误（{e}）")),
    }
}

/// The server: a line and an answer for every datagram, whole, to whoever
/// sent it.
pub fn server(g: &Grader) -> Result<(), Failure> {
    g.check("'listening'".to_string());
    let (mut server, addr) = g.server(&A3)?;
    let listening = format!("server listening {}:{}", addr.ip(), addr.port());
    server.expect(t!("Started the server", "启动服务器之后"), &listening, &A3)?;
    g.ok();

    // Three datagrams, sent at once: three messages, three answers.
    g.check(t!(
        "one line and one answer for each datagram",
        "每个数据报一行输出、一个回应"
    ));
    let (alice, alice_addr) = socket()?;
    for word in ["one", "two", "three"] {
        let _ = alice.send_to(word.as_bytes(), addr);
    }
    let did = t!(
        "Sent the datagrams \"one\", \"two\" and \"three\" at once",
        "一次性发送数据报 \"one\"、\"two\" 和 \"three\" 之后"
    );
    for word in ["one", "two", "three"] {
        let line = format!(
            "server got: {word} from {}:{}",
            alice_addr.ip(),
            alice_addr.port()
        );
        server.expect(&did, &line, &DATAGRAMS)?;
    }
    for word in ["one", "two", "three"] {
        answer(&alice, addr, word.len(), &did, &DATAGRAMS)?;
    }
    g.ok();

    // Another sender: its own rinfo, its own answer.
    g.check(t!(
        "the answer goes back to its sender (rinfo)",
        "回应发回给它的发送方（rinfo）"
    ));
    let (bob, bob_addr) = socket()?;
    let _ = bob.send_to(b"hello world", addr);
    let did = t!(
        "Sent \"hello world\" from a second socket",
        "从第二个套接字发送 \"hello world\" 之后"
    );
    let line = format!(
        "server got: hello world from {}:{}",
        bob_addr.ip(),
        bob_addr.port()
    );
    server.expect(&did, &line, &RINFO)?;
    answer(&bob, addr, 11, &did, &RINFO)?;
    g.ok();

    // The largest datagram there is, whole.
    g.check(t!(
        "a datagram of {LARGEST} bytes arrives whole",
        "一个 {LARGEST} 字节的数据报完整到达"
    ));
    let largest = vec![b'x'; LARGEST];
    let _ = alice.send_to(&largest, addr);
    let did = t!(
        "Sent one datagram of {LARGEST} bytes",
        "发送一个 {LARGEST} 字节的数据报之后"
    );
    answer(&alice, addr, LARGEST, &did, &SIZE)?;
    let line = format!(
        "server got: {} from {}:{}",
        "x".repeat(LARGEST),
        alice_addr.ip(),
        alice_addr.port()
    );
    server.expect(&did, &line, &SIZE)?;
    g.ok();

    // Bytes that are not UTF-8: printed with �, never a crash.
    g.check(t!(
        "a message that is not UTF-8 is printed with \u{fffd}",
        "不是 UTF-8 的消息打印成 \u{fffd}"
    ));
    let _ = alice.send_to(b"caf\xe9", addr);
    let did = t!(
        "Sent the 4 bytes b\"caf\\xe9\", which are not UTF-8",
        "发送 4 个字节 b\"caf\\xe9\"（不是 UTF-8）之后"
    );
    let line = format!(
        "server got: caf\u{fffd} from {}:{}",
        alice_addr.ip(),
        alice_addr.port()
    );
    server.expect(&did, &line, &A3)?;
    answer(&alice, addr, 4, &did, &A3)?;
    g.ok();
    Ok(())
}

/// The server's answer to a datagram of `size` bytes must reach `socket`.
fn answer(
    socket: &UdpSocket,
    server: SocketAddr,
    size: usize,
    did: &str,
    see: &See,
) -> Result<(), Failure> {
    let want = format!("got {size} bytes");
    let shown = show(want.as_bytes());
    let expected = t!(
        "the answer {shown}, from {server}",
        "收到来自 {server} 的回应 {shown}"
    );
    match receive(socket) {
        Ok((bytes, from)) if bytes == want.as_bytes() && from == server => Ok(()),
        Ok((bytes, from)) => {
            let bytes = show(&bytes);
            let got = t!("{bytes}, from {from}", "来自 {from} 的 {bytes}");
            Err(Failure::new(did, expected, got, see))
        }
        Err(got) => Err(Failure::new(did, expected, got, see)),
    }
}

/// The client: one datagram, then the answer and its rinfo, or an error
/// after a second of silence.
pub fn client(g: &Grader) -> Result<(), Failure> {
    let (server, addr) = socket()?;
    let port = addr.port().to_string();
    let sent_to = format!("sent 11 bytes to 127.0.0.1:{port}");
    let got_line = format!("client got: got 11 bytes from 127.0.0.1:{port}");
    let name = g.name;

    // No words: "hello world", and the answer printed with its rinfo.
    g.check(t!(
        "it sends \"hello world\" and prints the answer with its rinfo",
        "它发送 \"hello world\"，并打印回应和它的 rinfo"
    ));
    let mut client = g.start(&["--host", "127.0.0.1", "--port", &port])?;
    let did = t!("Started {name} with no words", "不带单词启动 {name}");
    let from = datagram(&server, &mut client, &did, b"hello world", &A4)?;
    let _ = server.send_to(b"got 11 bytes", from);
    let did = t!(
        "Answered \"got 11 bytes\" to the datagram's rinfo",
        "向数据报的 rinfo 回应 \"got 11 bytes\" 之后"
    );
    finish(&mut client, &did, true, &[&sent_to, &got_line], &RINFO)?;
    drop(client);
    g.ok();

    // Words: all of them, in one datagram.
    g.check(t!(
        "the words it is given, in one datagram",
        "给它的单词，放在一个数据报里"
    ));
    let mut client = g.start(&[
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "one",
        "two",
        "three",
    ])?;
    let did = t!(
        "Started {name} with the words one two three",
        "带着单词 one two three 启动 {name}"
    );
    let from = datagram(&server, &mut client, &did, b"one two three", &DATAGRAMS)?;
    let _ = server.send_to(b"got 13 bytes", from);
    let lines = [
        format!("sent 13 bytes to 127.0.0.1:{port}"),
        format!("client got: got 13 bytes from 127.0.0.1:{port}"),
    ];
    let did = t!("Answered \"got 13 bytes\"", "回应 \"got 13 bytes\" 之后");
    finish(&mut client, &did, true, &[&lines[0], &lines[1]], &RINFO)?;
    drop(client);
    g.ok();

    // No answer: UDP says nothing, so the client's own deadline must.
    let wait = secs(ANSWER_WAIT);
    g.check(t!(
        "with no answer it gives up after {wait} s, with exit code 1",
        "没有回应时，它在 {wait} 秒后放弃，以退出码 1 退出"
    ));
    let mut client = g.start(&["--host", "127.0.0.1", "--port", &port])?;
    let did = t!("Started {name} with no words", "不带单词启动 {name}");
    datagram(&server, &mut client, &did, b"hello world", &A4)?;
    let did = t!(
        "Received the datagram and never answered it",
        "收到数据报，却一直不回应"
    );
    finish(&mut client, &did, false, &[&sent_to], &PROMISE)?;
    g.ok();
    Ok(())
}

/// Receives the client's datagram, which must be `want`, and returns where
/// it came from; gives up at the deadline, or soon after the client exits.
fn datagram(
    server: &UdpSocket,
    client: &mut Program,
    did: &str,
    want: &[u8],
    see: &See,
) -> Result<SocketAddr, Failure> {
    let want_shown = show_len(want);
    let expected = t!("one datagram, {want_shown}", "收到一个数据报 {want_shown}");
    let _ = server.set_read_timeout(Some(Duration::from_millis(50)));
    let deadline = Instant::now() + PATIENCE;
    let mut buf = vec![0; 65_536];
    let got = loop {
        // Asked once more after it exited: it may have sent first.
        let exited = client.exited().is_some();
        match server.recv_from(&mut buf) {
            Ok((n, from)) if &buf[..n] == want => return Ok(from),
            Ok((n, _)) => {
                let shown = show_len(&buf[..n]);
                break t!("the datagram {shown}", "数据报 {shown}");
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => break t!("an error ({e})", "一个错误（{e}）"),
        }
        if exited {
            let how = client.how_it_ended();
            break t!("none: {how}", "没有数据报：{how}");
        }
        if Instant::now() >= deadline {
            let secs = secs(PATIENCE);
            break t!("none within {secs} s", "{secs} 秒内没有数据报");
        }
        thread::yield_now();
    };
    Err(Failure::new(did, expected, got, see))
}

/// The client must exit, with code 0 (`answered`) or 1, having printed
/// exactly `lines`.
fn finish(
    client: &mut Program,
    did: &str,
    answered: bool,
    lines: &[&str],
    see: &See,
) -> Result<(), Failure> {
    let code = if answered { 0 } else { 1 };
    let wait = secs(ANSWER_WAIT);
    let expected = if answered {
        t!(
            "the client to print {lines:?} and exit with code 0",
            "客户端打印 {lines:?}，并以退出码 0 退出"
        )
    } else {
        t!(
            "the client to print {lines:?}, wait {wait} s for the answer, and exit with code 1",
            "客户端打印 {lines:?}，等回应等 {wait} 秒，然后以退出码 1 退出"
        )
    };
    let Some(status) = client.wait(ANSWER_WAIT + PATIENCE) else {
        let later = secs(ANSWER_WAIT + PATIENCE);
        let but = if answered {
            t!(
                "it was still running {later} s later",
                "{later} 秒后它还在运行"
            )
        } else {
            t!(
                "it was still running {later} s later: a recv_from with no read timeout \
                 waits for ever; set one, set_read_timeout(Some(Duration::from_secs(1)))",
                "{later} 秒后它还在运行：没有读超时的 recv_from 会永远等下去；\
                 设一个读超时：set_read_timeout(Some(Duration::from_secs(1)))"
            )
        };
        return Err(Failure::but(did, expected, but, see));
    };
    let mut printed = Vec::new();
    while let Ok(line) = client.line(Duration::from_secs(1)) {
        printed.push(line);
    }
    if status.code() != Some(code) {
        return Err(Failure::new(did, expected, client.how_it_ended(), see));
    }
    if printed != lines {
        return Err(Failure::new(did, expected, format!("{printed:?}"), see));
    }
    Ok(())
}
