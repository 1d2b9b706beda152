//! The chat room's own scenarios: what its rules promise (the acceptance of
//! the room's design, issue 21), measured against netcourse's chat server
//! alone. Each starts its servers itself, with the limits it needs, and
//! prints its own table.
//!
//! - `pacing`: no client waits for another. A talker sends 10 MB while a
//!   listener reads as fast as it can and a pinger says something every
//!   50 ms, first alone, then with three attackers in the room: a reader
//!   taking 64 KiB every 20 ms, one taking a byte every 90 ms, and one that
//!   never reads. The listener's rate and longest gap, the pings' latency,
//!   and when each attacker was evicted.
//! - `flood`: a sender writes 10 MB as fast as it can to a reader that
//!   reads as fast as it can, and to one that pauses a millisecond after
//!   each read, with flood control on (the default rate) and off: the
//!   sender's rate, and what the reader got.
//! - `memory`: K clients that never read (K = 10, 50, 200) while a sender
//!   writes 1- and 2-byte lines, one per write, with flood control on and
//!   off: the server's memory growth against K × cap × 1.25 + 16 MiB. Then
//!   50 clients that read 8 KB every 2 s under the same lines, and the
//!   server's CPU while only a pinger talks; then 200 clients evicted at
//!   once, and the pinger's latency at that moment.
//! - `notice`: 40 times, a client that reads 16 KB every 2 to 5 ms while
//!   60 KB lines flow sends a line that is too long: does the notice come
//!   whole, after whole lines, then FIN?

use crate::clients::{connect, join, spawn};
use crate::servers::unix_micros;
use crate::Running;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The talker's lines: 1,000 bytes, `\n` included.
const LINE: usize = 1000;

/// Line `seq` of a talker: its number, then filler.
fn numbered(seq: usize) -> Vec<u8> {
    let mut line = format!("{seq:08} ").into_bytes();
    line.resize(LINE - 1, b'x');
    line.push(b'\n');
    line
}

/// Reads and throws away everything until the connection ends.
fn discard(stream: &TcpStream) -> io::Result<thread::JoinHandle<()>> {
    let mut stream = stream.try_clone()?;
    spawn(move || {
        let _ = io::copy(&mut stream, &mut io::sink());
    })
}

/// A chat server started for one scenario, with `flags` for its room (and
/// `--report-closes`: it prints each connection's close).
fn chat_server(flags: &[&str]) -> io::Result<Running> {
    let mut args = vec!["--serve", "chat-netcourse", "--report-closes"];
    args.extend_from_slice(flags);
    Running::spawn(std::process::Command::new(std::env::current_exe()?).args(args))
}

/// When the server closed each connection: its `closed ADDR MICROS` lines
/// so far, by address, in microseconds of the wall clock.
fn closes(server: &Running, seen: &mut HashMap<SocketAddr, u128>) {
    let Some(stdout) = &server.stdout else {
        return;
    };
    while let Ok(line) = stdout.try_recv() {
        let mut words = line.split_whitespace();
        if words.next() != Some("closed") {
            continue;
        }
        if let (Some(addr), Some(at)) = (words.next(), words.next()) {
            if let (Ok(addr), Ok(at)) = (addr.parse(), at.parse()) {
                seen.insert(addr, at);
            }
        }
    }
}

/// Waits until the server has closed `n` more connections, or `patience`
/// has passed; returns how many it closed.
fn wait_closes(
    server: &Running,
    seen: &mut HashMap<SocketAddr, u128>,
    n: usize,
    patience: Duration,
) -> usize {
    let before = seen.len();
    let deadline = Instant::now() + patience;
    while seen.len() < before + n && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
        closes(server, seen);
    }
    seen.len() - before
}

/// Sends `probe` lines from `prober` until `heard` says a reader got one:
/// then every client connected before it is in the room (the server
/// accepts in order; a pause lets the last joins finish).
fn settle(prober: &mut TcpStream, heard: &mpsc::Receiver<()>) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        prober.write_all(b"probe\n")?;
        if heard.recv_timeout(Duration::from_millis(20)).is_ok() {
            thread::sleep(Duration::from_millis(200));
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "nobody joined"));
        }
    }
}

/// A percentile of sorted `values`, in ms.
fn percentile(values: &[Duration], p: usize) -> f64 {
    values
        .get(values.len().saturating_sub(1) * p / 100)
        .map_or(f64::NAN, |value| value.as_secs_f64() * 1e3)
}

