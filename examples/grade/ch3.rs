//! Chapter 3's step: a server that prints a line for each event of each
//! connection, as A5 does, written with nothing but `std::net`.
//!
//! Three clients, one after the other: one that talks and ends politely,
//! one that resets the connection, one that stays silent until the server's
//! idle timeout ends it.

use crate::check::{connect, read_exactly, read_fin, secs, show_len, Failure, See, PATIENCE};
use crate::Grader;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

const A5: See = See("docs/03-events.md", "All of them in one run: A5");
const LOOPS: See = See("docs/03-events.md", "The loops behind the events");
const TIMEOUT: See = See(
    "docs/03-events.md",
    "`'timeout'`: a connection that goes quiet",
);
const END: See = See("docs/03-events.md", "`'end'` and half-close");
const ERROR: See = See("docs/03-events.md", "`'error'`: when a connection fails");

/// What the server writes to every client on 'connection'.
const HI: &[u8] = b"hi";
/// How long a connection may stay silent before 'timeout'.
const IDLE: Duration = Duration::from_millis(1000);

pub fn events(g: &Grader) -> Result<(), Failure> {
    let (mut server, addr) = g.server(&A5)?;

    // A client that says hello! and ends politely.
    let mut alice = connect(addr, &A5)?;
    greeted(&mut alice)?;
    g.ok("it greets each client with \"hi\"");
    let me = local(&alice);
    server.expect(
        "Started the server",
        &format!("server: listening {addr}"),
        &A5,
    )?;
    g.ok("'listening'");
    let connection = format!("server: connection from {me}");
    server.expect(format_args!("Connected from {me}"), &connection, &A5)?;
    g.ok("'connection'");
    let _ = alice.write_all(b"hello!");
    let _ = alice.shutdown(Shutdown::Write);
    server.expect("Sent \"hello!\" (6 bytes)", "socket: data 6 bytes", &A5)?;
    g.ok("'data'");
    let did = "Sent FIN after \"hello!\"";
    server.expect(did, "socket: end, 6 bytes read, 2 written", &END)?;
    read_fin(&mut alice)
        .map_err(|heard| Failure::new(did, "the server's FIN after its 'end'", heard, &END))?;
    server.expect(did, "socket: close, had_error false", &LOOPS)?;
    g.ok("'end', the server's FIN, then 'close'");

    // A client that resets: it closes with the greeting unread.
    let rude = connect(addr, &ERROR)?;
    let me = local(&rude);
    let _ = rude.set_read_timeout(Some(PATIENCE));
    let _ = rude.peek(&mut [0; 2]);
    drop(rude);
    let did = format!("Connected from {me}, then reset the connection (RST)");
    let connection = format!("server: connection from {me}");
    server.expect(&did, &connection, &A5)?;
    server.expect_where(&did, "socket: error MESSAGE", PATIENCE, &ERROR, |line| {
        line.starts_with("socket: error ")
    })?;
    server.expect(&did, "socket: close, had_error true", &ERROR)?;
    g.ok("'error', then 'close' with had_error true");

    // A client that says nothing.
    let mut carol = connect(addr, &TIMEOUT)?;
    let start = Instant::now();
    let me = local(&carol);
    greeted(&mut carol)?;
    let connection = format!("server: connection from {me}");
    server.expect(format_args!("Connected from {me}"), &connection, &A5)?;
    let did = format!("Connected and then said nothing for {} s", secs(IDLE));
    let timeout = format!("socket: timeout, nothing for {} ms", IDLE.as_millis());
    server.expect_where(&did, &timeout, IDLE + PATIENCE, &TIMEOUT, |line| {
        line == timeout
    })?;
    if start.elapsed() < IDLE - Duration::from_millis(100) {
        return Err(Failure::new(
            &did,
            format_args!("{timeout:?} after {} s", secs(IDLE)),
            format_args!("it after {} ms", start.elapsed().as_millis()),
            &TIMEOUT,
        ));
    }
    read_fin(&mut carol).map_err(|heard| {
        Failure::new(
            &did,
            "the server to end the connection (FIN) after 'timeout'",
            heard,
            &TIMEOUT,
        )
    })?;
    drop(carol);
    let did = "Answered the server's FIN with FIN";
    server.expect(did, "socket: end, 0 bytes read, 2 written", &END)?;
    server.expect(did, "socket: close, had_error false", &LOOPS)?;
    g.ok(format_args!(
        "'timeout' after {} s of silence, and the end it brings",
        secs(IDLE)
    ));
    Ok(())
}

/// The address a client connected from, as the server sees it.
fn local(stream: &TcpStream) -> String {
    match stream.local_addr() {
        Ok(addr) => addr.to_string(),
        Err(_) => "?".to_string(),
    }
}

/// Reads the events program's greeting, `hi`, from a client that has just
/// connected, or says what came instead.
fn greeted(client: &mut TcpStream) -> Result<(), Failure> {
    read_exactly(client, HI).map_err(|heard| {
        Failure::new(
            "Connected",
            format_args!("the greeting {}", show_len(HI)),
            heard,
            &A5,
        )
    })
}
