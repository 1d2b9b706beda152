//! The benchmark's client: plain std threads, the same code for every server
//! it drives. It is heavier than the servers it measures (a thread per
//! client, often two), so its figures are only compared with each other,
//! taken in the same run.

use crate::servers::{GREETING, REPLY};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any one read or write may wait before the run counts as broken.
const PATIENCE: Duration = Duration::from_secs(30);

/// A client connection with [`PATIENCE`] on its reads and writes, and
/// without Nagle's algorithm: the client sends small messages back to back
/// and must not add a delayed-ACK wait of its own to what it measures.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.set_write_timeout(Some(PATIENCE))?;
    Ok(stream)
}

/// A thread with a small stack: the client runs up to two thousand of them.
pub fn spawn<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<JoinHandle<T>> {
    thread::Builder::new().stack_size(128 * 1024).spawn(f)
}

/// What one `echo` run measured.
pub struct Echo {
    /// From the moment every client was connected and greeted to the last reply.
    pub elapsed: Duration,
    /// Every round trip's time, sorted.
    pub latencies: Vec<Duration>,
}

/// `clients` connections each make `messages` round trips, one at a time:
/// send a small message, wait for doc A's reply (`你好`).
pub fn echo(addr: SocketAddr, clients: usize, messages: usize) -> io::Result<Echo> {
    let start = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let start = Arc::clone(&start);
            spawn(move || {
                let greeted = connect(addr).and_then(|mut stream| {
                    stream.read_exact(&mut [0; GREETING.len()])?;
                    Ok(stream)
                });
                // Wait even after a failure, or the others wait forever.
                start.wait();
                let mut stream = greeted?;
                let began = Instant::now();
                let mut latencies = Vec::with_capacity(messages);
                for _ in 0..messages {
                    let sent = Instant::now();
                    stream.write_all(b"ping\n")?;
                    stream.read_exact(&mut [0; REPLY.len()])?;
                    latencies.push(sent.elapsed());
                }
                Ok(((began, Instant::now()), latencies))
            })
        })
        .collect::<io::Result<_>>()?;
    start.wait();
    let mut span = Span::default();
    let mut latencies = Vec::with_capacity(clients * messages);
    for thread in threads {
        let ((began, ended), its) = join(thread)?;
        span.cover(began, ended);
        latencies.extend(its);
    }
    latencies.sort();
    Ok(Echo {
        elapsed: span.duration(),
        latencies,
    })
}

/// What one `chat` run measured.
pub struct Chat {
    /// Lines delivered: each client's count of lines from the others.
    pub delivered: u64,
    /// Lines that should have been: `clients × (clients − 1) × lines`.
    pub expected: u64,
    /// From the first line sent to the last one delivered.
    pub elapsed: Duration,
}

/// `clients` connections join the room, then each sends `lines` lines, one
/// write per line, while a second thread per client counts what it receives.
pub fn chat(addr: SocketAddr, clients: usize, lines: usize) -> io::Result<Chat> {
    let expected_each = ((clients - 1) * lines) as u64;
    let (events, heard) = mpsc::channel();
    let mut room = Vec::with_capacity(clients);
    let mut readers = Vec::with_capacity(clients);
    for client in 0..clients {
        let stream = connect(addr)?;
        let reader = stream.try_clone()?;
        let events = events.clone();
        // Client 0 sends the probes and the sync line, so never hears them.
        let sync_first = client != 0;
        readers.push(spawn(move || {
            count_lines(reader, client, sync_first, expected_each, events)
        })?);
        room.push(stream);
    }
    everyone_joined(&mut room[0], clients - 1, &heard)?;
    room[0].write_all(b"sync\n")?;
    wait_for(&heard, clients - 1, |event| matches!(event, Event::Synced))?;

    let start = Arc::new(Barrier::new(clients + 1));
    let writers: Vec<_> = room
        .into_iter()
        .enumerate()
        .map(|(client, mut stream)| {
            let start = Arc::clone(&start);
            spawn(move || -> io::Result<(Instant, TcpStream)> {
                start.wait();
                let began = Instant::now();
                for line in 0..lines {
                    stream.write_all(format!("client {client} line {line}\n").as_bytes())?;
                }
                Ok((began, stream)) // kept open until every count is in
            })
        })
        .collect::<io::Result<_>>()?;
    start.wait();
    let mut span = Span::default();
    let mut delivered = 0;
    let mut open = Vec::new();
    for writer in writers {
        let (began, stream) = join(writer)?;
        span.cover(began, began);
        open.push(stream);
    }
    for reader in readers {
        let (count, done) = join(reader)?;
        delivered += count;
        span.cover(done, done);
    }
    drop(open);
    Ok(Chat {
        delivered,
        expected: expected_each * clients as u64,
        elapsed: span.duration(),
    })
}

