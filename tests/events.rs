//! Doc A's events made real: `server.close()`, `'timeout'`, half-close,
//! `maxConnections`, and the `tcp_events` example that shows them all.

mod common;

use common::{connect, read_n, read_to_end, run, TIMEOUT};
use netcourse::tcp::{DropReason, Handler, Server, ServerHandle, Socket};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

/// Echoes every chunk, and reports `'timeout'` and `'close'` on a channel.
struct Echo {
    timeout: Option<Duration>,
    events: Sender<&'static str>,
}

impl Handler for Echo {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.set_timeout(self.timeout)
    }
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        socket.write_all(data)
    }
    fn on_timeout(&mut self, _socket: &mut Socket) -> io::Result<()> {
        let _ = self.events.send("timeout");
        Ok(())
    }
    fn on_close(&mut self, _had_error: bool) {
        let _ = self.events.send("close");
    }
}

fn echo(client: &mut TcpStream, message: &[u8]) {
    client.write_all(message).unwrap();
    assert_eq!(read_n(client, message.len()), message);
}

/// An echo server on port 0, with what `configure` adds (a `'close'`
/// listener, a limit), and the channel its connections' events arrive on.
fn echo_server(
    timeout: Option<Duration>,
    configure: impl FnOnce(Server) -> Server,
) -> (ServerHandle, Receiver<&'static str>) {
    let (events, received) = mpsc::channel();
    let server = configure(Server::bind("127.0.0.1:0").unwrap())
        .spawn(move || Echo {
            timeout,
            events: events.clone(),
        })
        .unwrap();
    (server, received)
}

#[test]
fn close_refuses_new_connections_and_fires_once_after_the_last_one() {
    let (closed, server_closed) = mpsc::channel();
    let (server, connection_events) = echo_server(None, |server| {
        server.on_close(move || closed.send("server close").unwrap())
    });
    let addr = server.local_addr();
    let mut open = connect(addr);
    echo(&mut open, b"before");

    server.close().unwrap();
    server.close().unwrap(); // harmless
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);

    // The open connection is still served, and holds the server's 'close'.
    echo(&mut open, b"after close()");
    assert!(server_closed.try_recv().is_err());

    open.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_end(&mut open).is_empty());
    assert_eq!(connection_events.recv_timeout(TIMEOUT).unwrap(), "close");
    assert_eq!(server_closed.recv_timeout(TIMEOUT).unwrap(), "server close");
    // join() returns: the accept loop and every connection thread are done.
    server.join();
    assert!(server_closed.try_recv().is_err(), "'close' fired twice");
}

#[test]
fn dropping_the_handle_closes_the_server_and_its_thread_ends_with_the_last_connection() {
    let (closed, server_closed) = mpsc::channel();
    let (server, _) = echo_server(None, |server| {
        server.on_close(move || closed.send(()).unwrap())
    });
    let addr = server.local_addr();
    let mut open = connect(addr);
    echo(&mut open, b"ping");

    drop(server);
    assert!(TcpStream::connect(addr).is_err());
    echo(&mut open, b"still served");
    drop(open);
    // The accept loop's last act is 'close': its thread is finishing.
    server_closed.recv_timeout(TIMEOUT).unwrap();
}

#[test]
fn timeout_fires_after_silence_and_keeps_the_connection_open() {
    let (server, received) = echo_server(Some(Duration::from_millis(50)), |server| server);
    let mut client = connect(server.local_addr());
    assert_eq!(received.recv_timeout(TIMEOUT).unwrap(), "timeout");
    // Like Node, 'timeout' only tells; the connection is still there.
    echo(&mut client, b"still here");
}

#[test]
fn timeout_does_not_fire_while_data_keeps_flowing() {
    let idle = Duration::from_millis(200);
    let (server, received) = echo_server(Some(idle), |server| server);
    let mut client = connect(server.local_addr());
    // Round trips back to back, each a few microseconds, for three idle
    // periods: the connection is never silent long enough.
    let start = Instant::now();
    while start.elapsed() < 3 * idle {
        echo(&mut client, b".");
    }
    assert!(
        received.try_recv().is_err(),
        "'timeout' fired while data flowed"
    );
    // Then silence, and it does fire.
    assert_eq!(received.recv_timeout(TIMEOUT).unwrap(), "timeout");
}

/// Replies to the request after the client's FIN, in `'end'`, and hands a
/// clone of the stream to the test for a later reply.
struct HalfClose {
    allow_half_open: bool,
    request: Vec<u8>,
    /// A clone of the stream, taken in 'end' and handed over at 'close',
    /// when the read loop has done all it does after 'end'.
    clone: Option<TcpStream>,
    later: Sender<TcpStream>,
}

impl Handler for HalfClose {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.set_allow_half_open(self.allow_half_open);
        Ok(())
    }
    fn on_data(&mut self, _socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        self.request.extend_from_slice(data);
        Ok(())
    }
    fn on_end(&mut self, socket: &mut Socket) -> io::Result<()> {
        // The peer's FIN closed its direction only: we can still answer.
        socket.write_all(format!("got {} bytes;", self.request.len()).as_bytes())?;
        self.clone = Some(socket.stream().try_clone()?);
        Ok(())
    }
    fn on_close(&mut self, _had_error: bool) {
        if let Some(clone) = self.clone.take() {
            let _ = self.later.send(clone);
        }
    }
}