/// A median, and the spread around it.
fn median(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    match values {
        [] => (f64::NAN, f64::NAN, f64::NAN),
        _ => (
            values[values.len() / 2],
            values[0],
            values[values.len() - 1],
        ),
    }
}

fn show((median, low, high): (f64, f64, f64)) -> String {
    format!("{median:.2} ({low:.2}-{high:.2})")
}

// ---------------------------------------------------------------- pacing

/// What one `pacing` run measured.
struct Pacing {
    /// The listener's rate over the talker's 10 MB, MB/s.
    rate: f64,
    /// The listener's longest wait between two reads.
    gap: Duration,
    /// The pings' latencies, sorted.
    pings: Vec<Duration>,
    /// Pings sent that never arrived.
    lost: usize,
    /// For each attacker, when it was evicted, counted from the talker's
    /// first line; `None` if it stayed.
    evicted: Vec<Option<Duration>>,
}

/// What the `pacing` listener heard: how long the talker's lines took, its
/// longest gap, and each ping (when it was sent, its latency).
type Heard = (Duration, Duration, Vec<(u64, Duration)>);

/// The attackers of `pacing`: (name, bytes per read, pause after each);
/// 0 bytes: never reads.
const ATTACKERS: [(&str, usize, Duration); 3] = [
    ("reads 64 KiB / 20 ms", 64 * 1024, Duration::from_millis(20)),
    ("reads 1 B / 90 ms", 1, Duration::from_millis(90)),
    ("never reads", 0, Duration::ZERO),
];

fn pacing_run(attackers: bool) -> io::Result<Pacing> {
    const LINES: usize = 10_000; // 10 MB
    let server = chat_server(&[])?;
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));

    // The attackers first, so that they are in the room before the rest.
    let mut attacking = Vec::new();
    for (_, chunk, pause) in ATTACKERS.iter().filter(|_| attackers) {
        let mut stream = connect(addr)?;
        let (chunk, pause, stop) = (*chunk, *pause, Arc::clone(&stop));
        let local = stream.local_addr()?;
        let reading = spawn(move || {
            let mut buf = vec![0; chunk.max(1)];
            while chunk > 0 && !stop.load(Ordering::Relaxed) {
                match stream.read(&mut buf) {
                    Ok(1..) => thread::sleep(pause),
                    _ => return,
                }
            }
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(10)); // never reads
            }
        })?;
        attacking.push((local, reading));
    }
    let mut talker = connect(addr)?;
    let talker_reads = discard(&talker)?;
    let mut pinger = connect(addr)?;
    let pinger_reads = discard(&pinger)?;
    let listener = connect(addr)?;

    // The listener: times pings, counts the talker's lines, times the
    // gaps between its reads once the talker has started.
    let (joined, heard) = mpsc::channel();
    let start = Instant::now();
    let listening = spawn(move || -> io::Result<Heard> {
        let mut reader = BufReader::with_capacity(64 * 1024, listener);
        let mut line = Vec::new();
        let (mut first, mut last, mut gap) = (None::<Instant>, None::<Instant>, Duration::ZERO);
        let mut pings = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Err(io::Error::other("the listener was evicted"));
            }
            let now = Instant::now();
            if line == b"probe\n" {
                let _ = joined.send(());
            } else if line == b"done\n" {
                let first = first.unwrap_or(now);
                return Ok((now - first, gap, pings));
            } else if let Some(ping) = line.strip_prefix(b"ping ") {
                let micros: u64 = String::from_utf8_lossy(ping)
                    .trim()
                    .parse()
                    .map_err(|_| io::Error::other("a bad ping"))?;
                let latency = now
                    .duration_since(start)
                    .saturating_sub(Duration::from_micros(micros));
                pings.push((micros, latency));
            } else {
                first.get_or_insert(now);
                if let Some(last) = last {
                    gap = gap.max(now - last);
                }
                last = Some(now);
            }
        }
    })?;
    settle(&mut talker, &heard)?;

    // The pinger: a line every 50 ms until the listener is done; it keeps
    // the time of each.
    let pinging = {
        let stop = Arc::clone(&stop);
        spawn(move || -> io::Result<Vec<u64>> {
            let mut sent = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let at = start.elapsed().as_micros() as u64;
                pinger.write_all(format!("ping {at}\n").as_bytes())?;
                sent.push(at);
                thread::sleep(Duration::from_millis(50));
            }
            pinger.shutdown(Shutdown::Both)?;
            Ok(sent)
        })?
    };
    let began = unix_micros();
    for seq in 0..LINES {
        talker.write_all(&numbered(seq))?;
    }
    let done = start.elapsed().as_micros() as u64;
    talker.write_all(b"done\n")?;
    let (took, gap, heard) = join(listening)?;
    // Who was evicted while the talker talked (before the attackers stop).
    let mut seen = HashMap::new();
    closes(&server, &mut seen);
    stop.store(true, Ordering::Relaxed);
    let sent = join(pinging)?;
    // Lost: a ping sent before the talker's `done` (by more than a
    // second's grace) that the listener never heard.
    let lost = sent
        .iter()
        .filter(|&&at| at + 1_000_000 < done && !heard.iter().any(|(sent, _)| *sent == at))
        .count();
    let mut pings: Vec<Duration> = heard.into_iter().map(|(_, latency)| latency).collect();
    pings.sort();

    let evicted = attacking
        .iter()
        .map(|(local, _)| {
            seen.get(local)
                .map(|at| Duration::from_micros(at.saturating_sub(began) as u64))
        })
        .collect();
    talker.shutdown(Shutdown::Both)?;
    let _ = talker_reads.join();
    let _ = pinger_reads.join();
    for (_, reading) in attacking {
        let _ = reading.join();
    }
    Ok(Pacing {
        rate: (LINES * LINE) as f64 / took.as_secs_f64() / 1e6,
        gap,
        pings,
        lost,
        evicted,
    })
}

