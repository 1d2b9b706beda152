//! Chapter 4's steps: a UDP server that prints and answers each datagram
//! (A3, with the answer of the `rinfo` section), and a client that sends one
//! datagram and waits a bounded time for the answer (A4), both written with
//! `std::net`'s `UdpSocket`.

use crate::check::{secs, show, show_len, Failure, See, PATIENCE};
use crate::program::Program;
use crate::Grader;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

const A3: See = See("docs/04-udp.md", "The server, A3");
const A4: See = See("docs/04-udp.md", "The client, A4");
const PROMISE: See = See("docs/04-udp.md", "No connection, no delivery promise");
const DATAGRAMS: See = See("docs/04-udp.md", "Datagrams, not a stream");
const SIZE: See = See("docs/04-udp.md", "How big a datagram can be");
const RINFO: See = See("docs/04-udp.md", "`rinfo`: who sent it");

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
    bind().map_err(|e| Failure::plain(format!("The grader could not bind a UDP socket: {e}.")))
}

/// One datagram for `socket`: its bytes and its sender, or what happened.
fn receive(socket: &UdpSocket) -> Result<(Vec<u8>, SocketAddr), String> {
    let mut buf = vec![0; 65_536];
    match socket.recv_from(&mut buf) {
        Ok((n, from)) => Ok((buf[..n].to_vec(), from)),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(format!("nothing within {} s", secs(PATIENCE)))
        }
        Err(e) => Err(format!("an error ({e})")),
    }
}

