//! Solutions to the exercises of chapter 4 (`docs/04-udp.md`) that need
//! code: a client that asks again, a server that tells its peers apart, the
//! error only a connected socket hears, and a datagram cut short.

mod common;

#[cfg(windows)]
use common::EMSGSIZE;
use common::{with_closed_port, TIMEOUT};
use netcourse::udp::{Handler, RemoteInfo, Socket};
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

/// A plain `std` socket on loopback, with [`TIMEOUT`] on its receives.
fn peer() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket
}

/// Exercise 1's server: loses the first datagram of every sender, on
/// purpose, and echoes the rest.
struct DropFirst {
    dropped: HashSet<(IpAddr, u16)>,
}

impl Handler for DropFirst {
    fn on_message(&mut self, socket: &Socket, msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()> {
        // insert returns true the first time: that datagram is "lost".
        if self.dropped.insert((rinfo.address, rinfo.port)) {
            return Ok(());
        }
        socket.send(msg, 0, msg.len(), rinfo.port, rinfo.address)?;
        Ok(())
    }
}

/// Exercise 1's client: sends `ping N` until the echo comes back, waiting
/// `wait` for each answer, at most `tries` times. Returns how many sends it
/// took.
fn ping(server: SocketAddr, n: u32, wait: Duration, tries: u32) -> io::Result<u32> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(wait))?;
    let ping = format!("ping {n}");
    let mut buf = [0; 64];
    for attempt in 1..=tries {
        socket.send_to(ping.as_bytes(), server)?;
        match socket.recv_from(&mut buf) {
            // A late echo of an earlier attempt says the same: it counts.
            Ok((size, from)) if from == server && buf[..size] == *ping.as_bytes() => {
                return Ok(attempt);
            }
            // Something else: not our answer; send again.
            Ok(_) => {}
            // No answer within `wait`: the datagram or its echo was lost.
            Err(e) if timed_out(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no echo after {tries} tries"),
    ))
}