/// What a reader tells the driver.
enum Event {
    /// It heard its first line: the server has it in the room.
    Joined,
    /// It heard `sync`: from here on it counts.
    Synced,
    /// It heard `go`, at this instant (`conns`).
    Go(Instant),
}

/// Client 0 sends `probe` lines, every 10 ms, until `others` readers have
/// heard one: then the server has every client in its room.
fn everyone_joined(
    prober: &mut TcpStream,
    others: usize,
    heard: &Receiver<Event>,
) -> io::Result<()> {
    let mut joined = 0;
    let deadline = Instant::now() + PATIENCE;
    while joined < others {
        prober.write_all(b"probe\n")?;
        while let Ok(event) = heard.recv_timeout(Duration::from_millis(10)) {
            joined += matches!(event, Event::Joined) as usize;
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("only {joined} of {others} clients joined the room"),
            ));
        }
    }
    Ok(())
}

/// Waits for `n` events that match.
fn wait_for(
    heard: &Receiver<Event>,
    n: usize,
    wanted: impl Fn(&Event) -> bool,
) -> io::Result<Vec<Event>> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match heard.recv_timeout(PATIENCE) {
            Ok(event) if wanted(&event) => got.push(event),
            Ok(_) => {}
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("only {} of {n} clients answered", got.len()),
                ))
            }
        }
    }
    Ok(got)
}