/// The server: a line and an answer for every datagram, whole, to whoever
/// sent it.
pub fn server(g: &Grader) -> Result<(), Failure> {
    let (mut server, addr) = g.server(&A3)?;
    let listening = format!("server listening {}:{}", addr.ip(), addr.port());
    server.expect("Started the server", &listening, &A3)?;
    g.ok("'listening'");

    // Three datagrams, sent at once: three messages, three answers.
    let (alice, alice_addr) = socket()?;
    for word in ["one", "two", "three"] {
        let _ = alice.send_to(word.as_bytes(), addr);
    }
    let did = "Sent the datagrams \"one\", \"two\" and \"three\" at once";
    for word in ["one", "two", "three"] {
        let line = format!(
            "server got: {word} from {}:{}",
            alice_addr.ip(),
            alice_addr.port()
        );
        server.expect(did, &line, &DATAGRAMS)?;
    }
    for word in ["one", "two", "three"] {
        answer(&alice, addr, word.len(), did, &DATAGRAMS)?;
    }
    g.ok("one line and one answer for each datagram");

    // Another sender: its own rinfo, its own answer.
    let (bob, bob_addr) = socket()?;
    let _ = bob.send_to(b"hello world", addr);
    let did = "Sent \"hello world\" from a second socket";
    let line = format!(
        "server got: hello world from {}:{}",
        bob_addr.ip(),
        bob_addr.port()
    );
    server.expect(did, &line, &RINFO)?;
    answer(&bob, addr, 11, did, &RINFO)?;
    g.ok("the answer goes back to its sender (rinfo)");

    // The largest datagram there is, whole.
    let largest = vec![b'x'; LARGEST];
    let _ = alice.send_to(&largest, addr);
    let did = format!("Sent one datagram of {LARGEST} bytes");
    answer(&alice, addr, LARGEST, &did, &SIZE)?;
    let line = format!(
        "server got: {} from {}:{}",
        "x".repeat(LARGEST),
        alice_addr.ip(),
        alice_addr.port()
    );
    server.expect(&did, &line, &SIZE)?;
    g.ok(format_args!("a datagram of {LARGEST} bytes arrives whole"));

    // Bytes that are not UTF-8: printed with �, never a crash.
    let _ = alice.send_to(b"caf\xe9", addr);
    let did = "Sent the 4 bytes b\"caf\\xe9\", which are not UTF-8";
    let line = format!(
        "server got: caf\u{fffd} from {}:{}",
        alice_addr.ip(),
        alice_addr.port()
    );
    server.expect(did, &line, &A3)?;
    answer(&alice, addr, 4, did, &A3)?;
    g.ok("a message that is not UTF-8 is printed with \u{fffd}");
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
    let expected = format!("the answer {}, from {server}", show(want.as_bytes()));
    match receive(socket) {
        Ok((bytes, from)) if bytes == want.as_bytes() && from == server => Ok(()),
        Ok((bytes, from)) => Err(Failure::new(
            did,
            expected,
            format_args!("{}, from {from}", show(&bytes)),
            see,
        )),
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

    // No words: "hello world", and the answer printed with its rinfo.
    let mut client = g.start(&["--host", "127.0.0.1", "--port", &port])?;
    let did = format!("Started {} with no words", g.name);
    let from = datagram(&server, &mut client, &did, b"hello world", &A4)?;
    let _ = server.send_to(b"got 11 bytes", from);
    let did = "Answered \"got 11 bytes\" to the datagram's rinfo";
    finish(&mut client, did, true, &[&sent_to, &got_line], &RINFO)?;
    g.ok("it sends \"hello world\" and prints the answer with its rinfo");

    // Words: all of them, in one datagram.
    let mut client = g.start(&[
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "one",
        "two",
        "three",
    ])?;
    let did = format!("Started {} with the words one two three", g.name);
    let from = datagram(&server, &mut client, &did, b"one two three", &DATAGRAMS)?;
    let _ = server.send_to(b"got 13 bytes", from);
    let lines = [
        format!("sent 13 bytes to 127.0.0.1:{port}"),
        format!("client got: got 13 bytes from 127.0.0.1:{port}"),
    ];
    let did = "Answered \"got 13 bytes\"";
    finish(&mut client, did, true, &[&lines[0], &lines[1]], &RINFO)?;
    g.ok("the words it is given, in one datagram");

    // No answer: UDP says nothing, so the client's own deadline must.
    let mut client = g.start(&["--host", "127.0.0.1", "--port", &port])?;
    let did = format!("Started {} with no words", g.name);
    datagram(&server, &mut client, &did, b"hello world", &A4)?;
    let did = "Received the datagram and never answered it";
    finish(&mut client, did, false, &[&sent_to], &PROMISE)?;
    g.ok(format_args!(
        "with no answer it gives up after {} s, with exit code 1",
        secs(ANSWER_WAIT)
    ));
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
    let expected = format!("one datagram, {}", show_len(want));
    let _ = server.set_read_timeout(Some(Duration::from_millis(50)));
    let deadline = Instant::now() + PATIENCE;
    let mut buf = vec![0; 65_536];
    let got = loop {
        // Asked once more after it exited: it may have sent first.
        let exited = client.exited().is_some();
        match server.recv_from(&mut buf) {
            Ok((n, from)) if &buf[..n] == want => return Ok(from),
            Ok((n, _)) => break format!("the datagram {}", show_len(&buf[..n])),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => break format!("an error ({e})"),
        }
        if exited {
            break format!("none: {}", client.how_it_ended());
        }
        if Instant::now() >= deadline {
            break format!("none within {} s", secs(PATIENCE));
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
    let expected = if answered {
        format!("the client to print {lines:?} and exit with code 0")
    } else {
        format!(
            "the client to print {lines:?}, wait {} s for the answer, and exit with code 1",
            secs(ANSWER_WAIT)
        )
    };
    let Some(status) = client.wait(ANSWER_WAIT + PATIENCE) else {
        let got = format!(
            "it was still running after {} s",
            secs(ANSWER_WAIT + PATIENCE)
        );
        return Err(Failure::new(did, expected, got, see));
    };
    let mut printed = Vec::new();
    while let Ok(line) = client.line(Duration::from_secs(1)) {
        printed.push(line);
    }
    if status.code() != Some(code) {
        return Err(Failure::new(did, expected, client.how_it_ended(), see));
    }
    if printed != lines {
        return Err(Failure::new(
            did,
            expected,
            format_args!("{printed:?}"),
            see,
        ));
    }
    Ok(())
}
