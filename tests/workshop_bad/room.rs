//! A chat room for the grader's tests: the workshop's solution, with one
//! of its rules changed by [`Rules`], the way a learner might have written
//! it. Each `ch5_*.rs` program here is this room with one mistake.

use crate::common::{Args, OrExit};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The room's rules, as the learner wrote them.
pub struct Rules {
    /// The longest line it relays (`None`: no limit, the whole line is
    /// kept until its `\n`).
    pub max_line: Option<u64>,
    /// A sender waits for a client whose queue is full, as long as that
    /// client's socket took a byte within this long; past it, it cuts the
    /// client off (`None`: it never waits, it cuts the client off).
    pub wait_for_readers: Option<Duration>,
}

/// The most a client's queue may hold, in bytes, with ENTRY per line.
const SENDQ: usize = 1024 * 1024;
const ENTRY: usize = 64;
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

type Line = Arc<[u8]>;

struct Peer {
    id: usize,
    stream: TcpStream,
    queue: Sender<Line>,
    sendq: Arc<AtomicUsize>,
    /// When its socket last took a byte.
    took: Arc<Mutex<Instant>>,
}

type Room = Arc<Mutex<Vec<Peer>>>;

/// Serves the room with `rules`.
pub fn serve(rules: &'static Rules) {
    let args = Args::parse(8080);
    let listener = TcpListener::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    eprintln!(
        "listening on {}",
        listener.local_addr().or_exit("local address")
    );
    let room = Room::default();
    for (id, socket) in listener.incoming().enumerate() {
        let Ok(socket) = socket else { continue };
        let room = Arc::clone(&room);
        thread::spawn(move || connection(id, socket, room, rules));
    }
}

fn connection(id: usize, socket: TcpStream, room: Room, rules: &Rules) {
    let (Ok(writer), Ok(stream)) = (socket.try_clone(), socket.try_clone()) else {
        return;
    };
    let (queue, lines) = mpsc::channel();
    let sendq = Arc::new(AtomicUsize::new(0));
    let took = Arc::new(Mutex::new(Instant::now()));
    {
        let (sendq, took) = (Arc::clone(&sendq), Arc::clone(&took));
        thread::spawn(move || write_lines(writer, lines, sendq, took));
    }
    lock(&room).push(Peer {
        id,
        stream,
        queue,
        sendq,
        took,
    });
    println!("Got a new connection");
    let mut reader = BufReader::new(socket);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = match rules.max_line {
            Some(max) => reader.by_ref().take(max).read_until(b'\n', &mut line),
            None => reader.read_until(b'\n', &mut line),
        };
        match read {
            Ok(_) if line.ends_with(b"\n") => broadcast(&room, id, &line, rules),
            _ => break,
        }
    }
    lock(&room).retain(|peer| peer.id != id);
    println!("A client connection closed");
}

fn broadcast(room: &Room, from: usize, line: &[u8], rules: &Rules) {
    let line: Line = line.into();
    let cost = line.len() + ENTRY;
    lock(room).retain(|peer| {
        if peer.id == from {
            return true;
        }
        // The mistake of `wait_for_readers`: a full queue is waited for
        // (under the room's lock), as long as its reader keeps reading.
        if let Some(wait) = rules.wait_for_readers {
            while peer.sendq.load(Ordering::Relaxed) + cost > SENDQ
                && peer
                    .took
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .elapsed()
                    < wait
            {
                thread::sleep(Duration::from_millis(1));
            }
        }
        let sendq = peer.sendq.fetch_add(cost, Ordering::Relaxed) + cost;
        let cut_off = sendq > SENDQ || peer.queue.send(Arc::clone(&line)).is_err();
        if cut_off {
            let _ = peer.stream.shutdown(Shutdown::Both);
        }
        !cut_off
    });
}

/// Writes each line in short attempts, noting when the socket took bytes;
/// gives up on a socket that took none for WRITE_TIMEOUT.
fn write_lines(
    stream: TcpStream,
    lines: Receiver<Line>,
    sendq: Arc<AtomicUsize>,
    took: Arc<Mutex<Instant>>,
) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(10)));
    for line in lines {
        let mut at = 0;
        while at < line.len() {
            let since = took
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .elapsed();
            match (&stream).write(&line[at..]) {
                Ok(n) if n > 0 => {
                    at += n;
                    *took.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
                }
                Err(e)
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                        && since < WRITE_TIMEOUT => {}
                _ => {
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
        sendq.fetch_sub(line.len() + ENTRY, Ordering::Relaxed);
    }
}

fn lock(room: &Room) -> MutexGuard<'_, Vec<Peer>> {
    room.lock().unwrap_or_else(PoisonError::into_inner)
}
