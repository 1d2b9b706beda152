//! A solution to the workshop's ch5-chat step: the chat room from an empty
//! file, with `std::net`, threads and an `Arc<Mutex<Vec<...>>>`. Try your
//! own first.
//!
//! The room's rule, as chapter 5 gives it: no client ever waits for
//! another. Five ideas:
//!
//! 1. The room is a list of clients behind `Arc<Mutex<...>>`, shared by
//!    every connection's thread.
//! 2. A client sends lines: the bytes up to `\n`, at most [`MAX_LINE`] of
//!    them, or it is cut off.
//! 3. Each client has a queue of the lines waiting for it, and a writer
//!    thread that empties it into its socket. A sender puts its line in
//!    every other queue, under the room's lock (so everyone gets the lines
//!    in one order), and never waits: the queue takes it at once.
//! 4. The queue is bounded: its *SendQ* counts the bytes it holds, plus
//!    [`ENTRY`] for each line (what a queued line costs beyond its bytes).
//!    A client whose SendQ would pass [`SENDQ`] is not keeping up: it is
//!    cut off. So is one whose socket takes no byte for [`WRITE_TIMEOUT`].
//! 5. A client leaves the list by its id, once, whoever notices first.
//!
//! (The course's room adds flood control: it reads a client that sends
//! too fast more slowly. The grader does not ask for it.)

#[path = "../../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// The longest line the room relays; a longer one cuts its sender off.
const MAX_LINE: u64 = 64 * 1024;

/// The most a client's queue may hold (its SendQ), in bytes.
const SENDQ: usize = 1024 * 1024;

/// What a queued line costs beyond its bytes, as the SendQ counts it.
const ENTRY: usize = 64;

/// How long a client's socket may take no byte before it is cut off.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// One line, shared by every queue it goes to.
type Line = Arc<[u8]>;

/// One client in the room.
struct Peer {
    /// Given by the accept loop, never reused: who is who.
    id: usize,
    /// A clone of the client's stream, to cut it off.
    stream: TcpStream,
    /// Its writer thread's queue. Dropping it (when the peer leaves the
    /// list) ends that thread.
    queue: Sender<Line>,
    /// Its SendQ: the bytes in its queue, plus ENTRY per line.
    sendq: Arc<AtomicUsize>,
}

/// Node's `sockets` array, shared by every connection's thread.
type Room = Arc<Mutex<Vec<Peer>>>;

fn main() {
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
        thread::spawn(move || serve(id, socket, room));
    }
}

/// One client's connection: joins, relays its lines, leaves.
fn serve(id: usize, socket: TcpStream, room: Room) {
    let (Ok(writer), Ok(stream)) = (socket.try_clone(), socket.try_clone()) else {
        return;
    };
    let (queue, lines) = mpsc::channel();
    let sendq = Arc::new(AtomicUsize::new(0));
    {
        let sendq = Arc::clone(&sendq);
        thread::spawn(move || write_lines(writer, lines, sendq));
    }
    // sockets.push(socket)
    lock(&room).push(Peer {
        id,
        stream,
        queue,
        sendq,
    });
    println!("Got a new connection");

    let mut reader = BufReader::new(socket);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bytes up to '\n', but never more than MAX_LINE of them.
        match reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut line) {
            Ok(_) if line.ends_with(b"\n") => broadcast(&room, id, &line),
            // 'end', 'error', a line too long, or a last line without '\n'.
            _ => break,
        }
    }
    // sockets.splice(...): by id, so a client cut off already is not
    // removed twice.
    lock(&room).retain(|peer| peer.id != id);
    println!("A client connection closed");
    // `reader` is dropped here; with the peer gone, so is the writer's clone.
}

/// Puts `line` in every other client's queue, under the lock: one order
/// for everyone. Nobody is waited for: a client whose SendQ the line would
/// take past the cap is cut off instead.
fn broadcast(room: &Room, from: usize, line: &[u8]) {
    let line: Line = line.into();
    let cost = line.len() + ENTRY;
    lock(room).retain(|peer| {
        if peer.id == from {
            return true;
        }
        let sendq = peer.sendq.fetch_add(cost, Ordering::Relaxed) + cost;
        // Past the cap: it is not keeping up. Disconnected: its writer
        // has given up on it.
        let cut_off = sendq > SENDQ || peer.queue.send(Arc::clone(&line)).is_err();
        if cut_off {
            // Ends its reader and its writer, wherever they wait.
            let _ = peer.stream.shutdown(Shutdown::Both);
        }
        !cut_off
    });
}

/// A client's writer thread: its lines, in order, as fast as it reads
/// them. A socket that takes no byte for WRITE_TIMEOUT fails the write,
/// and the client is cut off.
fn write_lines(stream: TcpStream, lines: Receiver<Line>, sendq: Arc<AtomicUsize>) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    for line in lines {
        if (&stream).write_all(&line).is_err() {
            // Ends its reader too, which takes it out of the room.
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        sendq.fetch_sub(line.len() + ENTRY, Ordering::Relaxed);
    }
}

/// The room's lock. No thread panics while holding it, so a poisoned lock
/// still holds a whole list: take it.
fn lock(room: &Room) -> MutexGuard<'_, Vec<Peer>> {
    room.lock().unwrap_or_else(PoisonError::into_inner)
}
