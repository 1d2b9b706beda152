//! Solutions to the exercises of chapter 5 (`docs/05-chat.md`) that need
//! code: a room that names each line's sender, a greeting that goes through
//! the newcomer's SendQ, and which rule evicts a client that never reads.

mod common;

use common::room::{self, serve, Event};
use common::{connect, TIMEOUT};
use netcourse::chat::{self, Limits, LineBuffer, PeerId, Room, DEFAULT_MAX_LINE};
use netcourse::tcp::{Handler, Server, Socket};
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// Tells the test that a client is in the room.
struct Joined(Sender<()>);

impl Handler for Joined {
    fn on_connection(&mut self, _socket: &mut Socket) -> io::Result<()> {
        let _ = self.0.send(());
        Ok(())
    }
}

/// Waits until `n` more clients have joined.
fn joined(joins: &Receiver<()>, n: usize) {
    for _ in 0..n {
        joins.recv_timeout(TIMEOUT).expect("a client joined");
    }
}

/// The next line `client` receives, with its `\n`.
fn line(client: &TcpStream) -> String {
    let mut line = String::new();
    BufReader::new(client).read_line(&mut line).expect("a line");
    line
}

/// Exercise 1: every relayed line starts with its sender's address. Built
/// from the room's public parts, since `handler_with` cannot change what
/// is relayed.
struct Named {
    room: Room,
    /// `Some` from 'connection' until the client leaves.
    id: Option<PeerId>,
    /// The sender's address, as the prefix of its lines.
    name: String,
    /// The start of a line whose `\n` has not arrived yet.
    lines: LineBuffer,
    /// For the test: says when the client is in the room.
    joined: Sender<()>,
}

impl Handler for Named {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.name = socket.remote_addr().to_string();
        self.id = Some(self.room.join(socket.stream())?);
        let _ = self.joined.send(());
        Ok(())
    }

    fn on_data(&mut self, _socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        let Some(id) = self.id else { return Ok(()) };
        let (room, name) = (&self.room, &self.name);
        // All the lines of this read, prefixed, in one buffer: one broadcast.
        let relayed = self.lines.push(data, |complete| {
            let mut named = Vec::with_capacity(complete.len() + 32);
            for line in chat::lines(complete) {
                named.extend_from_slice(name.as_bytes());
                named.extend_from_slice(b": ");
                named.extend_from_slice(line);
                named.push(b'\n');
            }
            room.broadcast_from(id, &named)
        })?;
        // An error from the broadcast: we were evicted.
        relayed.transpose()?;
        Ok(())
    }

    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        self.leave();
        Ok(())
    }

    fn on_close(&mut self, _had_error: bool) {
        self.leave();
    }
}

impl Named {
    /// `sockets.splice(...)`, once.
    fn leave(&mut self) {
        if let Some(id) = self.id.take() {
            self.room.leave(id);
        }
    }
}

#[test]
fn exercise_1_each_line_names_its_sender() {
    let room = Room::new();
    let (tx, joins) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || Named {
            room: room.clone(),
            id: None,
            name: String::new(),
            lines: LineBuffer::new(DEFAULT_MAX_LINE),
            joined: tx.clone(),
        })
        .unwrap();
    let mut alice = connect(server.local_addr());
    let bob = connect(server.local_addr());
    joined(&joins, 2);

    // Two lines in one write, one with `\r\n`: each named, both relayed.
    alice.write_all(b"hello\r\nis anyone here?\n").unwrap();
    let name = alice.local_addr().unwrap();
    let mut bob = BufReader::new(bob);
    for said in ["hello", "is anyone here?"] {
        let mut line = String::new();
        bob.read_line(&mut line).unwrap();
        assert_eq!(line, format!("{name}: {said}\n"));
    }
}

/// Exercise 2: the newcomer hears how many were already in the room. The
/// listener runs after the room's own handler, so the client has joined,
/// `room.len()` counts it, and the socket's writes go through its SendQ
/// (rule 7): the greeting arrives whole, behind what was queued for it.
struct Greeter {
    room: Room,
}