/// `pacing`: `runs` runs alternating without and with the attackers.
pub fn pacing(runs: usize) -> io::Result<()> {
    println!("\npacing: a talker sends 10 MB, a listener reads, a ping every 50 ms; alone, then with 3 attackers");
    let mut alone = Vec::new();
    let mut attacked = Vec::new();
    for _ in 0..runs {
        alone.push(pacing_run(false)?);
        attacked.push(pacing_run(true)?);
    }
    println!(
        "  {:<16}{:>24}{:>24}{:>24}{:>24}{:>8}",
        "", "listener MB/s", "longest gap ms", "ping p99 ms", "ping max ms", "lost"
    );
    for (name, results) in [("alone", &alone), ("3 attackers", &attacked)] {
        let figure = |f: &dyn Fn(&Pacing) -> f64| {
            show(median(&mut results.iter().map(f).collect::<Vec<_>>()))
        };
        println!(
            "  {:<16}{:>24}{:>24}{:>24}{:>24}{:>8}",
            name,
            figure(&|run| run.rate),
            figure(&|run| run.gap.as_secs_f64() * 1e3),
            figure(&|run| percentile(&run.pings, 99)),
            figure(&|run| percentile(&run.pings, 100)),
            results.iter().map(|run| run.lost).sum::<usize>(),
        );
    }
    let ratio: Vec<String> = alone
        .iter()
        .zip(&attacked)
        .map(|(alone, attacked)| format!("{:.2}", attacked.rate / alone.rate))
        .collect();
    println!(
        "  listener's rate with the attackers / alone, each run: {}",
        ratio.join(", ")
    );
    for (at, (name, ..)) in ATTACKERS.iter().enumerate() {
        let went: Vec<String> = attacked
            .iter()
            .map(|run| match run.evicted[at] {
                Some(after) => format!("{:.2} s", after.as_secs_f64()),
                None => "stayed".to_string(),
            })
            .collect();
        println!(
            "  the attacker that {name}: evicted after {}",
            went.join(", ")
        );
    }
    Ok(())
}

// ----------------------------------------------------------------- flood

/// What one `flood` run measured.
struct Flood {
    /// The sender's rate through the room, MB/s: 10 MB over the time from
    /// its first line to the reader's last.
    rate: f64,
    /// Lines the reader got, whole and in order.
    heard: usize,
    /// When the reader was evicted, if it was, from the first line.
    evicted: Option<Duration>,
}

/// A stream that pauses after each read, if it has a pause: a slower
/// reader's pace.
struct Paced {
    stream: TcpStream,
    pause: Option<Duration>,
}

impl Read for Paced {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        if let Some(pause) = self.pause {
            thread::sleep(pause);
        }
        Ok(n)
    }
}

