//! Seats: no client can take every one. A small version of the attack in
//! which one address opens connections and never sends a byte: 64 seats in
//! all, 16 for any one address; and a full server, whose newcomer takes the
//! seat of the connection heard from least recently.
//!
//! Every loopback connection std can make comes from 127.0.0.1 (std cannot
//! bind a client socket before it connects), so these tests show one
//! address held to its share while seats remain; the unit tests in
//! `src/tcp/` play other addresses.

mod common;

use common::{connect, read_n, read_to_end, TIMEOUT};
use netcourse::tcp::{DropReason, Handler, Server, ServerHandle, Socket};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};

/// Greets each client with `hi\n`, echoes what it sends, and says when a
/// connection has closed, with the error that closed it if one did.
struct Seated {
    closed: Sender<Option<(io::ErrorKind, String)>>,
    error: Option<(io::ErrorKind, String)>,
}

impl Handler for Seated {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.write_all(b"hi\n")
    }
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        socket.write_all(data)
    }
    fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
        self.error = Some((error.kind(), error.to_string()));
    }
    fn on_close(&mut self, _had_error: bool) {
        let _ = self.closed.send(self.error.take());
    }
}

/// What a server's connections said as they closed.
type Closes = Receiver<Option<(io::ErrorKind, String)>>;

/// What a server's `'drop'` listener heard.
type Drops = Receiver<(SocketAddr, DropReason)>;

/// A server with `max` seats, `per_ip` for any one address; the drops and
/// the closes it reports.
fn seated_server(max: usize, per_ip: usize) -> (ServerHandle, Drops, Closes) {
    let (dropped, drops) = mpsc::channel();
    let (closed, closes) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .max_connections(max)
        .max_connections_per_ip(per_ip)
        .on_drop(move |addr, reason| {
            let _ = dropped.send((addr, reason));
        })
        .spawn(move || Seated {
            closed: closed.clone(),
            error: None,
        })
        .unwrap();
    (server, drops, closes)
}

/// A client the server has seated: it has read its greeting.
fn seated(addr: SocketAddr) -> TcpStream {
    let mut client = connect(addr);
    assert_eq!(read_n(&mut client, 3), b"hi\n");
    client
}

#[test]
fn one_address_holds_its_share_and_no_more_while_seats_remain() {
    let (server, drops, closes) = seated_server(64, 16);
    let addr = server.local_addr();
    let mut share: Vec<TcpStream> = (0..16).map(|_| seated(addr)).collect();

    // The 17th from 127.0.0.1, with 48 seats free: closed at once, and
    // 'drop' says why.
    let mut one_more = connect(addr);
    assert_eq!(
        drops.recv_timeout(TIMEOUT).unwrap(),
        (one_more.local_addr().unwrap(), DropReason::AddressFull)
    );
    assert_eq!(read_to_end(&mut one_more), b"");

    // One of the sixteen leaves: its seat is free again by its 'close'.
    drop(share.pop());
    closes.recv_timeout(TIMEOUT).unwrap();
    share.push(seated(addr));
    assert!(drops.try_recv().is_err(), "nobody else was dropped");
}