/// A chat reader: reports its first line (`Joined`) and the `sync` line,
/// then counts lines until it has `expected`, and returns how many it got
/// and when it got the last.
fn count_lines(
    stream: TcpStream,
    client: usize,
    sync_first: bool,
    expected: u64,
    events: Sender<Event>,
) -> io::Result<(u64, Instant)> {
    let mut reader = BufReader::new(stream);
    if sync_first {
        read_until_line(&mut reader, "sync\n", &events)
            .map_err(|e| io::Error::new(e.kind(), format!("client {client}: {e}")))?;
        let _ = events.send(Event::Synced);
    }
    // Count the newlines, whatever the relay's chunks look like. The reader
    // does not wait in read(): it takes whatever has arrived, then sleeps a
    // millisecond. A blocking reader would wake once per write the server
    // makes, and a hundred of them waking cost the two cores more than the
    // server does, so the client, not the server, would set the pace. This
    // way each wake-up takes a millisecond's worth of lines, and the figure
    // is late by at most that millisecond.
    reader.get_ref().set_nonblocking(true)?;
    let mut count = 0;
    let mut progress = Instant::now();
    while count < expected {
        match reader.fill_buf() {
            Ok([]) => break, // closed: the rest is lost
            Ok(buf) => {
                count += buf.iter().filter(|&&byte| byte == b'\n').count() as u64;
                let n = buf.len();
                reader.consume(n);
                progress = Instant::now();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && progress.elapsed() < PATIENCE => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(_) => break, // failed, or silent for PATIENCE: the rest is lost
        }
    }
    Ok((count, Instant::now()))
}

/// What one `conns` run measured.
pub struct Conns {
    /// From the first connect until the server had every client in its room.
    pub connect_all: Duration,
    /// From sending one line until the last of the others had it.
    pub broadcast: Duration,
    /// The server's resident memory growth per connection, in bytes, if the
    /// server is ours to read.
    pub bytes_per_conn: Option<u64>,
}

/// How many threads connect the `conns` clients, each connecting its share
/// one after the other: many connects in flight at once, as a client built
/// on epoll would have, which is the burst a listen backlog must absorb.
const CONNECTORS: usize = 100;

/// `clients` chat clients connect (from [`CONNECTORS`] threads at once) and
/// stay; then one line goes to all. `rss` reads the server's resident memory.
pub fn conns(addr: SocketAddr, clients: usize, rss: impl Fn() -> Option<u64>) -> io::Result<Conns> {
    let before = rss();
    let began = Instant::now();
    let (events, heard) = mpsc::channel();
    let mut prober = connect(addr)?;
    let connectors: Vec<_> = (0..CONNECTORS)
        .map(|connector| {
            let events = events.clone();
            spawn(
                move || -> io::Result<Vec<JoinHandle<io::Result<TcpStream>>>> {
                    let mut readers = Vec::new();
                    for _ in (connector..clients - 1).step_by(CONNECTORS) {
                        let stream = connect(addr)?;
                        let events = events.clone();
                        readers.push(spawn(move || wait_for_go(stream, events))?);
                    }
                    Ok(readers)
                },
            )
        })
        .collect::<io::Result<_>>()?;
    let mut readers = Vec::new();
    for connector in connectors {
        readers.extend(join(connector)?);
    }
    everyone_joined(&mut prober, clients - 1, &heard)?;
    let connect_all = began.elapsed();
    let after = rss();

    let sent = Instant::now();
    prober.write_all(b"go\n")?;
    let got = wait_for(&heard, clients - 1, |event| matches!(event, Event::Go(_)))?;
    let last = got
        .iter()
        .filter_map(|event| match event {
            Event::Go(at) => Some(*at),
            _ => None,
        })
        .max()
        .unwrap_or(sent);
    // Every client stays connected until all have the line, then they all
    // leave: a client that closed as soon as it heard `go` would have the
    // server handle its close while the line is still going out to others,
    // and the figure would measure the closes as well as the broadcast.
    let mut open = Vec::with_capacity(readers.len());
    for reader in readers {
        open.push(join(reader)?);
    }
    drop(open);
    Ok(Conns {
        connect_all,
        broadcast: last - sent,
        bytes_per_conn: before
            .zip(after)
            .map(|(before, after)| after.saturating_sub(before) / clients as u64),
    })
}

/// A `conns` reader: reports its first line, then the moment `go` arrives,
/// and returns its connection, still open.
fn wait_for_go(stream: TcpStream, events: Sender<Event>) -> io::Result<TcpStream> {
    let mut reader = BufReader::new(stream);
    read_until_line(&mut reader, "go\n", &events)?;
    let _ = events.send(Event::Go(Instant::now()));
    Ok(reader.into_inner())
}

/// Reads lines until `last`, reporting `Joined` with the first line of any
/// kind: the room relayed something to this client, so it is in the room.
fn read_until_line(
    reader: &mut BufReader<TcpStream>,
    last: &str,
    events: &Sender<Event>,
) -> io::Result<()> {
    let mut line = String::new();
    let mut joined = false;
    while line != last {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed",
            ));
        }
        if !joined {
            joined = true;
            let _ = events.send(Event::Joined);
        }
    }
    Ok(())
}

/// What one `abuse` run measured.
pub struct Abuse {
    /// Every ping's time from the pinger to the receiver, sorted.
    pub latencies: Vec<Duration>,
    /// Pings sent that never arrived.
    pub lost: u64,
    /// Never-reading clients the abuser connected.
    pub stuck: u64,
}

/// How often the pinger sends, and how often the abuser starts over.
const PING_EVERY: Duration = Duration::from_millis(50);
const ABUSE_EVERY: Duration = Duration::from_secs(2);
/// What the abuser floods the room with, each time: more than the kernel's
/// buffers hold for a client that never reads.
const FLOOD: usize = 8 * 1024 * 1024;