/// One `flood` run of `megabytes`; a reader that pauses `pause` after each
/// read (up to 64 KiB) when given one.
fn flood_run(flags: &[&str], pause: Option<Duration>, megabytes: usize) -> io::Result<Flood> {
    let lines = megabytes * 1000;
    let server = chat_server(flags)?;
    let reader = connect(server.addr)?;
    let mut sender = connect(server.addr)?;
    let sender_reads = discard(&sender)?;
    let (joined, heard) = mpsc::channel();
    let reading = spawn(move || -> io::Result<(usize, Option<Instant>, Instant)> {
        let reader = Paced {
            stream: reader,
            pause,
        };
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        let mut line = Vec::new();
        let mut seq = 0;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).unwrap_or(0);
            let now = Instant::now();
            if n == 0 || !line.ends_with(b"\n") {
                // Evicted: the connection ended, perhaps inside a line.
                return Ok((seq, Some(now), now));
            }
            if line == b"probe\n" {
                let _ = joined.send(());
            } else if line == b"done\n" {
                return Ok((seq, None, now));
            } else if line == numbered(seq) {
                seq += 1;
            } else {
                return Err(io::Error::other(format!(
                    "line {seq} cut or out of order: {} bytes, {:?}...",
                    line.len(),
                    String::from_utf8_lossy(&line[..line.len().min(24)])
                )));
            }
        }
    })?;
    settle(&mut sender, &heard)?;
    let began = Instant::now();
    let mut sent = 0;
    for seq in 0..lines {
        if sender.write_all(&numbered(seq)).is_err() {
            break;
        }
        sent += 1;
    }
    let _ = sender.write_all(b"done\n");
    let (heard, evicted, last) = join(reading)?;
    sender.shutdown(Shutdown::Both)?;
    let _ = sender_reads.join();
    Ok(Flood {
        rate: (sent * LINE) as f64 / (last - began).as_secs_f64() / 1e6,
        heard,
        evicted: evicted.map(|at| at - began),
    })
}

/// `flood`: the same 10 MB with flood control at its default, and off, to
/// a reader as fast as this one, and to one that pauses a millisecond after
/// each read (at most 64 KiB a millisecond: a reader in a slower language).
pub fn flood(runs: usize) -> io::Result<()> {
    println!(
        "\nflood: a sender writes 10 MB of 1,000-byte lines as fast as it can; a reader reads"
    );
    let slow = Some(Duration::from_millis(1));
    let off: &[&str] = &["--flood-rate", "off"];
    let settings: [(&str, &[&str], Option<Duration>, usize); 4] = [
        ("1 MiB/s (default)", &[], None, 10),
        ("off", off, None, 10),
        ("1 MiB/s, slow reader", &[], slow, 10),
        ("off, slow reader", off, slow, 10),
    ];
    let mut results: Vec<Vec<Flood>> = settings.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (at, (name, flags, pause, megabytes)) in settings.iter().enumerate() {
            let run = flood_run(flags, *pause, *megabytes);
            let run = run.map_err(|e| io::Error::other(format!("{name}: {e}")))?;
            results[at].push(run);
        }
    }
    println!(
        "  {:<24}{:>26}{:>22}   reader evicted after",
        "flood control", "sender MB/s (spread)", "lines heard, median"
    );
    for ((name, ..), runs) in settings.iter().zip(&results) {
        let rate = show(median(
            &mut runs.iter().map(|run| run.rate).collect::<Vec<_>>(),
        ));
        let heard = median(&mut runs.iter().map(|run| run.heard as f64).collect::<Vec<_>>()).0;
        let evicted: Vec<String> = runs
            .iter()
            .map(|run| match run.evicted {
                Some(after) => format!("{:.0} ms", after.as_secs_f64() * 1e3),
                None => "-".into(),
            })
            .collect();
        println!(
            "  {name:<24}{rate:>26}{heard:>22.0}   {}",
            evicted.join(", ")
        );
    }
    println!(
        "  (1 MiB/s is {:.2} MB/s; the slow reader pauses 1 ms after each read)",
        1024.0 * 1024.0 / 1e6
    );
    Ok(())
}

// ---------------------------------------------------------------- memory

/// A process's memory from `/proc/PID/status`, in bytes: `VmRSS` now or
/// `VmHWM`, its peak.
fn memory(server: &Running, field: &str) -> Option<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.child.as_ref()?.id())).ok()?;
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    Some(
        kb.trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()?
            * 1024,
    )
}