/// The connection that gives its seat up is the one heard from least
/// recently, not the oldest: the first client talks after the others came,
/// so the second, silent since it came, is the one.
#[test]
fn a_newcomer_to_a_full_server_takes_the_seat_heard_from_least_recently() {
    // Every client is 127.0.0.1: its share must not stop the newcomer.
    let (server, drops, closes) = seated_server(4, 5);
    let addr = server.local_addr();
    let mut all: Vec<TcpStream> = (0..4).map(|_| seated(addr)).collect();
    all[0].write_all(b"still here").unwrap();
    assert_eq!(read_n(&mut all[0], 10), b"still here");

    let fifth = seated(addr);
    let second = all[1].local_addr().unwrap();
    assert_eq!(
        drops.recv_timeout(TIMEOUT).unwrap(),
        (second, DropReason::Reclaimed)
    );
    // Told why, then closed: 'error', 'close', and the client reads the end.
    let (kind, why) = closes.recv_timeout(TIMEOUT).unwrap().expect("'error'");
    assert_eq!(kind, io::ErrorKind::ConnectionAborted);
    assert!(why.contains(&DropReason::Reclaimed.to_string()), "{why}");
    let mut rest = Vec::new();
    let _ = all[1].read_to_end(&mut rest); // FIN, or a reset
    assert_eq!(rest, b"");
    // The newcomer and the three others are served.
    all.remove(1);
    all.push(fifth);
    for client in &mut all {
        client.write_all(b"ok").unwrap();
        assert_eq!(read_n(client, 2), b"ok");
    }
    assert!(drops.try_recv().is_err(), "nobody else was dropped");
}

#[test]
fn the_share_of_one_address_defaults_to_an_eighth_of_the_seats() {
    let (dropped, drops) = mpsc::channel();
    let (closed, _closes) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .max_connections(64)
        .on_drop(move |addr, reason| {
            let _ = dropped.send((addr, reason));
        })
        .spawn(move || Seated {
            closed: closed.clone(),
            error: None,
        })
        .unwrap();
    let addr = server.local_addr();
    let _eight: Vec<TcpStream> = (0..8).map(|_| seated(addr)).collect();
    let mut ninth = connect(addr);
    assert_eq!(
        drops.recv_timeout(TIMEOUT).unwrap(),
        (ninth.local_addr().unwrap(), DropReason::AddressFull)
    );
    assert_eq!(read_to_end(&mut ninth), b"");
}

#[test]
fn the_display_of_a_reason_is_a_phrase_for_a_log_line() {
    assert_eq!(DropReason::ServerFull.to_string(), "the server is full");
    assert_eq!(
        DropReason::Reclaimed.to_string(),
        "idle longest: its seat went to a newcomer"
    );
    assert_eq!(
        DropReason::AddressFull.to_string(),
        "too many connections from this address"
    );
}

/// Finding 5 of issue 22, short: a client that sends but never reads. The
/// server answers each chunk, its send buffer fills, and its write waits.
/// The server's write timeout (set at accept: the handler sets none) ends
/// that wait as an idle read ends: `'timeout'`, which closes the
/// connection here as `tcp_server`'s does, then `'close'`; and the client,
/// still sending, finds its connection gone. (`tcp_server` answers with 6
/// bytes, and filling the buffers so takes ten million chunks: this
/// handler answers with 64 KiB.)
#[test]
fn a_client_that_sends_but_never_reads_is_ended_by_the_write_timeout() {
    #[derive(Debug, PartialEq)]
    enum Event {
        Timeout,
        Error(io::ErrorKind),
        Close(bool),
    }
    struct Answers(Sender<Event>);
    impl Handler for Answers {
        fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
            socket.write_all(&[b'.'; 64 * 1024])
        }
        fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
            let _ = self.0.send(Event::Timeout);
            socket.destroy();
            Ok(())
        }
        fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
            let _ = self.0.send(Event::Error(error.kind()));
        }
        fn on_close(&mut self, had_error: bool) {
            let _ = self.0.send(Event::Close(had_error));
        }
    }
    let (tx, events) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .write_timeout(Some(std::time::Duration::from_millis(200)))
        .spawn(move || Answers(tx.clone()))
        .unwrap();
    let mut attacker = connect(server.local_addr());
    let chunk = [b'x'; 1024];
    let ended = loop {
        if let Err(e) = attacker.write_all(&chunk) {
            break e.kind();
        }
    };
    assert!(
        matches!(
            ended,
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{ended:?}"
    );
    assert_eq!(events.recv_timeout(TIMEOUT).unwrap(), Event::Timeout);
    assert_eq!(events.recv_timeout(TIMEOUT).unwrap(), Event::Close(false));
}