impl Handler for Greeter {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        let others = self.room.len() - 1; // not the newcomer
        socket.write_all(format!("{others} already here\n").as_bytes())
    }
}

/// Tells the test that a client is in the room, after the greeting.
struct Both(Greeter, Joined);

impl Handler for Both {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.0.on_connection(socket)?;
        self.1.on_connection(socket)
    }
}

#[test]
fn exercise_2_the_newcomer_is_greeted_with_a_head_count() {
    let room = Room::new();
    let (tx, joins) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn({
            let room = room.clone();
            move || {
                let greeter = Greeter { room: room.clone() };
                room.handler_with(Both(greeter, Joined(tx.clone())))
            }
        })
        .unwrap();

    let alice = connect(server.local_addr());
    assert_eq!(line(&alice), "0 already here\n");
    joined(&joins, 1);
    let mut bob = connect(server.local_addr());
    assert_eq!(line(&bob), "1 already here\n");
    joined(&joins, 1);

    // And the room works as before.
    bob.write_all(b"hi alice\n").unwrap();
    assert_eq!(line(&alice), "hi alice\n");
}

/// Exercise 3: which rule evicts a client that never reads. A room whose
/// limits let only one rule evict; a client that never reads, a talker,
/// and the server's events, to see the silent one close.
fn silent_client_in(limits: Limits, lines: usize) -> (Room, bool) {
    let room = Room::with_limits(limits);
    let (server, events) = serve(&room);
    let silent = connect(server.local_addr()); // connected, never reads
    let mut talker = connect(server.local_addr());
    room::joined(&events, 2);
    let line = format!("{}\n", "x".repeat(999));
    for _ in 0..lines {
        if talker.write_all(line.as_bytes()).is_err() {
            break;
        }
        // Evicted: its connection closed on the server.
        while let Ok(event) = events.try_recv() {
            if let Event::Closed(addr, _) = event {
                assert_eq!(addr, silent.local_addr().unwrap());
                return (room, true);
            }
        }
    }
    (room, false)
}

/// A flood four times the default rate: short runs, small SendQs.
fn quick_flood() -> Limits {
    Limits::default().flood_rate(Some(4 * 1024 * 1024))
}

#[test]
fn exercise_3_a_quiet_room_keeps_a_client_that_never_reads() {
    // A hundred lines fit in its kernel buffers: nothing waits for it in
    // its SendQ, and no rule has anything to say.
    let room = Room::new();
    let (server, events) = serve(&room);
    let _silent = connect(server.local_addr());
    let mut talker = connect(server.local_addr());
    let listener = connect(server.local_addr());
    room::joined(&events, 3);
    let hearing = room::read_lines(&listener, 100);
    for i in 0..100 {
        writeln!(talker, "line {i}").unwrap();
    }
    assert_eq!(hearing.join().unwrap().len(), 100);
    assert_eq!(room.len(), 3, "the silent client was evicted");
}

#[test]
fn exercise_3_only_the_sendq_cap() {
    // A small cap; a write timeout of hours, a room total of a gigabyte.
    let limits = quick_flood()
        .max_sendq(64 * 1024)
        .max_room_sendq(1 << 30)
        .write_timeout(Duration::from_secs(3600));
    let (room, evicted) = silent_client_in(limits, 100_000);
    assert!(evicted, "not evicted after 100 MB");
    assert_eq!(room.len(), 1);
}

#[test]
fn exercise_3_only_the_write_timeout() {
    // SendQs larger than anything the flood can fill in the test's time; a
    // second of write timeout.
    let limits = quick_flood()
        .max_sendq(1 << 30)
        .max_room_sendq(1 << 30)
        .write_timeout(Duration::from_secs(1));
    let (room, evicted) = silent_client_in(limits, 100_000);
    assert!(evicted, "not evicted after 100 MB");
    assert_eq!(room.len(), 1);
}