/// Sends `line` (one write each) from `sender` until `stop`; returns how
/// many it sent.
fn send_lines(
    mut sender: TcpStream,
    line: &'static [u8],
    stop: Arc<AtomicBool>,
) -> io::Result<thread::JoinHandle<u64>> {
    spawn(move || {
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) {
            if sender.write_all(line).is_err() {
                break;
            }
            sent += 1;
        }
        sent
    })
}

/// One memory row: K clients that never read, `line` from a sender until
/// all K are evicted (or a minute has passed). Returns (growth in bytes,
/// evicted, seconds it took, lines sent).
fn never_readers(
    k: usize,
    line: &'static [u8],
    flags: &[&str],
) -> io::Result<(u64, usize, f64, u64)> {
    let server = chat_server(flags)?;
    let mut seen = HashMap::new();
    let sender = connect(server.addr)?;
    let stuck: Vec<TcpStream> = (0..k)
        .map(|_| connect(server.addr))
        .collect::<io::Result<_>>()?;
    thread::sleep(Duration::from_millis(300)); // every join done
    let before = memory(&server, "VmRSS").unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let began = Instant::now();
    let sending = send_lines(sender.try_clone()?, line, Arc::clone(&stop))?;
    let evicted = wait_closes(&server, &mut seen, k, Duration::from_secs(60));
    let took = began.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    sender.shutdown(Shutdown::Both)?;
    let sent = sending.join().unwrap_or(0);
    let peak = memory(&server, "VmHWM").unwrap_or(0);
    drop(stuck);
    Ok((peak.saturating_sub(before), evicted, took, sent))
}

/// The server's CPU time so far (`utime` + `stime`, 10 ms ticks).
fn cpu(server: &Running) -> Option<Duration> {
    let stat =
        std::fs::read_to_string(format!("/proc/{}/stat", server.child.as_ref()?.id())).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// A pinger and its receiver for `seconds`: the latencies, sorted, and
/// the wall-clock microseconds at which each ping was sent.
fn ping_for(addr: SocketAddr, seconds: f64) -> io::Result<(Vec<(u128, Duration)>, usize)> {
    let mut pinger = connect(addr)?;
    let pinger_reads = discard(&pinger)?;
    let receiver = connect(addr)?;
    let (joined, heard) = mpsc::channel();
    let start = Instant::now();
    let receiving = spawn(move || -> io::Result<Vec<(u128, Duration)>> {
        let mut reader = BufReader::with_capacity(64 * 1024, receiver);
        let mut line = Vec::new();
        let mut pings = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Err(io::Error::other("the ping receiver was evicted"));
            }
            if line == b"probe\n" {
                let _ = joined.send(());
            } else if line == b"done\n" {
                return Ok(pings);
            } else if let Some(ping) = line.strip_prefix(b"ping ") {
                let text = String::from_utf8_lossy(ping);
                let mut words = text.split_whitespace();
                let micros: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let wall: u128 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                pings.push((
                    wall,
                    start
                        .elapsed()
                        .saturating_sub(Duration::from_micros(micros)),
                ));
            }
        }
    })?;
    settle(&mut pinger, &heard)?;
    let mut sent = 0;
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < until {
        let at = start.elapsed().as_micros();
        pinger.write_all(format!("ping {at} {}\n", unix_micros()).as_bytes())?;
        sent += 1;
        thread::sleep(Duration::from_millis(50));
    }
    pinger.write_all(b"done\n")?;
    let pings = join(receiving)?;
    pinger.shutdown(Shutdown::Both)?;
    let _ = pinger_reads.join();
    let lost = sent - pings.len();
    Ok((pings, lost))
}

