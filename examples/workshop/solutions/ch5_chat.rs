//! A solution to the workshop's ch5-chat step: the chat room from an empty
//! file, with `std::net`, threads and an `Arc<Mutex<Vec<...>>>`. Try your
//! own first.
//!
//! The simplest design that survives abuse: each client has a bounded
//! *outbox* (a `sync_channel`) and a writer thread that empties it into the
//! client's socket. A line is handed to every other client's outbox under
//! the room's lock, which gives one order for everyone, with `try_send`,
//! which never waits: so no socket can hold up the room. A client whose
//! outbox is full has stopped reading, and is cut off.

#[path = "../../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;

/// The longest line the room relays; a longer one cuts its sender off.
const MAX_LINE: u64 = 64 * 1024;

/// How many lines may wait for one client before it counts as gone.
const OUTBOX: usize = 1024;

/// One line, shared by every outbox it goes to.
type Line = Arc<[u8]>;

/// One client in the room.
struct Peer {
    /// Given by the accept loop, never reused: who is who.
    id: usize,
    /// A clone of the client's stream, to cut it off.
    stream: TcpStream,
    /// Its writer thread's queue. Dropping it (when the peer leaves the
    /// list) ends that thread.
    outbox: SyncSender<Line>,
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
    let (outbox, lines) = mpsc::sync_channel(OUTBOX);
    thread::spawn(move || write_lines(writer, lines));
    // sockets.push(socket)
    lock(&room).push(Peer { id, stream, outbox });
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

/// Hands `line` to every other client's outbox, under the lock: one order
/// for everyone. A client that cannot take it now is cut off.
fn broadcast(room: &Room, from: usize, line: &[u8]) {
    let line: Line = line.into();
    lock(room).retain(|peer| {
        if peer.id == from {
            return true;
        }
        // Full: it stopped reading. Disconnected: its writer failed.
        let cut_off = peer.outbox.try_send(Arc::clone(&line)).is_err();
        if cut_off {
            // Ends its reader and its writer, wherever they wait.
            let _ = peer.stream.shutdown(Shutdown::Both);
        }
        !cut_off
    });
}

/// A client's writer thread: its lines, in order, as fast as it reads
/// them; every line waiting is written in one go.
fn write_lines(stream: TcpStream, lines: Receiver<Line>) {
    let mut stream = BufWriter::new(stream);
    while let Ok(line) = lines.recv() {
        let mut written = stream.write_all(&line);
        for line in lines.try_iter() {
            written = written.and_then(|()| stream.write_all(&line));
        }
        if written.and_then(|()| stream.flush()).is_err() {
            // Its receiver is dropped: the next try_send cuts it off.
            return;
        }
    }
}

/// The room's lock. No thread panics while holding it, so a poisoned lock
/// still holds a whole list: take it.
fn lock(room: &Room) -> MutexGuard<'_, Vec<Peer>> {
    room.lock().unwrap_or_else(PoisonError::into_inner)
}
