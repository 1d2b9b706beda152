//! Slow readers and a chat room: a client that reads slowly, or not at all,
//! must not slow down anyone else, must not make the server hold more than
//! the room's cap for it, and must not see lines it was not there for.
//!
//! The timing bounds here are generous, for a loaded CI machine; the
//! benchmark (`bench -- abuse`) holds the tight numbers.

mod common;

use common::room::{closed, joined, serve, serve_with_timeout, Event};
use common::{connect, TIMEOUT};
use netcourse::chat::{Limits, Room};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Every line the talkers send is this long, `\n` included.
const LINE: usize = 1000;

/// Line `seq`: its number, then filler, `LINE` bytes in all.
fn line(seq: usize) -> Vec<u8> {
    let mut line = format!("{seq:08} ").into_bytes();
    line.resize(LINE - 1, b'x');
    line.push(b'\n');
    line
}

/// Sends `lines` numbered lines on a thread of its own.
fn talk(talker: &TcpStream, lines: usize) -> JoinHandle<()> {
    talk_from(talker, 0, lines)
}

/// Sends lines `first..first + lines` on a thread of its own.
fn talk_from(talker: &TcpStream, first: usize, lines: usize) -> JoinHandle<()> {
    let mut talker = talker.try_clone().unwrap();
    thread::spawn(move || {
        for seq in first..first + lines {
            talker.write_all(&line(seq)).unwrap();
        }
    })
}

/// What a listener heard.
struct Heard {
    /// Lines received, all whole and in order (checked as they came).
    lines: usize,
    /// The longest wait between two reads that returned data.
    longest_gap: Duration,
}

/// Reads `lines` numbered lines on a thread of its own, checking each, and
/// timing the gaps between receptions.
fn listen(listener: &TcpStream, lines: usize) -> JoinHandle<Heard> {
    listen_from(listener, 0, lines)
}

/// Like [`listen`], for lines `first..first + lines`.
fn listen_from(listener: &TcpStream, first: usize, lines: usize) -> JoinHandle<Heard> {
    let mut stream = listener.try_clone().unwrap();
    thread::spawn(move || {
        let mut buf = vec![0; 64 * 1024];
        let mut pending = Vec::new();
        let mut heard = Heard {
            lines: 0,
            longest_gap: Duration::ZERO,
        };
        let mut last = None::<Instant>;
        while heard.lines < lines {
            let n = stream.read(&mut buf).expect("the listener reads");
            assert!(n > 0, "the listener was disconnected");
            let now = Instant::now();
            if let Some(last) = last {
                heard.longest_gap = heard.longest_gap.max(now - last);
            }
            last = Some(now);
            pending.extend_from_slice(&buf[..n]);
            let whole = pending.len() / LINE * LINE;
            for got in pending[..whole].chunks(LINE) {
                let seq = first + heard.lines;
                assert!(
                    got == line(seq),
                    "line {seq} cut or out of order: {:?}...",
                    String::from_utf8_lossy(&got[..16])
                );
                heard.lines += 1;
            }
            pending.drain(..whole);
        }
        heard
    })
}

/// A client that reads `chunk` bytes at a time, waiting `pause` after each,
/// until it has `want` bytes, its connection ends, or `stop` says so (or
/// is dropped); returns how many bytes it read.
fn read_slowly(
    client: &TcpStream,
    chunk: usize,
    pause: Duration,
    want: usize,
) -> (Sender<()>, JoinHandle<usize>) {
    let mut client = client.try_clone().unwrap();
    let (stop, stopped) = mpsc::channel::<()>();
    let reading = thread::spawn(move || {
        let mut buf = vec![0; chunk];
        let mut total = 0;
        while total < want {
            match client.read(&mut buf) {
                Ok(n @ 1..) => total += n,
                _ => break,
            }
            // The pace of a slow reader; a message or a hang-up on `stop`
            // ends it early.
            if !matches!(stopped.recv_timeout(pause), Err(RecvTimeoutError::Timeout)) {
                break;
            }
        }
        total
    });
    (stop, reading)
}