/// `memory`: the never-reading rows, the trickling readers' CPU, and 200
/// evicted at once.
pub fn memory_scenario(quick: bool) -> io::Result<()> {
    const CAP: u64 = netcourse::chat::DEFAULT_MAX_SENDQ as u64;
    let ks: &[usize] = if quick { &[10] } else { &[10, 50, 200] };
    println!("\nmemory: K clients that never read, a sender of 1- or 2-byte lines (one write each) until all K are evicted");
    println!(
        "  {:<14}{:>6}{:>6}{:>14}{:>14}{:>12}{:>10}{:>14}",
        "flood control", "line", "K", "grew MB", "bound MB", "MB/client", "evicted", "took s"
    );
    for (flood, flags) in [("1 MiB/s", &[][..]), ("off", &["--flood-rate", "off"][..])] {
        for line in [&b"\n"[..], b"a\n"] {
            for &k in ks {
                let (grew, evicted, took, _) = never_readers(k, line, flags)?;
                let bound = k as u64 * CAP * 5 / 4 + 16 * 1024 * 1024;
                println!(
                    "  {:<14}{:>6}{:>6}{:>14.1}{:>14.1}{:>12.2}{:>10}{:>14.1}",
                    flood,
                    line.len(),
                    k,
                    grew as f64 / 1e6,
                    bound as f64 / 1e6,
                    grew as f64 / 1e6 / k as f64,
                    evicted,
                    took
                );
            }
        }
    }

    // 50 clients that read 8 KB every 2 s: the flood stops before their
    // SendQs pass the cap (3 MB: less than their kernel buffers and a
    // cap hold), so they stay with lines queued; then only a pinger talks.
    println!("\ncpu: 50 clients reading 8 KB every 2 s, 1.5 million 2-byte lines (flood control off), then only a pinger for 10 s");
    let server = chat_server(&["--flood-rate", "off"])?;
    let mut seen = HashMap::new();
    let stop = Arc::new(AtomicBool::new(false));
    let before = memory(&server, "VmRSS").unwrap_or(0);
    let mut trickling = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..50 {
        let mut stream = connect(server.addr)?;
        readers.push(stream.local_addr()?);
        let stop = Arc::clone(&stop);
        trickling.push(spawn(move || {
            let mut buf = vec![0; 8 * 1024];
            while !stop.load(Ordering::Relaxed) {
                if !matches!(stream.read(&mut buf), Ok(1..)) {
                    return;
                }
                for _ in 0..20 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    thread::sleep(Duration::from_millis(100));
                }
            }
        })?);
    }
    thread::sleep(Duration::from_millis(300));
    let mut sender = connect(server.addr)?;
    let mut lines = 0;
    while lines < 1_500_000 && sender.write_all(b"a\n").is_ok() {
        lines += 1;
    }
    thread::sleep(Duration::from_secs(1)); // the relay catches up
    let held = memory(&server, "VmRSS").unwrap_or(0).saturating_sub(before);
    // The server's threads: its own few, one per connection, and a writer
    // for each member with lines still queued.
    let threads = memory(&server, "Threads").unwrap_or(0) / 1024;
    let cpu_before = cpu(&server);
    let (pings, lost) = ping_for(server.addr, 10.0)?;
    let cpu_after = cpu(&server);
    closes(&server, &mut seen);
    let cores = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => (after - before).as_secs_f64() / 10.0,
        _ => f64::NAN,
    };
    let mut latencies: Vec<Duration> = pings.iter().map(|(_, latency)| *latency).collect();
    latencies.sort();
    println!(
        "  {lines} lines sent; {} of 50 evicted; the server holds {:.1} MB more, in {threads} threads (51 connections); while only the pinger talks: {cores:.3} cores, ping p99 {:.2} ms, lost {lost}",
        readers.iter().filter(|addr| seen.contains_key(addr)).count(),
        held as f64 / 1e6,
        percentile(&latencies, 99)
    );
    stop.store(true, Ordering::Relaxed);
    sender.shutdown(Shutdown::Both)?;
    drop(server);
    for reader in trickling {
        let _ = reader.join();
    }

    // 200 clients that never read, evicted by the same line: the SendQ
    // cap alone (the room's total set out of the way), with flood control
    // on and off.
    if !quick {
        println!("\nevict 200: 200 clients that never read, 2-byte lines until the same line evicts them all; a ping every 50 ms");
        for (title, flags) in [
            ("flood control on", &[][..]),
            ("flood control off", &["--flood-rate", "off"][..]),
        ] {
            print!("  {title:<18}");
            evict_at_once(200, flags)?;
        }
    }
    Ok(())
}

