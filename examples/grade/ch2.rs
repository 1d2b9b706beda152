//! Chapter 2's steps: doc A's greeting server (A1) and its client (A2),
//! each written with nothing but `std::net`.

use crate::check::{
    connect, read_exactly, read_fin, send, show, show_len, End, Failure, Heard, See, PATIENCE,
};
use crate::program::{NoLine, Program};
use crate::Grader;
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const A1: See = See("docs/02-tcp.md", "The server, A1");
const A2: See = See("docs/02-tcp.md", "The client, A2");
const BY_HAND: See = See("docs/02-tcp.md", "Both in one process, and under the hood");

/// A1's greeting. The colon is the full-width `：`, three bytes of UTF-8.
const GREETING: &str = "hello world：\n";
/// A1's answer to every chunk.
const ANSWER: &str = "你好";
/// A2's message.
const WORLD: &str = "world!\r\n";

/// The greeting server: greets, answers every chunk, serves two clients at
/// once, and answers FIN with FIN.
pub fn server(g: &Grader) -> Result<(), Failure> {
    let (mut server, addr) = g.server(&A1)?;

    // 'connection': the greeting, byte for byte.
    let mut alice = connect(addr, &A1)?;
    read_exactly(&mut alice, GREETING.as_bytes()).map_err(|heard| {
        let mut got = heard.to_string();
        if heard.bytes == b"hello world:\n" {
            got += ": the colon must be the full-width \"：\" of doc A, 3 bytes of UTF-8";
        }
        Failure::new(
            "Connected",
            format_args!("the greeting {}", show_len(GREETING.as_bytes())),
            got,
            &A1,
        )
    })?;
    g.ok(format_args!(
        "it greets each client with {}",
        show(GREETING.as_bytes())
    ));

    // 'data': every chunk is answered, whatever it says.
    for chunk in [WORLD, "again"] {
        send(&mut alice, chunk.as_bytes(), &A1)?;
        read_exactly(&mut alice, ANSWER.as_bytes()).map_err(|heard| {
            Failure::new(
                format_args!("Sent {}", show(chunk.as_bytes())),
                format_args!("{} back", show_len(ANSWER.as_bytes())),
                answer_got(&heard),
                &A1,
            )
        })?;
    }
    g.ok(format_args!(
        "it answers every chunk with {}",
        show(ANSWER.as_bytes())
    ));

    // A second client while the first is still connected.
    let mut bob = connect(addr, &BY_HAND)?;
    read_exactly(&mut bob, GREETING.as_bytes()).map_err(|heard| {
        let got = match heard.end {
            End::Silent(_) if heard.bytes.is_empty() => format!(
                "{heard}: a server that serves one connection at a time keeps the next client \
                 waiting; give each connection a thread of its own"
            ),
            _ => heard.to_string(),
        };
        Failure::new(
            "Connected a second client while the first was still connected",
            "its greeting too",
            got,
            &BY_HAND,
        )
    })?;
    send(&mut bob, b"hi", &BY_HAND)?;
    read_exactly(&mut bob, ANSWER.as_bytes()).map_err(|heard| {
        Failure::new(
            "Sent \"hi\" from the second client",
            format_args!("{} back", show(ANSWER.as_bytes())),
            answer_got(&heard),
            &BY_HAND,
        )
    })?;
    drop(bob);
    g.ok("it serves two clients at once");

    // 'end': our FIN, answered by the server's FIN, not by a reset.
    let _ = alice.shutdown(Shutdown::Write);
    read_fin(&mut alice).map_err(|heard| {
        let got = match heard.end {
            _ if heard.reset() => {
                format!("{heard}: a socket closed with bytes still unread sends RST instead of FIN")
            }
            End::Silent(_) => format!("{heard}: the connection stayed open"),
            _ => heard.to_string(),
        };
        Failure::new(
            "Sent FIN (shutdown(Shutdown::Write), Node's end())",
            "the server's FIN back (read() returning 0)",
            got,
            &BY_HAND,
        )
    })?;
    g.ok("it answers FIN with FIN");

    // 'end' on the server: the line of A1's 'end' listener.
    let mut printed = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.line(left) {
            Ok(line) if line == "连接断开" => break,
            Ok(line) => printed.push(line),
            Err(why) => {
                let got = match (why, printed.is_empty()) {
                    (NoLine::Exited(how), _) => format!("nothing: {how}"),
                    (NoLine::Silent, true) => format!("nothing within {} s", PATIENCE.as_secs()),
                    (NoLine::Silent, false) => format!("only {printed:?}"),
                };
                return Err(Failure::new(
                    "Ended a connection with FIN",
                    format!("{} to print \"连接断开\" on stdout ('end')", g.name),
                    got,
                    &A1,
                ));
            }
        }
    }
    g.ok("it prints \"连接断开\" when a client ends");
    Ok(())
}