/// A [`HalfClose`] server, and the channel its streams' clones arrive on.
fn half_close_server(allow_half_open: bool) -> (ServerHandle, Receiver<TcpStream>) {
    let (later, clones) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || HalfClose {
            allow_half_open,
            request: Vec::new(),
            clone: None,
            later: later.clone(),
        })
        .unwrap();
    (server, clones)
}

#[test]
fn half_close_default_replies_in_end_then_sends_fin() {
    let (server, clones) = half_close_server(false);
    let mut client = connect(server.local_addr());
    client.write_all(b"request").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    // Node's default: the reply written in 'end', then our FIN right away.
    assert_eq!(read_to_end(&mut client), b"got 7 bytes;");
    // So a later write has nowhere to go.
    let mut clone = clones.recv_timeout(TIMEOUT).unwrap();
    assert!(clone.write_all(b"late").is_err());
}

#[test]
fn half_close_allowed_keeps_our_side_open_for_a_later_reply() {
    let (server, clones) = half_close_server(true);
    let mut client = connect(server.local_addr());
    client.write_all(b"request").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_n(&mut client, 12), b"got 7 bytes;");
    // allowHalfOpen: no FIN, even once the connection's thread is done;
    // whoever holds a clone can still write.
    let mut clone = clones.recv_timeout(TIMEOUT).unwrap();
    clone.write_all(b" and later").unwrap();
    clone.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b" and later");
}

/// Node drops a connection over `maxConnections`; netcourse seats it, in
/// the seat of the connection heard from least recently, and 'drop' names
/// that one.
#[test]
fn a_newcomer_over_the_limit_is_seated_and_drop_names_the_one_it_replaced() {
    let (dropped, drops) = mpsc::channel();
    let (server, _) = echo_server(None, |server| {
        server
            .max_connections(3)
            // Every client is 127.0.0.1: let it hold every seat.
            .max_connections_per_ip(3 + 1)
            .on_drop(move |addr, reason| dropped.send((addr, reason)).unwrap())
    });
    let addr = server.local_addr();
    // Each echo proves the server has taken that connection.
    let mut first_three: Vec<TcpStream> = (0..3).map(|_| connect(addr)).collect();
    for client in &mut first_three {
        echo(client, b"in");
    }

    let mut fourth = connect(addr);
    echo(&mut fourth, b"in too");
    assert_eq!(
        drops.recv_timeout(TIMEOUT).unwrap(),
        (first_three[0].local_addr().unwrap(), DropReason::Reclaimed)
    );
    // Ended: EOF (or a reset, since it sent something before).
    let mut rest = Vec::new();
    let _ = first_three[0].read_to_end(&mut rest);
    assert_eq!(rest, b"");

    for client in &mut first_three[1..] {
        echo(client, b"still answered");
    }
}

#[test]
fn tcp_events_prints_every_event_of_doc_a_in_order() {
    let output = run("tcp_events").assert().success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    // "who: event ..." -> "who: event"
    let events: Vec<String> = stdout
        .lines()
        .map(|line| line.split([' ', ',']).take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        events,
        [
            "server: listening",
            "server: error",
            "client: connect",
            "server: connection",
            "socket: data",
            "socket: timeout",
            "socket: drain",
            "socket: end",
            "socket: close",
            "server: connection",
            "socket: error",
            "socket: close",
            "server: close",
        ],
        "{stdout}"
    );
}

/// The server's `'close'` waits for every connection, not only the last to
/// come: a connection that came first and ends last still holds it. (The
/// server sweeps finished threads out of its list as new ones start; a
/// sweep that dropped the live ones instead would let `'close'` come early.)
#[test]
fn the_servers_close_waits_for_the_connection_that_came_first() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    /// Echoes; the first connection says, as it closes, that it has.
    struct Tracks {
        first: bool,
        first_closed: Arc<AtomicBool>,
        closes: Sender<&'static str>,
    }
    impl Handler for Tracks {
        fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
            socket.write_all(data)
        }
        fn on_close(&mut self, _had_error: bool) {
            if self.first {
                self.first_closed.store(true, Ordering::SeqCst);
            }
            let _ = self.closes.send("close");
        }
    }
    let first_closed = Arc::new(AtomicBool::new(false));
    let (closes, connection_events) = mpsc::channel();
    let (closed, server_closed) = mpsc::channel();
    let seen = Arc::clone(&first_closed);
    let count = AtomicUsize::new(0);
    let handlers_flag = Arc::clone(&first_closed);
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .on_close(move || closed.send(seen.load(Ordering::SeqCst)).unwrap())
        .spawn(move || Tracks {
            first: count.fetch_add(1, Ordering::SeqCst) == 0,
            first_closed: Arc::clone(&handlers_flag),
            closes: closes.clone(),
        })
        .unwrap();
    let addr = server.local_addr();
    let mut first = connect(addr);
    echo(&mut first, b"first");
    let mut second = connect(addr); // its start sweeps the list
    echo(&mut second, b"second");
    server.close().unwrap();

    second.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_end(&mut second).is_empty());
    assert_eq!(connection_events.recv_timeout(TIMEOUT).unwrap(), "close");
    // The first is open: no 'close' yet. (A look, not a wait for anything:
    // with the first open, nothing should come in any time.)
    assert!(
        server_closed
            .recv_timeout(Duration::from_millis(100))
            .is_err(),
        "'close' came while the first connection was open"
    );
    first.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_end(&mut first).is_empty());
    // 'close' came after both: it saw the first one closed.
    assert!(
        server_closed.recv_timeout(TIMEOUT).unwrap(),
        "'close' came early"
    );
    server.join();
}