/// For `seconds`, an abuser connects a client that never reads, floods the
/// room with 8 MB of lines from a second connection, and starts over every
/// two seconds with a new never-reading client. Meanwhile a pinger sends a
/// timestamped line every 50 ms, and a receiver, reading all the room sends
/// it, times each one.
pub fn abuse(addr: SocketAddr, seconds: usize) -> io::Result<Abuse> {
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds as u64);
    let (events, heard) = mpsc::channel();
    let mut pinger = connect(addr)?;
    let discarding = spawn({
        let pinger = pinger.try_clone()?;
        move || discard(pinger)
    })?;
    let receiver = connect(addr)?;
    let receiving = spawn(move || receive_pings(receiver, start, events))?;
    everyone_joined(&mut pinger, 1, &heard)?;

    let abusing = spawn(move || -> io::Result<u64> {
        let flooder = connect(addr)?;
        let flooder_reads = spawn({
            let flooder = flooder.try_clone()?;
            move || discard(flooder)
        })?;
        let mut flooder = flooder;
        let line = format!("{}\n", "f".repeat(999));
        let mut stuck = 0;
        while Instant::now() < end {
            let cycle = Instant::now();
            let never_reads = connect(addr)?;
            stuck += 1;
            for _ in 0..FLOOD / line.len() {
                flooder.write_all(line.as_bytes())?;
            }
            if let Some(rest) = (cycle + ABUSE_EVERY).checked_duration_since(Instant::now()) {
                thread::sleep(rest); // the abuser's pace
            }
            drop(never_reads);
        }
        flooder.shutdown(std::net::Shutdown::Both)?;
        join(flooder_reads)?;
        Ok(stuck)
    })?;

    let mut sent = 0;
    while Instant::now() < end {
        let at = start.elapsed().as_micros();
        pinger
            .write_all(format!("ping {sent} {at}\n").as_bytes())
            .map_err(who("the pinger"))?;
        sent += 1;
        thread::sleep(PING_EVERY); // the pinger's pace
    }
    pinger.write_all(b"done\n").map_err(who("the pinger"))?;
    let stuck = join(abusing).map_err(who("the abuser"))?;
    let mut latencies = join(receiving).map_err(who("the receiver"))?;
    pinger.shutdown(std::net::Shutdown::Both)?;
    join(discarding)?;
    latencies.sort();
    Ok(Abuse {
        lost: sent - latencies.len() as u64,
        latencies,
        stuck,
    })
}

/// Puts `client`'s name in front of an error.
fn who(client: &'static str) -> impl Fn(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{client}: {e}"))
}

/// Reads and throws away everything until the connection ends.
fn discard(mut stream: TcpStream) -> io::Result<()> {
    io::copy(&mut stream, &mut io::sink())?;
    Ok(())
}

/// The abuse receiver: reports `Joined` with its first line, then times
/// every `ping SEQ MICROS` line until `done`; everything else (the flood)
/// it reads and ignores.
fn receive_pings(
    stream: TcpStream,
    start: Instant,
    events: Sender<Event>,
) -> io::Result<Vec<Duration>> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut latencies = Vec::new();
    let mut joined = false;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the receiver was disconnected",
            ));
        }
        let now = start.elapsed();
        if !joined {
            joined = true;
            let _ = events.send(Event::Joined);
        }
        if line == b"done\n" {
            return Ok(latencies);
        }
        if let Some(ping) = line.strip_prefix(b"ping ") {
            let sent_at = String::from_utf8_lossy(ping)
                .split_whitespace()
                .nth(1)
                .and_then(|micros| micros.parse().ok())
                .map(Duration::from_micros)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a bad ping"))?;
            latencies.push(now.saturating_sub(sent_at));
        }
    }
}

/// What one `stall` run measured.
pub struct Stall {
    /// The listener's longest wait between two reads.
    pub longest_gap: Duration,
    /// From the first line sent to the last line heard.
    pub elapsed: Duration,
}

/// How many 1,000-byte lines the `stall` talker sends: 10 MB.
const STALL_LINES: usize = 10_000;

