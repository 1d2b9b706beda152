//! The `udp` module over real loopback sockets: what arrives, from whom, and
//! how the receive loop stops.

mod common;

use common::{EMSGSIZE, TIMEOUT};
use netcourse::udp::{Family, Handler, RemoteInfo, Socket, SocketHandle};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;

/// One event a [`Recorder`] heard.
#[derive(Debug, PartialEq)]
enum Event {
    Message(Vec<u8>, RemoteInfo),
    Error(io::ErrorKind),
    Close,
}

/// Hands every event to the test as it happens. Two messages are orders:
/// `close` closes the socket from inside the handler, `fail` returns `Err`.
struct Recorder(Sender<Event>);

impl Handler for Recorder {
    fn on_message(&mut self, socket: &Socket, msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()> {
        let _ = self.0.send(Event::Message(msg.to_vec(), *rinfo));
        match msg {
            b"close" => socket.close(),
            b"fail" => return Err(io::Error::other("told to fail")),
            _ => {}
        }
        Ok(())
    }
    fn on_error(&mut self, error: &io::Error) {
        let _ = self.0.send(Event::Error(error.kind()));
    }
    fn on_close(&mut self) {
        let _ = self.0.send(Event::Close);
    }
}

/// A [`Recorder`] on `socket`'s own thread, and the channel its events arrive on.
fn record(socket: Socket) -> (SocketHandle, Receiver<Event>) {
    let (tx, events) = mpsc::channel();
    (socket.spawn(Recorder(tx)).unwrap(), events)
}

/// The next event, or the test fails at the timeout.
fn next(events: &Receiver<Event>) -> Event {
    events
        .recv_timeout(TIMEOUT)
        .expect("an event before the timeout")
}

/// A plain `std` peer, with [`TIMEOUT`] on its receives.
fn peer(addr: &str) -> UdpSocket {
    let socket = UdpSocket::bind(addr).unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket
}

/// The next datagram `socket` receives, and its sender (or the test fails
/// at the timeout).
fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0; 65_536];
    let (n, from) = socket.recv_from(&mut buf).expect("a datagram");
    buf.truncate(n);
    (buf, from)
}

/// The `RemoteInfo` a datagram of `size` bytes from `from` must carry.
fn rinfo(from: SocketAddr, size: usize) -> RemoteInfo {
    RemoteInfo {
        address: from.ip(),
        family: Family::of(from),
        port: from.port(),
        size,
    }
}

#[test]
fn a_datagram_arrives_with_its_bytes_and_rinfo() {
    let (server, events) = record(Socket::bind("127.0.0.1:0").unwrap());
    let client = peer("127.0.0.1:0");
    let from = client.local_addr().unwrap();

    // Not text, and a NUL inside: the bytes are delivered as they are.
    let sent = b"hello\0world \xff\xfe";
    client.send_to(sent, server.local_addr()).unwrap();
    let expected = Event::Message(sent.to_vec(), rinfo(from, sent.len()));
    assert_eq!(next(&events), expected);
    assert_eq!(rinfo(from, 0).family.to_string(), "IPv4");

    // An empty datagram is a message too, of size 0.
    client.send_to(b"", server.local_addr()).unwrap();
    assert_eq!(next(&events), Event::Message(Vec::new(), rinfo(from, 0)));

    server.close().unwrap();
    assert_eq!(next(&events), Event::Close);
}

#[test]
fn send_sends_the_range_and_returns_the_byte_count() {
    let server = peer("127.0.0.1:0");
    let port = server.local_addr().unwrap().port();
    let client = Socket::create(Family::IPv4).unwrap();
    let buf = b"..hello world..";

    assert_eq!(client.send(buf, 2, 11, port, "127.0.0.1").unwrap(), 11);
    let (msg, from) = receive(&server);
    assert_eq!(msg, b"hello world");
    assert_eq!(from.port(), client.local_addr().port());

    // A udp4 socket takes localhost's IPv4 address, as Node's does, even
    // where localhost also means ::1.
    assert_eq!(client.send(buf, 0, 2, port, "localhost").unwrap(), 2);
    assert_eq!(receive(&server).0, b"..");

    // An IpAddr, as a handler replies to rinfo.address.
    let address = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert_eq!(client.send(buf, 13, 2, port, address).unwrap(), 2);
    assert_eq!(receive(&server).0, b"..");
}