/// What a receive with a read timeout fails with when nothing came:
/// `WouldBlock` on Unix, `TimedOut` on Windows.
fn timed_out(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[test]
fn exercise_1_asking_again_gets_through_a_lost_datagram() {
    let server = Socket::bind("127.0.0.1:0")
        .unwrap()
        .spawn(DropFirst {
            dropped: HashSet::new(),
        })
        .unwrap();
    // The first send is always lost, so every ping takes two sends at
    // least; more only if a loaded machine takes over 100 ms to echo, which
    // 50 tries (5 s) leave room for.
    for n in 1..=3 {
        let sends = ping(server.local_addr(), n, Duration::from_millis(100), 50).unwrap();
        assert!(sends >= 2, "ping {n} got through in {sends} send(s)");
    }
    server.close().unwrap();
}

/// Exercise 2: one handler value hears every sender, so a map in its
/// fields tells them apart.
struct PerSender {
    counts: HashMap<(IpAddr, u16), u64>,
}

impl Handler for PerSender {
    fn on_message(&mut self, socket: &Socket, _msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()> {
        let count = self.counts.entry((rinfo.address, rinfo.port)).or_insert(0);
        *count += 1;
        let reply = count.to_string().into_bytes();
        socket.send(&reply, 0, reply.len(), rinfo.port, rinfo.address)?;
        Ok(())
    }
}

#[test]
fn exercise_2_each_sender_is_counted_apart() {
    let server = Socket::bind("127.0.0.1:0")
        .unwrap()
        .spawn(PerSender {
            counts: HashMap::new(),
        })
        .unwrap();
    let clients = [peer(), peer(), peer()];
    let mut buf = [0; 16];
    for round in ["1", "2"] {
        for client in &clients {
            // Stop and wait: loopback loses a datagram only when a queue is
            // full, and with one in flight none is.
            client.send_to(b"count me", server.local_addr()).unwrap();
            let (n, _) = client.recv_from(&mut buf).expect("the count");
            assert_eq!(&buf[..n], round.as_bytes());
        }
    }
    server.close().unwrap();
}

/// What the next receive on a UDP socket returns.
#[derive(Debug, PartialEq)]
enum Heard {
    /// A datagram: someone listens on the port after all.
    Datagram,
    /// Nothing, until the read timeout.
    Nothing,
    /// An error of this kind.
    Error(io::ErrorKind),
}

/// The next receive on `socket`, waiting at most `wait`.
fn heard(socket: &UdpSocket, wait: Duration) -> Heard {
    socket.set_read_timeout(Some(wait)).unwrap();
    match socket.recv_from(&mut [0; 16]) {
        Ok(_) => Heard::Datagram,
        Err(error) if timed_out(&error) => Heard::Nothing,
        Err(error) => Heard::Error(error.kind()),
    }
}

// What a socket hears once a datagram it sent met a closed port and an ICMP
// "port unreachable" came back. Linux and macOS tell only a connected
// socket, with ECONNREFUSED. Windows tells every socket, connected or not,
// with WSAECONNRESET.
#[cfg(not(windows))]
const CONNECTED_HEARS: Heard = Heard::Error(io::ErrorKind::ConnectionRefused);
#[cfg(not(windows))]
const UNCONNECTED_HEARS: Heard = Heard::Nothing;
#[cfg(windows)]
const CONNECTED_HEARS: Heard = Heard::Error(io::ErrorKind::ConnectionReset);
#[cfg(windows)]
const UNCONNECTED_HEARS: Heard = Heard::Error(io::ErrorKind::ConnectionReset);

#[test]
fn exercise_3_a_connected_socket_hears_port_unreachable() {
    // A port that nothing listened on a moment ago; if another test takes
    // it in between, what we see says so, and we try another.
    with_closed_port(|port| {
        let connected = UdpSocket::bind("127.0.0.1:0").unwrap();
        connected.connect(("127.0.0.1", port)).unwrap();
        // The send itself succeeds: the kernel took the datagram.
        assert_eq!(connected.send(b"anyone?").unwrap(), 7);
        // The ICMP answer comes back at once on loopback; a second is
        // plenty, and an answer or a silent second means someone took the
        // port.
        match heard(&connected, Duration::from_secs(1)) {
            Heard::Datagram | Heard::Nothing => return None,
            error => assert_eq!(error, CONNECTED_HEARS),
        }

        // doc A's kind of socket, unconnected: its send succeeds too, and
        // its next receive hears what this system tells it. Where that is
        // nothing, 100 ms of silence stands for "never".
        let unconnected = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sent = unconnected.send_to(b"anyone?", ("127.0.0.1", port));
        assert_eq!(sent.unwrap(), 7);
        let wait = if UNCONNECTED_HEARS == Heard::Nothing {
            Duration::from_millis(100)
        } else {
            TIMEOUT
        };
        match heard(&unconnected, wait) {
            Heard::Datagram => None,
            heard => {
                assert_eq!(heard, UNCONNECTED_HEARS);
                Some(())
            }
        }
    });
}

#[test]
fn exercise_4_a_datagram_too_large_for_the_buffer_is_cut() {
    let receiver = peer();
    let sender = peer();
    sender
        .send_to(b"hello world", receiver.local_addr().unwrap())
        .unwrap();
    sender
        .send_to(b"again", receiver.local_addr().unwrap())
        .unwrap();

    let mut buf = [0; 5];
    let first = receiver.recv_from(&mut buf);
    // Linux and macOS cut it silently: 5 bytes, and who sent them.
    #[cfg(not(windows))]
    assert_eq!(first.expect("the first 5 bytes").0, 5);
    // Windows fills the buffer too, but fails the call with WSAEMSGSIZE, so
    // the program knows the datagram did not fit (and not who sent it).
    #[cfg(windows)]
    assert_eq!(first.expect_err("too large").raw_os_error(), Some(EMSGSIZE));
    assert_eq!(&buf, b"hello");

    // On all three, " world" is gone: the next call starts at the next
    // datagram.
    let (n, _) = receiver.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"again");
}