/// Three clients in the chat room: one that reads `slow_chunk` bytes a
/// second (0: never), a talker that sends 10 MB in 1,000-byte lines, and a
/// listener that reads them all and times the gaps between its reads.
pub fn stall(addr: SocketAddr, slow_chunk: usize) -> io::Result<Stall> {
    let (events, heard) = mpsc::channel();
    let slow = connect(addr)?;
    let mut talker = connect(addr)?;
    let listener = connect(addr)?;
    let listening = spawn(move || count_gaps(listener, events))?;
    everyone_joined(&mut talker, 1, &heard)?;
    let slow_reading = (slow_chunk > 0)
        .then(|| {
            let mut slow = slow.try_clone()?;
            spawn(move || {
                let mut buf = vec![0; slow_chunk];
                while let Ok(1..) = slow.read(&mut buf) {
                    thread::sleep(Duration::from_secs(1)); // its pace
                }
            })
        })
        .transpose()?;
    talker.write_all(b"start\n")?;
    let line = format!("{}\n", "x".repeat(999));
    for _ in 0..STALL_LINES {
        talker.write_all(line.as_bytes())?;
    }
    let stall = join(listening)?;
    slow.shutdown(std::net::Shutdown::Both)?;
    if let Some(reading) = slow_reading {
        let _ = reading.join();
    }
    Ok(stall)
}

/// The `stall` listener: reports `Joined` with its first line, then from
/// `start` on counts lines and times the gaps between reads, until it has
/// heard every line.
fn count_gaps(stream: TcpStream, events: Sender<Event>) -> io::Result<Stall> {
    let mut reader = BufReader::new(stream);
    read_until_line(&mut reader, "start\n", &events)?;
    let began = Instant::now();
    let mut last = began;
    let mut longest_gap = Duration::ZERO;
    let mut lines = 0;
    while lines < STALL_LINES {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the listener was disconnected",
            ));
        }
        let now = Instant::now();
        longest_gap = longest_gap.max(now - last);
        last = now;
        lines += buf.iter().filter(|&&byte| byte == b'\n').count();
        let n = buf.len();
        reader.consume(n);
    }
    Ok(Stall {
        longest_gap,
        elapsed: last - began,
    })
}

/// What one `udp` run measured.
pub struct Blast {
    /// How many datagrams were sent.
    pub sent: u64,
    /// How long sending them took.
    pub elapsed: Duration,
}

/// `senders` threads send `datagrams` datagrams of `hello world` between
/// them, as fast as they can.
pub fn udp(addr: SocketAddr, senders: usize, datagrams: usize) -> io::Result<Blast> {
    let start = Arc::new(Barrier::new(senders + 1));
    let threads: Vec<_> = (0..senders)
        .map(|sender| {
            let start = Arc::clone(&start);
            spawn(move || -> io::Result<((Instant, Instant), u64)> {
                let socket = UdpSocket::bind("127.0.0.1:0");
                start.wait();
                let socket = socket?;
                let began = Instant::now();
                let mut sent = 0;
                for _ in (sender..datagrams).step_by(senders) {
                    socket.send_to(b"hello world", addr)?;
                    sent += 1;
                }
                Ok(((began, Instant::now()), sent))
            })
        })
        .collect::<io::Result<_>>()?;
    start.wait();
    let mut span = Span::default();
    let mut sent = 0;
    for thread in threads {
        let ((began, ended), its) = join(thread)?;
        span.cover(began, ended);
        sent += its;
    }
    Ok(Blast {
        sent,
        elapsed: span.duration(),
    })
}

/// When a run took place: from the first client's first moment to the last
/// client's last. Each client thread times itself, because the thread that
/// released them all may be the last to run again: its own clock would miss
/// the start.
#[derive(Default)]
struct Span {
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Span {
    /// Stretches the span to cover `from..to`.
    fn cover(&mut self, from: Instant, to: Instant) {
        self.first = Some(self.first.map_or(from, |first| first.min(from)));
        self.last = Some(self.last.map_or(to, |last| last.max(to)));
    }

    fn duration(&self) -> Duration {
        match (self.first, self.last) {
            (Some(first), Some(last)) => last - first,
            _ => Duration::ZERO,
        }
    }
}

/// A client thread's result; a panic in it is a bug in the benchmark.
pub fn join<T>(thread: JoinHandle<io::Result<T>>) -> io::Result<T> {
    thread
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("a client thread panicked")))
}