/// A talker, a listener and a third client that `misbehave`s: the talker
/// sends 10 MB; the third client is evicted; the listener hears every line,
/// with no gap longer than half a second.
fn flood_past(misbehave: impl FnOnce(&TcpStream) -> Option<(Sender<()>, JoinHandle<usize>)>) {
    const LINES: usize = 10_000;
    let room = Room::new();
    let (server, events) = serve(&room);
    let slow = connect(server.local_addr());
    let talker = connect(server.local_addr());
    let listener = connect(server.local_addr());
    joined(&events, 3);
    let slow_reader = misbehave(&slow);

    let listening = listen(&listener, LINES);
    let talking = talk(&talker, LINES);
    closed(&events, &slow);
    talking.join().unwrap();
    let heard = listening.join().unwrap();
    assert_eq!(heard.lines, LINES);
    assert!(
        heard.longest_gap <= Duration::from_millis(500),
        "the listener waited {:?} for a line",
        heard.longest_gap
    );
    assert_eq!(room.len(), 2);
    if let Some((stop, reading)) = slow_reader {
        drop(stop);
        reading.join().unwrap();
    }
}

#[test]
fn a_client_that_never_reads_stalls_no_one() {
    flood_past(|_never_reads| None);
}

#[test]
fn a_client_that_reads_2_kb_a_second_stalls_no_one() {
    flood_past(|slow| Some(read_slowly(slow, 2048, Duration::from_secs(1), usize::MAX)));
}

/// Three clients of a room with `limits`: one that does not read yet, a
/// talker, a listener; all joined.
struct Trio {
    room: Room,
    /// Kept so that the server runs as long as the trio.
    _server: netcourse::tcp::ServerHandle,
    events: Receiver<Event>,
    slow: TcpStream,
    talker: TcpStream,
    listener: TcpStream,
}

impl Trio {
    fn new(limits: Limits, timeout: Option<Option<Duration>>) -> Trio {
        let room = Room::with_limits(limits);
        let (server, events) = serve_with_timeout(&room, timeout);
        let slow = connect(server.local_addr());
        let talker = connect(server.local_addr());
        let listener = connect(server.local_addr());
        joined(&events, 3);
        Trio {
            room,
            _server: server,
            events,
            slow,
            talker,
            listener,
        }
    }

    /// The talker sends `lines` lines; the listener hears them all.
    fn talk(&self, lines: usize) {
        let listening = listen(&self.listener, lines);
        talk(&self.talker, lines).join().unwrap();
        assert_eq!(listening.join().unwrap().lines, lines);
    }
}

#[test]
fn a_reader_that_keeps_up_slowly_is_waited_for_and_loses_nothing() {
    const LINES: usize = 6_000; // 6 MB, more than the cap and the kernel's buffers
    let trio = Trio::new(
        Limits {
            // Generous, so that a loaded CI machine's scheduler cannot make
            // the slow reader look stuck.
            max_stall: Duration::from_secs(2),
            ..Limits::default()
        },
        None,
    );
    // 64 KiB every 10 ms: at most 6.4 MB/s, much slower than the talker.
    let (_stop, reading) = read_slowly(
        &trio.slow,
        64 * 1024,
        Duration::from_millis(10),
        LINES * LINE,
    );
    trio.talk(LINES);
    assert_eq!(reading.join().unwrap(), LINES * LINE);
    // Still in the room: the room waited for it instead.
    assert_eq!(trio.room.len(), 3);
}

#[test]
fn a_reader_that_pauses_and_catches_up_before_the_cap_loses_nothing() {
    const LINES: usize = 4_000; // 4 MB, less than the cap below
    let trio = Trio::new(
        Limits {
            max_backlog: 8 * 1024 * 1024,
            ..Limits::default()
        },
        None,
    );
    // The slow client reads nothing until the listener has heard every
    // line: the room holds the rest of its share for it.
    trio.talk(LINES);
    let mut all = Vec::new();
    let mut slow = trio.slow.try_clone().unwrap();
    while all.len() < LINES * LINE {
        let mut buf = vec![0; 64 * 1024];
        let n = slow.read(&mut buf).unwrap();
        assert!(n > 0, "evicted after {} bytes", all.len());
        all.extend_from_slice(&buf[..n]);
    }
    for (seq, got) in all.chunks(LINE).enumerate() {
        assert_eq!(got, line(seq));
    }
    assert_eq!(trio.room.len(), 3);
}