#[test]
fn a_bad_offset_or_length_is_invalid_input_and_sends_nothing() {
    let server = peer("127.0.0.1:0");
    let port = server.local_addr().unwrap().port();
    let client = Socket::create(Family::IPv4).unwrap();
    let buf = b"hello world";

    for (offset, length) in [
        (12, 0),
        (0, 12),
        (5, 7),
        (usize::MAX, 1),
        (1, usize::MAX),
        (usize::MAX, usize::MAX),
    ] {
        let error = client
            .send(buf, offset, length, port, "127.0.0.1")
            .expect_err("out of range");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
    }
    // The edges are inside: an empty datagram from the end of the buffer.
    assert_eq!(client.send(buf, 11, 0, port, "127.0.0.1").unwrap(), 0);
    assert_eq!(client.send(buf, 6, 5, port, "127.0.0.1").unwrap(), 5);
    // Nothing went before those two.
    assert_eq!(receive(&server).0, b"");
    assert_eq!(receive(&server).0, b"world");
}

/// Keeps each sender's datagrams in the order they came, and acknowledges
/// each one by sending it back.
struct Acker {
    seen: Vec<(u16, Vec<u8>)>,
    done: Sender<Vec<(u16, Vec<u8>)>>,
}

impl Handler for Acker {
    fn on_message(&mut self, socket: &Socket, msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()> {
        self.seen.push((rinfo.port, msg.to_vec()));
        socket.send(msg, 0, msg.len(), rinfo.port, rinfo.address)?;
        Ok(())
    }
    fn on_close(&mut self) {
        let _ = self.done.send(std::mem::take(&mut self.seen));
    }
}

/// Four threads send 250 datagrams each, at once, to one socket.
///
/// Loopback loses a datagram only when the receiver's socket queue is full
/// (on Linux, `net.core.rmem_default`: about 200 KiB, a few hundred small
/// datagrams). On a loaded machine the receive loop may not run for a while,
/// so each sender waits for the ack of its datagram before sending the next:
/// at most four are ever queued, and every one of the 1,000 must arrive.
#[test]
fn a_thousand_datagrams_from_four_threads_all_arrive_with_their_ports() {
    const SENDERS: usize = 4;
    const EACH: usize = 250;
    let (done, seen) = mpsc::channel();
    let server = Socket::bind("127.0.0.1:0")
        .unwrap()
        .spawn(Acker {
            seen: Vec::new(),
            done,
        })
        .unwrap();
    let to = server.local_addr();

    let senders: Vec<_> = (0..SENDERS)
        .map(|t| {
            thread::spawn(move || {
                let socket = peer("127.0.0.1:0");
                let port = socket.local_addr().unwrap().port();
                for i in 0..EACH {
                    let msg = format!("sender {t} datagram {i}");
                    socket.send_to(msg.as_bytes(), to).unwrap();
                    match socket.recv_from(&mut [0; 64]) {
                        Ok((n, _)) if n == msg.len() => {}
                        other => {
                            let why = format!("no ack for datagram {i} ({other:?})");
                            return (port, i, Some(why));
                        }
                    }
                }
                (port, EACH, None)
            })
        })
        .collect();
    let results: Vec<(u16, usize, Option<String>)> =
        senders.into_iter().map(|s| s.join().unwrap()).collect();
    server.close().unwrap();
    let seen = seen.recv_timeout(TIMEOUT).unwrap();

    let failures: Vec<_> = results.iter().filter_map(|r| r.2.as_ref()).collect();
    assert!(
        seen.len() == SENDERS * EACH && failures.is_empty(),
        "{} of {} datagrams arrived: {} lost. Loopback drops only when the \
         receiver's queue is full, and no sender had more than one datagram \
         in flight, so the receive loop stopped reading. Senders: {failures:?}",
        seen.len(),
        SENDERS * EACH,
        SENDERS * EACH - seen.len(),
    );
    // Each sender's port got all of its datagrams, each once, in order.
    for (t, (port, _, _)) in results.iter().enumerate() {
        let from_it: Vec<String> = seen
            .iter()
            .filter(|(p, _)| p == port)
            .map(|(_, msg)| String::from_utf8_lossy(msg).into_owned())
            .collect();
        let expected: Vec<String> = (0..EACH)
            .map(|i| format!("sender {t} datagram {i}"))
            .collect();
        assert_eq!(from_it, expected, "sender {t}, port {port}");
    }
}

/// A datagram of `size` bytes whose every byte depends on its place.
fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// Asserts that the next event is the message `sent`, whole.
fn assert_arrives_whole(events: &Receiver<Event>, sent: &[u8]) {
    match next(events) {
        Event::Message(msg, rinfo) => {
            assert_eq!(rinfo.size, sent.len());
            assert!(
                msg == sent,
                "{} bytes arrived, not the ones sent",
                msg.len()
            );
        }
        other => panic!("expected a message, got {other:?}"),
    }
}

// The largest datagram the kernel sends over IPv4 and over IPv6. On Linux
// and Windows, UDP's own limits (see `MAX_DATAGRAM`). macOS refuses anything
// larger than its `net.inet.udp.maxdgram`, 9,216 bytes unless an
// administrator raised it, over either IP.
#[cfg(not(target_os = "macos"))]
const LARGEST_IPV4: usize = 65_507;
#[cfg(not(target_os = "macos"))]
const LARGEST_IPV6: usize = 65_527;
#[cfg(target_os = "macos")]
const LARGEST_IPV4: usize = 9_216;
#[cfg(target_os = "macos")]
const LARGEST_IPV6: usize = 9_216;

#[test]
fn the_largest_ipv4_datagram_arrives_whole() {
    let (server, events) = record(Socket::bind("127.0.0.1:0").unwrap());
    let port = server.local_addr().port();
    let client = Socket::create(Family::IPv4).unwrap();

    let largest = pattern(LARGEST_IPV4);
    let sent = client.send(&largest, 0, largest.len(), port, "127.0.0.1");
    assert_eq!(sent.unwrap(), LARGEST_IPV4);
    assert_arrives_whole(&events, &largest);

    // One byte more is refused (EMSGSIZE), on every system, rather than cut.
    let too_large = pattern(LARGEST_IPV4 + 1);
    let error = client
        .send(&too_large, 0, too_large.len(), port, "127.0.0.1")
        .expect_err("one byte more than the largest");
    assert_eq!(error.raw_os_error(), Some(EMSGSIZE), "{error}");
}

#[test]
fn ipv6_loopback_works() {
    let socket = match Socket::bind("[::1]:0") {
        Ok(socket) => socket,
        Err(e) => {
            println!("skipped: this machine cannot bind ::1 ({e})");
            return;
        }
    };
    let (server, events) = record(socket);
    let port = server.local_addr().port();

    let client = peer("[::1]:0");
    let from = client.local_addr().unwrap();
    client.send_to(b"hello v6", server.local_addr()).unwrap();
    assert_eq!(
        next(&events),
        Event::Message(b"hello v6".to_vec(), rinfo(from, 8))
    );
    assert_eq!(rinfo(from, 8).family.to_string(), "IPv6");

    // The IPv6 limit is 20 bytes above IPv4's: the buffer holds that too.
    let largest = pattern(LARGEST_IPV6);
    let sender = Socket::create(Family::IPv6).unwrap();
    let sent = sender.send(&largest, 0, largest.len(), port, "::1");
    assert_eq!(sent.unwrap(), LARGEST_IPV6);
    assert_arrives_whole(&events, &largest);

    server.close().unwrap();
    assert_eq!(next(&events), Event::Close);
}

/// Echoes every datagram, after sending one to a port where nothing listens.
struct EchoAndStray {
    closed_port: u16,
}

impl Handler for EchoAndStray {
    fn on_message(&mut self, socket: &Socket, msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()> {
        socket.send(b"anyone?", 0, 7, self.closed_port, "127.0.0.1")?;
        socket.send(msg, 0, msg.len(), rinfo.port, rinfo.address)?;
        Ok(())
    }
}

/// The closed port answers with ICMP "port unreachable". Linux and macOS
/// tell an unconnected socket nothing; Windows makes its next `recv_from`
/// fail with `WSAECONNRESET`, which the receive loop skips, as libuv does
/// under Node. On all three the loop goes on, and `close` reports no error.
#[test]
fn a_datagram_to_a_closed_port_does_not_stop_the_receive_loop() {
    // A UDP port that was free a moment ago. Were it taken in between, the
    // test would pass without testing much, never fail.
    let closed_port = peer("127.0.0.1:0").local_addr().unwrap().port();
    let server = Socket::bind("127.0.0.1:0")
        .unwrap()
        .spawn(EchoAndStray { closed_port })
        .unwrap();
    let client = peer("127.0.0.1:0");
    for msg in ["one", "two", "three"] {
        client.send_to(msg.as_bytes(), server.local_addr()).unwrap();
        assert_eq!(receive(&client).0, msg.as_bytes());
    }
    server.close().unwrap();
    server.join().expect("no error stopped the loop");
}

#[test]
fn close_from_another_thread_fires_close_and_frees_the_port() {
    let (server, events) = record(Socket::bind("127.0.0.1:0").unwrap());
    let addr = server.local_addr();
    server.close().unwrap();
    // Nothing holds the port any more, as soon as close returns.
    Socket::bind(addr).expect("bind the closed socket's port again");
    // The wake-up datagram is not a message: 'close' is the only event.
    assert_eq!(next(&events), Event::Close);
    server.join().unwrap();
    assert_eq!(events.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn dropping_the_handle_closes_the_socket() {
    let (server, events) = record(Socket::bind("127.0.0.1:0").unwrap());
    drop(server);
    assert_eq!(next(&events), Event::Close);
}

#[test]
fn close_inside_the_handler_stops_the_loop() {
    let (server, events) = record(Socket::bind("127.0.0.1:0").unwrap());
    let client = peer("127.0.0.1:0");
    let from = client.local_addr().unwrap();
    for msg in ["one", "close", "two"] {
        client.send_to(msg.as_bytes(), server.local_addr()).unwrap();
    }
    assert_eq!(
        next(&events),
        Event::Message(b"one".to_vec(), rinfo(from, 3))
    );
    assert_eq!(
        next(&events),
        Event::Message(b"close".to_vec(), rinfo(from, 5))
    );
    // "two" may have arrived already, but after close() nothing is delivered.
    assert_eq!(next(&events), Event::Close);
    server.join().unwrap();
    assert_eq!(events.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn an_err_from_the_handler_is_error_then_close() {
    let (server, events) = record(Socket::bind("127.0.0.1:0").unwrap());
    let client = peer("127.0.0.1:0");
    let from = client.local_addr().unwrap();
    client.send_to(b"fail", server.local_addr()).unwrap();
    assert_eq!(
        next(&events),
        Event::Message(b"fail".to_vec(), rinfo(from, 4))
    );
    assert_eq!(next(&events), Event::Error(io::ErrorKind::Other));
    assert_eq!(next(&events), Event::Close);
    let error = server.join().expect_err("the handler's error");
    assert_eq!(error.to_string(), "told to fail");
}

/// Issue 22, bug 3: a handler that panicked left the socket marked open, so
/// `close()` waited its five seconds and returned `TimedOut`.
#[test]
fn after_a_handlers_panic_close_returns_ok_and_join_passes_the_panic_on() {
    use std::panic::{self, AssertUnwindSafe};
    struct Fragile(Sender<()>);
    impl Handler for Fragile {
        fn on_message(&mut self, _: &Socket, _: &[u8], _: &RemoteInfo) -> io::Result<()> {
            let _ = self.0.send(());
            panic!("a bug met by one datagram");
        }
    }
    let (tx, panicking) = mpsc::channel();
    let server = Socket::bind("127.0.0.1:0")
        .unwrap()
        .spawn(Fragile(tx))
        .unwrap();
    peer("127.0.0.1:0")
        .send_to(b"boom", server.local_addr())
        .unwrap();
    panicking.recv_timeout(TIMEOUT).unwrap();
    // The loop is gone: close has nothing to wait for.
    server.close().expect("close after the handler's panic");
    // The port is free: the panicking thread dropped its socket.
    Socket::bind(server.local_addr()).expect("bind the port again");
    let joined = panic::catch_unwind(AssertUnwindSafe(|| server.join()));
    let panic = joined.expect_err("the panic was swallowed");
    assert_eq!(
        panic.downcast_ref::<&str>(),
        Some(&"a bug met by one datagram")
    );
}