/// `k` never-reading clients evicted at once, a pinger throughout; the
/// chat server started with `flags` besides a room total that never evicts.
fn evict_at_once(k: usize, flags: &[&str]) -> io::Result<()> {
    let mut flags = flags.to_vec();
    flags.extend(["--max-room-sendq", "1000000000000"]);
    let server = chat_server(&flags)?;
    let mut seen = HashMap::new();
    let stuck: Vec<TcpStream> = (0..k)
        .map(|_| connect(server.addr))
        .collect::<io::Result<_>>()?;
    thread::sleep(Duration::from_millis(300));
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let sender = connect(addr)?;
    let pinging = spawn(move || ping_for(addr, 25.0))?;
    thread::sleep(Duration::from_secs(1));
    let sending = send_lines(sender.try_clone()?, b"a\n", Arc::clone(&stop))?;
    let evicted = wait_closes(&server, &mut seen, k, Duration::from_secs(22));
    stop.store(true, Ordering::Relaxed);
    sender.shutdown(Shutdown::Both)?;
    let _ = sending.join();
    let (pings, lost) = join(pinging)?;
    let first = seen.values().min().copied().unwrap_or(0);
    let last = seen.values().max().copied().unwrap_or(0);
    let near: Vec<Duration> = pings
        .iter()
        .filter(|(at, _)| *at + 1_000_000 >= first && *at <= last + 1_000_000)
        .map(|(_, latency)| *latency)
        .collect();
    let all_max = pings
        .iter()
        .map(|(_, latency)| *latency)
        .max()
        .unwrap_or_default();
    println!(
        "{evicted} of {k} evicted within {:.1} ms of each other; ping max {:.1} ms within 1 s of them ({} pings), {:.1} ms over the run, lost {lost}",
        (last - first) as f64 / 1e3,
        near.iter().max().map_or(f64::NAN, |max| max.as_secs_f64() * 1e3),
        near.len(),
        all_max.as_secs_f64() * 1e3,
    );
    drop(stuck);
    Ok(())
}

// ---------------------------------------------------------------- notice

/// One `notice` trial: true if the client got whole lines, then exactly
/// the notice, then FIN.
fn notice_trial(addr: SocketAddr, trial: u64) -> io::Result<bool> {
    const BIG: usize = 60 * 1024;
    let big = |seq: usize| {
        let mut line = format!("{seq:08} ").into_bytes();
        line.resize(BIG - 1, b'z');
        line.push(b'\n');
        line
    };
    let mut told = connect(addr)?;
    let mut talker = connect(addr)?;
    let talker_reads = discard(&talker)?;
    thread::sleep(Duration::from_millis(100));
    let stop = Arc::new(AtomicBool::new(false));
    let talking = {
        let stop = Arc::clone(&stop);
        spawn(move || {
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) && talker.write_all(&big(seq)).is_ok() {
                seq += 1;
            }
            let _ = talker.shutdown(Shutdown::Both);
        })?
    };
    // Reads 16 KB every 2 to 5 ms (a simple generator picks the pause),
    // sends its too-long line after 300 ms, reads on until FIN.
    let mut state = trial * 2_654_435_761 + 1;
    let mut heard = Vec::new();
    let mut buf = vec![0; 16 * 1024];
    let began = Instant::now();
    let mut sent = false;
    loop {
        if !sent && began.elapsed() > Duration::from_millis(300) {
            let mut writer = told.try_clone()?;
            spawn(move || {
                let _ = writer.write_all(&[b'y'; 64 * 1024 + 1]);
            })?;
            sent = true;
        }
        match told.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => heard.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        thread::sleep(Duration::from_micros(2000 + (state >> 33) % 3000));
    }
    stop.store(true, Ordering::Relaxed);
    let _ = talking.join();
    let _ = talker_reads.join();
    let notice = b"error: line longer than 65536 bytes\n";
    let Some(lines) = heard.strip_suffix(notice) else {
        return Ok(false);
    };
    // Whole lines: each is one of a talker's (the talkers of earlier
    // trials may still have lines on their way: flood control reads them
    // at its rate), never two run together or cut.
    Ok(lines.len() % BIG == 0
        && lines.chunks(BIG).all(|line| {
            let seq = String::from_utf8_lossy(&line[..8]).parse::<usize>();
            seq.is_ok_and(|seq| line == big(seq))
        }))
}

/// `notice`: 40 trials.
pub fn notice(trials: u64) -> io::Result<()> {
    println!("\nnotice: {trials} times, a client reading 16 KB every 2-5 ms while 60 KB lines flow sends a line too long");
    let server = chat_server(&[])?;
    let mut good = 0;
    for trial in 0..trials {
        good += notice_trial(server.addr, trial)? as usize;
    }
    println!("  the notice came whole, after whole lines, then FIN: {good} of {trials}");
    Ok(())
}