/// A room with a cap too high to matter: only the write timeout can evict.
fn patient_limits() -> Limits {
    Limits {
        max_backlog: 64 * 1024 * 1024,
        write_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

/// The talker sends 12 MB, more than a never-reading client's kernel buffers
/// hold; that client is evicted once its socket has taken nothing for the
/// room's write timeout, whatever the listener did with the socket's own
/// timeouts.
fn evicted_by_the_write_timeout(timeout: Option<Option<Duration>>) {
    const LINES: usize = 12_000;
    let trio = Trio::new(patient_limits(), timeout);
    let started = Instant::now();
    let listening = listen(&trio.listener, LINES);
    let talking = talk(&trio.talker, LINES);
    closed(&trio.events, &trio.slow);
    assert!(started.elapsed() >= Duration::from_millis(300));
    talking.join().unwrap();
    assert_eq!(listening.join().unwrap().lines, LINES);
    assert_eq!(trio.room.len(), 2);
}

#[test]
fn a_client_that_takes_nothing_for_the_write_timeout_is_evicted() {
    evicted_by_the_write_timeout(None);
}

#[test]
fn a_listeners_idle_timeout_does_not_change_the_rooms_deadline() {
    // A ten-minute idle timeout: Node's setTimeout(600000).
    evicted_by_the_write_timeout(Some(Some(Duration::from_secs(600))));
}

#[test]
fn a_listener_that_turns_its_timeout_off_does_not_turn_eviction_off() {
    evicted_by_the_write_timeout(Some(None));
}

/// A connected pair on loopback: (the server's end, the client's end).
fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let client = connect(listener.local_addr().unwrap());
    let (server, _) = listener.accept().unwrap();
    (server, client)
}

/// What `client` has received so far, waiting at most `wait` for more.
fn received(client: &mut TcpStream, wait: Duration) -> Vec<u8> {
    client.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    loop {
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(e) => panic!("{e}"),
        }
    }
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    got
}

#[test]
fn a_line_goes_nowhere_once_its_sender_has_left() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let room = Room::new();
    let (ghost, _ghost_client) = pair(&listener);
    let (bob, _bob_client) = pair(&listener);
    let ghost = room.join(&ghost).unwrap();
    let bob = room.join(&bob).unwrap();

    // The ghost is gone (left, or was evicted) when its line comes.
    assert!(room.leave(ghost));
    let refused = room.broadcast_from(ghost, b"boo\n").unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::NotConnected);

    // A newcomer, then a real line: the newcomer hears that line only.
    let (carol, mut carol_client) = pair(&listener);
    room.join(&carol).unwrap();
    room.broadcast_from(bob, b"hello\n").unwrap();
    let mut line = [0; 6];
    carol_client.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"hello\n");
    assert_eq!(received(&mut carol_client, Duration::from_millis(100)), b"");
}

#[test]
fn a_newcomer_hears_only_what_is_said_after_it_joined() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let room = Room::new();
    // A peer that never reads has lines waiting for it in the room.
    let (stuck, _stuck_client) = pair(&listener);
    room.join(&stuck).unwrap();
    let (alice, _alice_client) = pair(&listener);
    let alice = room.join(&alice).unwrap();
    for seq in 0..8_000 {
        room.broadcast_from(alice, &line(seq)).unwrap();
    }

    let (carol, mut carol_client) = pair(&listener);
    room.join(&carol).unwrap();
    room.broadcast_from(alice, b"after\n").unwrap();
    let mut got = [0; 6];
    carol_client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"after\n");
    assert_eq!(received(&mut carol_client, Duration::from_millis(100)), b"");
}

/// A process's memory, from `/proc/PID/status` (Linux): `field` (`VmRSS`,
/// the resident set now, or `VmHWM`, its peak), in bytes.
#[cfg(target_os = "linux")]
fn memory(pid: u32, field: &str) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kb: usize = line.trim().trim_end_matches("kB").trim().parse().unwrap();
    kb * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn the_server_holds_at_most_the_cap_for_a_client_that_never_reads() {
    use common::Running;
    const LINES: usize = 20_000; // 20 MB after the first: far more than the cap and the kernel's buffers
    let server = Running::server("chat_server", &[]);
    let pid = server.pid();
    let addr = server.addr.unwrap();
    let stuck = connect(addr);
    let talker = connect(addr);
    let listener = connect(addr);
    for _ in 0..3 {
        assert_eq!(server.line(), "Got a new connection");
    }
    // Warm up: a line each way, so that every thread the run needs has
    // started and allocated its buffers before the baseline.
    let listening = listen(&listener, 1);
    talk(&talker, 1).join().unwrap();
    listening.join().unwrap();
    let before = memory(pid, "VmRSS");

    let listening = listen_from(&listener, 1, LINES);
    let talking = talk_from(&talker, 1, LINES);
    assert_eq!(server.line(), "A client connection closed"); // the stuck one
    talking.join().unwrap();
    listening.join().unwrap();
    let peak = memory(pid, "VmHWM");
    let grew = peak.saturating_sub(before);
    // The cap (1 MiB) for the stuck client, plus the lines on their way to
    // the listener and the writer threads' stacks.
    assert!(
        grew <= 4 * 1024 * 1024,
        "the server grew by {grew} bytes for a client that never reads"
    );
    drop(stuck);
}