/// What a sentence says of an answer that was not `你好`.
fn answer_got(heard: &Heard) -> String {
    if heard.reset() {
        format!("{heard}: the server closed its socket with the chunk still unread")
    } else {
        heard.to_string()
    }
}

/// The client: says `world!\r\n`, prints the first data and ends its side,
/// goes on reading until the server's FIN, then exits.
pub fn client(g: &Grader) -> Result<(), Failure> {
    // The grader plays A1.
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure::plain(format!("The grader could not listen: {e}.")))?;
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(0)
        .to_string();
    let mut client = g.start(&["--host", "127.0.0.1", "--port", &port])?;

    // 'connect'.
    let did = format!("Started {} with --port {port}", g.name);
    let mut socket = accept(&listener, &mut client).map_err(|()| {
        let got = match client.exited() {
            Some(_) => format!("none: {}", client.how_it_ended()),
            None => format!("none within {} s", PATIENCE.as_secs()),
        };
        Failure::new(&did, "it to connect", got, &A2)
    })?;
    let _ = socket.set_write_timeout(Some(PATIENCE));
    g.ok("it connects");

    // What it sends on 'connect', before it reads anything.
    read_exactly(&mut socket, WORLD.as_bytes()).map_err(|heard| {
        Failure::new(
            "Accepted the client's connection",
            format_args!(
                "{} from it as soon as it connected",
                show_len(WORLD.as_bytes())
            ),
            heard,
            &A2,
        )
    })?;
    g.ok(format_args!("it sends {}", show(WORLD.as_bytes())));

    // The first 'data', then client.end(): its FIN.
    send(&mut socket, GREETING.as_bytes(), &A2)?;
    read_fin(&mut socket).map_err(|heard| {
        let got = match heard.end {
            End::Silent(_) if heard.bytes.is_empty() => format!(
                "{heard}: end your side with shutdown(Shutdown::Write) once you have printed \
                 the first data"
            ),
            _ => heard.to_string(),
        };
        Failure::new(
            format_args!("Sent the greeting {}", show(GREETING.as_bytes())),
            "the client to print it and end its side (FIN)",
            got,
            &A2,
        )
    })?;
    g.ok("it ends its side (FIN) after the first data");

    // The server still talks after the client's FIN: 你好, then our FIN.
    // (A server this slow is rare, but TCP allows it, and so must a client.)
    let sent = socket.write_all(ANSWER.as_bytes());
    let _ = socket.shutdown(Shutdown::Write);
    let did = format!(
        "After the client's FIN, sent {} and then FIN",
        show(ANSWER.as_bytes())
    );
    let Some(status) = client.wait(PATIENCE) else {
        return Err(Failure::new(
            &did,
            "the client to print it and exit",
            format!("it was still running after {} s", PATIENCE.as_secs()),
            &A2,
        ));
    };
    if !status.success() || sent.is_err() {
        let how = client.how_it_ended();
        return Err(Failure::new(
            &did,
            "the client to exit with code 0",
            how,
            &A2,
        ));
    }
    let mut printed = Vec::new();
    while let Ok(line) = client.line(Duration::from_secs(1)) {
        // One 'data' may end in the greeting's own "\n": an empty line.
        if !line.is_empty() {
            printed.push(line);
        }
    }
    let expected = [
        "client connected",
        "hello world：",
        ANSWER,
        "client disconnected",
    ];
    if printed != expected {
        let hint = if printed.iter().any(|line| line == ANSWER) {
            ""
        } else {
            ": after client.end() a client goes on reading until the server's FIN"
        };
        return Err(Failure::new(
            &did,
            format_args!("the client to print the lines {expected:?}"),
            format_args!("{printed:?}{hint}"),
            &A2,
        ));
    }
    g.ok("it prints what the server sent, to the end");
    Ok(())
}

/// Accepts the client's connection, or gives up after [`PATIENCE`], or
/// as soon as the client has exited without connecting.
fn accept(listener: &TcpListener, client: &mut Program) -> Result<TcpStream, ()> {
    // std's accept has no timeout: ask without blocking, and look again
    // shortly, until the deadline.
    listener.set_nonblocking(true).map_err(|_| ())?;
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        // Asked once more after it exited: it may have connected first.
        let exited = client.exited().is_some();
        match listener.accept() {
            Ok((socket, _)) => {
                socket.set_nonblocking(false).map_err(|_| ())?;
                return Ok(socket);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock && !exited => {
                thread::sleep(Duration::from_millis(10))
            }
            Err(_) => return Err(()),
        }
    }
    Err(())
}
