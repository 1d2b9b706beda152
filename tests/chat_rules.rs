//! The room's rules, one test each where the other chat tests let a broken
//! rule pass: mutation testing (cargo-mutants, see the README) changed the
//! rule's code one place at a time, and these are the tests that noticed
//! what `tests/chat.rs` and `tests/slow_readers.rs` did not.
//!
//! Most drive a [`Room`] directly, with connected pairs on loopback: the
//! room's end of each pair joins, the test reads at the client's end.

mod common;

use common::room::{joined, next, serve, Event};
use common::{connect, pair, read_n};
use netcourse::chat::{Limits, Room};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Writes to `stream` until its socket takes nothing more: its send
/// buffer and its peer's receive buffer are full, while the peer reads
/// nothing. Returns how many bytes it wrote.
fn fill(mut stream: &TcpStream) -> usize {
    stream.set_nonblocking(true).unwrap();
    let mut wrote = 0;
    // Large writes first, then single bytes: the last write took nothing
    // even though it asked for one byte only.
    for chunk in [64 * 1024, 1] {
        let buf = vec![b'.'; chunk];
        loop {
            match stream.write(&buf) {
                Ok(n) => wrote += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
    stream.set_nonblocking(false).unwrap();
    wrote
}

#[test]
fn a_room_keeps_the_limits_it_was_made_with() {
    let limits = Limits::default()
        .max_line(10)
        .max_sendq(20)
        .max_room_sendq(30)
        .write_timeout(Duration::from_millis(40))
        .flood_rate(None)
        .flood_burst(60);
    let room = Room::with_limits(limits);
    assert_eq!(room.limits(), limits);
    assert_eq!(room.clone().limits(), limits, "a clone is the same room");
    assert_eq!(Room::new().limits(), Limits::default());
}

#[test]
fn a_room_with_a_member_is_not_empty() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let room = Room::new();
    assert!(room.is_empty());
    let (stream, _client) = pair(&listener);
    let id = room.join(&stream).unwrap();
    assert!(!room.is_empty());
    assert_eq!(room.len(), 1);
    assert!(room.leave(id));
    assert!(room.is_empty());
    assert!(!room.leave(id), "it left already");
}

#[test]
fn a_member_whose_socket_is_full_is_queued_for_not_evicted() {
    // Rule 2: a sender's one short write to a member whose socket takes
    // nothing (it is full: the member has not read for a while) times out
    // with nothing taken. That is not an error: the line waits in the
    // member's SendQ, and its writer thread writes it when the member
    // reads. Only the rules evict, and none applies here.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let room = Room::with_limits(Limits::default().write_timeout(Duration::from_secs(600)));
    let (full, mut full_client) = pair(&listener);
    let (talker, _talker_client) = pair(&listener);
    let filled = fill(&full);
    room.join(&full).unwrap();
    let talker = room.join(&talker).unwrap();

    room.broadcast_from(talker, b"hello\n").unwrap();
    assert_eq!(room.len(), 2, "a full socket is not a failed one");
    let got = read_n(&mut full_client, filled + 6);
    assert!(got[..filled].iter().all(|&byte| byte == b'.'));
    assert_eq!(&got[filled..], b"hello\n");
    assert_eq!(room.len(), 2);
}

#[test]
fn a_member_that_ended_hears_nothing_said_after() {
    // Rule 7's end(): a client cut off for a too-long line is told, then
    // sent FIN; it stays in the room while the server drains what it still
    // sends, and nothing the room says meanwhile is written to it (a write
    // after FIN fails, and would evict it at once).
    let room = Room::with_limits(
        Limits::default()
            .max_line(1024)
            .write_timeout(Duration::from_secs(600)),
    );
    let (server, events) = serve(&room);
    let mut told = connect(server.local_addr());
    let mut talker = connect(server.local_addr());
    let mut listener = connect(server.local_addr());
    joined(&events, 3);

    told.write_all(&[b'y'; 1025]).unwrap();
    let mut notice = [0; 35];
    told.read_exact(&mut notice).unwrap();
    assert_eq!(&notice, b"error: line longer than 1024 bytes\n");
    let mut rest = [0; 1];
    assert_eq!(told.read(&mut rest).unwrap(), 0, "FIN after the notice");

    // Two lines from the talker, the second read only once the first was
    // relayed to everyone: when the listener has both, the room has done
    // all it does with the first.
    for line in [&b"one\n"[..], b"two\n"] {
        talker.write_all(line).unwrap();
        assert_eq!(read_n(&mut listener, line.len()), line);
    }
    // And the server's own line.
    room.broadcast(b"three\n");
    assert_eq!(read_n(&mut listener, 6), b"three\n");
    assert_eq!(
        room.len(),
        3,
        "the ended member was written to, and evicted"
    );

    // It leaves when it closes.
    drop(told);
    assert_eq!(next_close(&events), Some(io::ErrorKind::InvalidData));
    assert_eq!(room.len(), 2);
}

#[test]
fn a_client_cut_off_that_never_closes_is_closed_after_the_write_timeout() {
    // The drain after the too-long notice has a deadline, the room's write
    // timeout: a client that neither sends nor closes does not keep its
    // connection's thread (and its place in the room) for longer.
    let room = Room::with_limits(
        Limits::default()
            .max_line(1024)
            .write_timeout(Duration::from_millis(100)),
    );
    let (server, events) = serve(&room);
    let mut told = connect(server.local_addr());
    joined(&events, 1);
    told.write_all(&[b'y'; 1025]).unwrap();
    // The notice, then FIN; the client stays connected, silent.
    let mut heard = Vec::new();
    told.read_to_end(&mut heard).unwrap();
    assert_eq!(heard, b"error: line longer than 1024 bytes\n");
    assert_eq!(
        next_close(&events),
        Some(io::ErrorKind::InvalidData),
        "the server closed it with the error"
    );
    assert!(room.is_empty());
    drop(told);
}

/// The error of the next connection to close.
fn next_close(events: &std::sync::mpsc::Receiver<Event>) -> Option<io::ErrorKind> {
    loop {
        if let Event::Closed(_, error) = next(events) {
            return error;
        }
    }
}

#[test]
fn a_client_cut_off_that_goes_on_sending_is_closed_after_a_mebibyte() {
    // The drain after the too-long notice reads at most 1 MiB: a client
    // still sending after that is not listening, and is closed (with RST,
    // as it sends into a closed socket), long before the write timeout.
    let room = Room::with_limits(
        Limits::default()
            .max_line(1024)
            .write_timeout(Duration::from_secs(600)),
    );
    let (server, events) = serve(&room);
    let endless = connect(server.local_addr());
    joined(&events, 1);
    let mut writer = endless.try_clone().unwrap();
    // At most 256 MiB, so that the thread ends whatever the server does.
    let writing = std::thread::spawn(move || {
        let chunk = [b'z'; 64 * 1024];
        for _ in 0..4096 {
            if writer.write_all(&chunk).is_err() {
                return true;
            }
        }
        false
    });
    assert_eq!(next_close(&events), Some(io::ErrorKind::InvalidData));
    assert!(writing.join().unwrap(), "its writes never failed");
    assert!(room.is_empty());
}
