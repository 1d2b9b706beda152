//! Seats: no client can take every one. A small version of the attack in
//! which one address opens connections and never sends a byte: 64 seats in
//! all, 16 for any one address.
//!
//! Every loopback connection std can make comes from 127.0.0.1 (std cannot
//! bind a client socket before it connects), so these tests show one
//! address held to its share while seats remain; the unit tests in
//! `src/tcp/` play other addresses.

mod common;

use common::{connect, read_n, read_to_end, TIMEOUT};
use netcourse::tcp::{DropReason, Handler, Server, ServerHandle, Socket};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};

/// Greets each client with `hi\n`, and says when a connection has closed.
struct Seated {
    closed: Sender<()>,
}

impl Handler for Seated {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.write_all(b"hi\n")
    }
    fn on_close(&mut self, _had_error: bool) {
        let _ = self.closed.send(());
    }
}

/// What a server's `'drop'` listener heard.
type Drops = Receiver<(SocketAddr, DropReason)>;

/// A server with `max` seats, `per_ip` for any one address; the drops and
/// the closes it reports.
fn seated_server(max: usize, per_ip: usize) -> (ServerHandle, Drops, Receiver<()>) {
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

#[test]
fn a_full_server_drops_with_its_own_reason() {
    let (server, drops, _closes) = seated_server(4, 4);
    let addr = server.local_addr();
    let _all: Vec<TcpStream> = (0..4).map(|_| seated(addr)).collect();

    let mut fifth = connect(addr);
    assert_eq!(
        drops.recv_timeout(TIMEOUT).unwrap(),
        (fifth.local_addr().unwrap(), DropReason::ServerFull)
    );
    assert_eq!(read_to_end(&mut fifth), b"");
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
        DropReason::AddressFull.to_string(),
        "too many connections from this address"
    );
}
