//! Helpers for the chat tests: a room behind a server on port 0 that
//! reports each connection's `'connection'` and `'close'`, and clients that
//! read lines with a timeout.

use super::{read_to_end, TIMEOUT};
use netcourse::chat::Room;
use netcourse::tcp::{Handler, Server, ServerHandle, Socket};
use std::io::{self, BufRead, BufReader};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// What the server tells the test about each connection: it joined the room
/// (its `'connection'`), or it closed (its `'close'`), and with which error.
#[derive(Debug)]
pub enum Event {
    Joined,
    Closed(SocketAddr, Option<io::ErrorKind>),
}

/// A listener on each chat connection, reporting [`Event`]s. The room's
/// handler runs first, so `Joined` means "in the room" and `Closed` means
/// "out of it".
pub struct Events {
    tx: Sender<Event>,
    remote: Option<SocketAddr>,
    error: Option<io::ErrorKind>,
    /// What the listener does with `Socket::set_timeout` on `'connection'`,
    /// if anything: a room must not care.
    timeout: Option<Option<Duration>>,
}

impl Handler for Events {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.remote = Some(socket.remote_addr());
        if let Some(timeout) = self.timeout {
            socket.set_timeout(timeout)?;
        }
        let _ = self.tx.send(Event::Joined);
        Ok(())
    }
    fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
        self.error = Some(error.kind());
    }
    fn on_close(&mut self, _had_error: bool) {
        let remote = self.remote.expect("joined before closing");
        let _ = self.tx.send(Event::Closed(remote, self.error));
    }
}

/// A chat server on port 0 for `room`, and its connections' events.
pub fn serve(room: &Room) -> (ServerHandle, Receiver<Event>) {
    serve_with_timeout(room, None)
}

/// Like [`serve`], with a listener that calls `set_timeout(timeout)` on each
/// connection as it joins (if `timeout` is `Some`).
pub fn serve_with_timeout(
    room: &Room,
    timeout: Option<Option<Duration>>,
) -> (ServerHandle, Receiver<Event>) {
    let (tx, events) = mpsc::channel();
    let room = room.clone();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        // Every test client comes from 127.0.0.1: no share per address.
        .max_connections_per_ip(usize::MAX)
        .spawn(move || {
            room.handler_with(Events {
                tx: tx.clone(),
                remote: None,
                error: None,
                timeout,
            })
        })
        .unwrap();
    (server, events)
}

pub fn next(events: &Receiver<Event>) -> Event {
    events
        .recv_timeout(TIMEOUT)
        .expect("a connection event before the timeout")
}

/// Waits until `n` more connections have joined the room.
pub fn joined(events: &Receiver<Event>, n: usize) {
    for _ in 0..n {
        assert!(matches!(next(events), Event::Joined));
    }
}

/// Waits for `client`'s connection to close on the server; returns its error.
pub fn closed(events: &Receiver<Event>, client: &TcpStream) -> Option<io::ErrorKind> {
    closed_addr(events, client.local_addr().unwrap())
}

/// Waits for the connection from `addr` to close on the server.
pub fn closed_addr(events: &Receiver<Event>, addr: SocketAddr) -> Option<io::ErrorKind> {
    loop {
        if let Event::Closed(remote, error) = next(events) {
            if remote == addr {
                return error;
            }
        }
    }
}

/// Reads `n` lines (each with its `\n`) on a thread of its own. What arrives
/// after the `n`-th line may be read and lost with the thread's buffer: call
/// it when no more is in flight, or once for all a client will receive.
pub fn read_lines(stream: &TcpStream, n: usize) -> JoinHandle<Vec<Vec<u8>>> {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    thread::spawn(move || {
        (0..n)
            .map(|_| {
                let mut line = Vec::new();
                reader.read_until(b'\n', &mut line).expect("a line");
                assert!(line.ends_with(b"\n"), "a cut line: {line:?}");
                line
            })
            .collect()
    })
}

/// Ends `client`'s side and checks that the server sends nothing more.
pub fn end_and_expect_nothing_more(mut client: TcpStream) {
    client.shutdown(Shutdown::Write).unwrap();
    let rest = read_to_end(&mut client);
    assert!(
        rest.is_empty(),
        "unexpected: {:?}",
        String::from_utf8_lossy(&rest)
    );
}
