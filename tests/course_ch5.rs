//! Solutions to the exercises of chapter 5 (`docs/05-chat.md`) that need
//! code: a room that names each line's sender, and a greeting written before
//! the newcomer joins.

mod common;

use common::{connect, TIMEOUT};
use netcourse::chat::{self, ChatHandler, LineBuffer, PeerId, Room, DEFAULT_MAX_LINE};
use netcourse::tcp::{Handler, Server, Socket};
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, Sender};

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

/// Exercise 2: the newcomer hears how many are already in the room, before
/// anything the room says. Written before it joins, the greeting cannot meet
/// a broadcast on the same stream; then every event goes on to the room's
/// own handler.
struct Greeting {
    room: Room,
    chat: ChatHandler<Joined>,
}

impl Handler for Greeting {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        // Not in the room yet: no other thread writes to this stream.
        socket.write_all(format!("{} already here\n", self.room.len()).as_bytes())?;
        self.chat.on_connection(socket)
    }
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        self.chat.on_data(socket, data)
    }
    fn on_end(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.chat.on_end(socket)
    }
    fn on_close(&mut self, had_error: bool) {
        self.chat.on_close(had_error);
    }
}

#[test]
fn exercise_2_the_newcomer_is_greeted_with_a_head_count() {
    let room = Room::new();
    let (tx, joins) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || Greeting {
            room: room.clone(),
            chat: room.handler_with(Joined(tx.clone())),
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
