//! A chat room, as doc B's chat server builds one: every line a client sends
//! goes to every *other* client. Each client is a connection of the [`tcp`]
//! server, on its own thread; the room is one shared peer list, an
//! `Arc<Mutex<Vec<Peer>>>` of `TcpStream`s, that every thread writes through.
//!
//! | Node (doc B)                                          | here                      |
//! |-------------------------------------------------------|---------------------------|
//! | `let sockets = []`                                    | [`Room::new`]             |
//! | `sockets.push(socket)`                                | [`Room::join`]            |
//! | `sockets.forEach(... otherSocket.write(data))`        | [`Room::broadcast_from`]  |
//! | `sockets.splice(sockets.indexOf(socket), 1)`          | [`Room::leave`]           |
//! | `sockets.length`                                      | [`Room::len`]             |
//! | the `'connection'`, `'data'` and `'close'` listeners  | [`ChatHandler`]           |
//!
//! What the snippet leaves out, and this module adds:
//!
//! - **Lines, not chunks.** TCP is a byte stream: one message can arrive in
//!   two reads, or two in one. The snippet forwards whatever `'data'` holds,
//!   so two clients' messages can interleave inside a line. Here each
//!   connection keeps the start of a line until its `\n` arrives
//!   ([`LineBuffer`]); only complete lines are relayed, and all the complete
//!   lines of one read go to the room at once.
//! - **One order for everyone.** The writes happen under the lock, in
//!   rounds that never interleave: every client sees the room's lines in the
//!   same order. A sender queues its lines and whoever holds the lock sends
//!   all that is queued, one `writev` per peer, so many senders share a
//!   round instead of taking turns ([`Room::broadcast_from`]).
//! - **No client stalls the room.** A blocking write to a client that does
//!   not read waits forever once its socket buffer is full, and it waits
//!   holding the lock. So each peer gets a write timeout
//!   ([`Room::write_timeout`]); a peer whose write fails or times out is
//!   evicted and the broadcast goes on to the others.
//! - **Bounded memory.** A line longer than [`Room::max_line`] is an error
//!   for that client only: it is told, and disconnected.
//! - **Removal by id.** A stream has no identity to compare, so each peer
//!   gets a [`PeerId`]. The snippet's `splice(indexOf(socket), 1)` removes
//!   the *last* client when `indexOf` returns `-1`; [`Room::leave`] removes
//!   nothing when the id is not there.
//!
//! A room on port 0, and two clients talking through it:
//!
//! ```
//! use netcourse::chat::Room;
//! use netcourse::tcp::Server;
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpStream;
//!
//! let room = Room::new();
//! let server = Server::bind("127.0.0.1:0")?.spawn({
//!     let room = room.clone();
//!     move || room.handler() // one handler per connection, all in one room
//! })?;
//!
//! let mut alice = TcpStream::connect(server.local_addr())?;
//! let bob = TcpStream::connect(server.local_addr())?;
//! # let waiting = std::time::Instant::now();
//! # while room.len() < 2 { // both have joined
//! #     assert!(waiting.elapsed().as_secs() < 20);
//! #     std::thread::yield_now();
//! # }
//! alice.write_all(b"hello, room\n")?;
//!
//! let mut line = String::new();
//! BufReader::new(bob).read_line(&mut line)?;
//! assert_eq!(line, "hello, room\n");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`tcp`]: crate::tcp

use crate::tcp::{Handler, Socket};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The default for [`Room::max_line`]: 64 KiB, far more than anyone types,
/// and little enough that a thousand clients each halfway through a line
/// cost at most 64 MiB.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// The default for [`Room::write_timeout`]. A client that takes no byte for
/// this long is not reading; a client on a slow link still takes *some*
/// bytes, and is never evicted for being slow.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many bytes are read and thrown away after a client is told
/// its line is too long (see [`ChatHandler`]'s `cut_off`): about what a
/// client can have in flight, in both socket buffers, when it hears the news.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// A peer's identity in a [`Room`]: the number [`Room::join`] gave it.
///
/// Node compares sockets by identity (`otherSocket !== socket`); in Rust two
/// clones of one connection are different values, so the room numbers its
/// peers instead. Ids are never reused within a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerId(u64);

/// One client in the room.
#[derive(Debug)]
struct Peer {
    /// Its number, given by [`Room::join`]; how [`Room::leave`] and
    /// [`Room::broadcast_from`] find it.
    id: PeerId,
    /// A clone of the client's connection (`try_clone`: a second descriptor
    /// for the same socket), so that any thread can write to it. Its write
    /// timeout is the room's. Dropped when the peer leaves or is evicted;
    /// that closes only this descriptor: the connection lives on until its
    /// own thread drops the original stream, just before `'close'`.
    stream: TcpStream,
}

/// One sender's lines, waiting in the queue for the next broadcast round.
#[derive(Debug)]
struct Batch {
    /// Who sent them: they go to everyone else.
    from: PeerId,
    /// Complete lines, copied out of the sender's read buffer.
    lines: Vec<u8>,
}

/// `write_all` for several slices in one system call (`writev`) where the
/// kernel takes them all at once, and as many calls as it needs where it
/// does not. (std's own `write_all_vectored` is not stable yet.)
fn write_all_vectored(mut stream: &TcpStream, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0); // skip empty slices
    while !slices.is_empty() {
        match stream.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The chat room: Node's `sockets` array, shared by every connection's
/// thread.
///
/// A `Room` is a handle: cloning it is cheap, and every clone is the same
/// room. Make one, set its limits, and hand [`handler`](Room::handler) to a
/// [`tcp::Server`](crate::tcp::Server) (see the [module](self) example).
#[derive(Debug, Clone)]
pub struct Room {
    /// The peers: the `Arc` lets every connection's thread hold the list, the
    /// `Mutex` lets one of them at a time change it or write through it. A
    /// peer is pushed by [`join`](Room::join) and removed by
    /// [`leave`](Room::leave), or by a broadcast that could not reach it.
    peers: Arc<Mutex<Vec<Peer>>>,
    /// Lines waiting for the next broadcast: each sender queues its batch
    /// here (a short lock), then waits for `peers`; whoever gets `peers`
    /// first sends everything queued by then (see
    /// [`broadcast_from`](Room::broadcast_from)). Always locked *after*
    /// `peers`, never before, so the two locks cannot deadlock.
    queued: Arc<Mutex<Vec<Batch>>>,
    /// Where the next [`PeerId`] comes from; an atomic so that taking one
    /// needs no lock.
    next_id: Arc<AtomicU64>,
    /// The longest line accepted, in bytes, without its `\n`; set before
    /// the room is shared, then read by every [`ChatHandler`].
    max_line: usize,
    /// How long a write to one peer may wait; set on each peer's socket when
    /// it joins.
    write_timeout: Duration,
}

impl Default for Room {
    fn default() -> Room {
        Room::new()
    }
}

impl Room {
    /// `let sockets = []`: an empty room, with [`DEFAULT_MAX_LINE`] and
    /// [`DEFAULT_WRITE_TIMEOUT`].
    pub fn new() -> Room {
        Room {
            peers: Arc::new(Mutex::new(Vec::new())),
            queued: Arc::new(Mutex::new(Vec::new())),
            next_id: Arc::new(AtomicU64::new(0)),
            max_line: DEFAULT_MAX_LINE,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }

    /// The longest line a client may send, in bytes, not counting its `\n`
    /// (default [`DEFAULT_MAX_LINE`]). A longer one is an error for that
    /// client only: it is told, and disconnected. This also bounds what one
    /// connection buffers while it waits for a `\n`.
    ///
    /// Set it before you hand out clones: each clone keeps the limits it was
    /// made with.
    pub fn max_line(mut self, bytes: usize) -> Room {
        self.max_line = bytes;
        self
    }

    /// How long a write to one peer may wait for it to take a byte (default
    /// [`DEFAULT_WRITE_TIMEOUT`]). A peer that does not read within it is
    /// evicted, so a client that stops reading holds up the room for this
    /// long, once.
    ///
    /// # Panics
    /// If `timeout` is zero: `std` refuses a zero socket timeout.
    pub fn write_timeout(mut self, timeout: Duration) -> Room {
        assert!(!timeout.is_zero(), "a write timeout must not be zero");
        self.write_timeout = timeout;
        self
    }

    /// `sockets.length`: how many peers are in the room now.
    pub fn len(&self) -> usize {
        self.peers().len()
    }

    /// Whether the room is empty.
    pub fn is_empty(&self) -> bool {
        self.peers().is_empty()
    }

    /// `sockets.push(socket)`: adds a peer writing through a clone of
    /// `stream`, and gives it its id. [`ChatHandler`] calls this on
    /// `'connection'`.
    ///
    /// ```
    /// # use netcourse::chat::Room;
    /// # use std::net::{TcpListener, TcpStream};
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let _client = TcpStream::connect(listener.local_addr()?)?;
    /// let (stream, _) = listener.accept()?;
    /// let room = Room::new();
    /// let id = room.join(&stream)?;
    /// assert_eq!(room.len(), 1);
    /// assert!(room.leave(id));
    /// assert!(room.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// If the stream cannot be cloned (out of file descriptors) or its write
    /// timeout cannot be set.
    pub fn join(&self, stream: &TcpStream) -> io::Result<PeerId> {
        let stream = stream.try_clone()?;
        // One socket, two descriptors: the timeout is the socket's, so it
        // also bounds the writes the connection's own thread makes.
        stream.set_write_timeout(Some(self.write_timeout))?;
        // No Nagle: by default the kernel holds back a small write while an
        // earlier one is unacknowledged, and a client that only listens
        // acknowledges late (delayed ACK, up to 40 ms). A chat line should
        // go now, and the room batches its writes itself (one per peer per
        // round, see broadcast_from), so Nagle's batching buys nothing here.
        stream.set_nodelay(true)?;
        let id = PeerId(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.peers().push(Peer { id, stream });
        Ok(id)
    }

    /// `sockets.splice(sockets.indexOf(socket), 1)`, done right: removes the
    /// peer `id` and returns `true`, or returns `false` if it is not in the
    /// room (it left already, or a broadcast evicted it). Never removes
    /// anyone else.
    pub fn leave(&self, id: PeerId) -> bool {
        let mut peers = self.peers();
        // indexOf; unlike splice(-1, 1), a missing peer removes nothing.
        match peers.iter().position(|peer| peer.id == id) {
            Some(index) => {
                // The clone is dropped here; the connection stays open.
                peers.remove(index);
                true
            }
            None => false,
        }
    }

    /// `sockets.forEach(other => other !== socket && other.write(data))`:
    /// sends `lines` to every peer but `from`, and returns once they have
    /// gone.
    ///
    /// `lines` should be complete lines: the room sends what it is given.
    /// [`ChatHandler`] gives it all the complete lines of one read at once.
    ///
    /// The writes happen under the room's lock. That is what makes the order
    /// the same for everyone: while one round of lines goes out to every
    /// peer, no other can slip in between. The price is that the senders take
    /// turns, so a sender does not simply wait for its turn: it first queues
    /// its lines, and whoever gets the lock next sends *everything* queued by
    /// then, to each peer in one `writev` (minus that peer's own lines). When
    /// a hundred clients talk at once, one round then carries many senders'
    /// lines for the price of one system call per peer, and a sender whose
    /// lines went out in another's round finds the queue empty and is done.
    ///
    /// A peer whose write fails (it reset the connection) or times out (it is
    /// not reading) is evicted: removed from the room, and its connection
    /// shut down in both directions, which ends its thread's blocking `read`
    /// and so its thread. It may have received part of a round; it receives
    /// nothing more.
    ///
    /// # Errors
    /// `NotConnected` if `from` is not in the room: it was evicted while its
    /// lines waited, and it is told so that its connection closes.
    pub fn broadcast_from(&self, from: PeerId, lines: &[u8]) -> io::Result<()> {
        self.queue().push(Batch {
            from,
            lines: lines.to_vec(),
        });
        // Our turn: every round queued before ours is done.
        let mut peers = self.peers();
        if !peers.iter().any(|peer| peer.id == from) {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "evicted from the chat room",
            ));
        }
        let round = std::mem::take(&mut *self.queue());
        if round.is_empty() {
            return Ok(()); // our lines went out in the round before ours
        }
        let mut slices = Vec::with_capacity(round.len());
        // retain visits each peer once, in order, and keeps those for which
        // the closure returns true: the writes and the evictions in one pass.
        peers.retain(|peer| {
            // if (otherSocket !== socket), for every sender in the round.
            slices.clear();
            slices.extend(
                round
                    .iter()
                    .filter(|batch| batch.from != peer.id)
                    .map(|batch| IoSlice::new(&batch.lines)),
            );
            // otherSocket.write(data), once for the whole round.
            match write_all_vectored(&peer.stream, &mut slices) {
                Ok(()) => true,
                Err(_) => {
                    // Evicted. Already closed, if it reset; either way it ends.
                    let _ = peer.stream.shutdown(Shutdown::Both);
                    false
                }
            }
        });
        Ok(())
    }

    /// A [`tcp::Handler`](Handler) for one client of this room: make one per
    /// connection, in the closure given to
    /// [`Server::serve`](crate::tcp::Server::serve).
    pub fn handler(&self) -> ChatHandler {
        self.handler_with(())
    }

    /// Like [`handler`](Room::handler), with your own `listener` for the same
    /// connection's events, as a Node program attaches a second listener to
    /// an event: the room's work is done first, then `listener`'s method is
    /// called. The chat server prints `Got a new connection` this way.
    ///
    /// ```no_run
    /// use netcourse::chat::Room;
    /// use netcourse::tcp::{Handler, Server, Socket};
    /// use std::io;
    ///
    /// struct Log;
    ///
    /// impl Handler for Log {
    ///     fn on_connection(&mut self, _socket: &mut Socket) -> io::Result<()> {
    ///         println!("Got a new connection");
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let room = Room::new();
    /// Server::bind("127.0.0.1:8080")?.serve(move || room.handler_with(Log))?;
    /// # Ok::<(), io::Error>(())
    /// ```
    pub fn handler_with<L: Handler>(&self, listener: L) -> ChatHandler<L> {
        ChatHandler {
            room: self.clone(),
            id: None,
            lines: LineBuffer::new(self.max_line),
            listener,
        }
    }

    /// The peer list, locked. A thread that panicked holding the lock
    /// poisons it; the list is still whole (a push, a remove or a `retain`
    /// never leaves it half done), so the others take the guard and go on.
    fn peers(&self) -> MutexGuard<'_, Vec<Peer>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The queue of lines waiting for a round, locked; poisoning as above.
    fn queue(&self) -> MutexGuard<'_, Vec<Batch>> {
        self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `()` listens to nothing: every event keeps its default. It is the
/// listener of [`Room::handler`].
impl Handler for () {}

/// One client's connection to a [`Room`]: the body of the snippet's
/// `'connection'` listener, as a [`Handler`].
///
/// - `'connection'`: [`Room::join`].
/// - `'data'`: frames lines; all the complete lines of the read go to
///   [`Room::broadcast_from`] in one call. A line longer than
///   [`Room::max_line`] cuts this client off (below).
/// - `'end'` and `'close'`: [`Room::leave`]. An unfinished last line is
///   dropped: without its `\n` there is no telling whether the client died
///   mid-line.
///
/// Each event is then passed on to the listener of
/// [`Room::handler_with`]. Dropping the handler (a panic in the listener
/// included) also leaves the room.
///
/// A client whose line is too long is sent `error: line longer than N
/// bytes\n`, then FIN, and the connection closes with that error
/// ([`Handler::on_error`], then `on_close(true)`). Closing a socket that
/// still has unread input makes the kernel send RST instead of FIN, and a
/// reset is rude twice: the kernel drops whatever the server had not sent
/// yet (which can be the message itself), and the client's next write fails
/// (`EPIPE`), so a client that stops at its first error never reads why.
/// Both happen exactly when the client is still sending.
/// So between the FIN and the close the handler reads and discards what
/// the client still sends, until it closes, for at most 1 MiB and the
/// room's write timeout; a client still sending after that is not
/// listening, and gets the RST.
#[derive(Debug)]
pub struct ChatHandler<L = ()> {
    /// The room, shared with every other connection's handler.
    room: Room,
    /// This connection's id in the room: `Some` from `'connection'` until it
    /// leaves (taken then, so it leaves once).
    id: Option<PeerId>,
    /// The start of a line whose `\n` has not arrived yet; empty, and
    /// holding no memory, between lines.
    lines: LineBuffer,
    /// The program's own listener for this connection's events.
    listener: L,
}

impl<L> ChatHandler<L> {
    /// `sockets.splice(...)`, once.
    fn leave(&mut self) {
        if let Some(id) = self.id.take() {
            self.room.leave(id);
        }
    }

    /// The line-too-long path: leave, tell, end, drain (see the type's
    /// docs), and return the error that closes the connection.
    fn cut_off(&mut self, socket: &mut Socket, error: io::Error) -> io::Error {
        self.leave();
        // Both are bounded by the write timeout that join() set. They fail
        // only if the client is gone, and then there is nobody to tell.
        let _ = socket.write(format!("error: {error}\n"));
        let _ = socket.end();
        drain(socket.stream(), DRAIN_LIMIT, self.room.write_timeout);
        error
    }
}

impl<L: Handler> Handler for ChatHandler<L> {
    // 'connection': sockets.push(socket). Join first, so that the listener
    // hears of a client that is in the room already.
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.id = Some(self.room.join(socket.stream())?);
        self.listener.on_connection(socket)
    }

    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.listener.on_connect(socket)
    }

    // 'data': every complete line, to every other client.
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        if let Some(id) = self.id {
            let room = &self.room;
            match self
                .lines
                .push(data, |lines| room.broadcast_from(id, lines))
            {
                // We were evicted: stop here, the connection is closing.
                Ok(Some(Err(evicted))) => return Err(evicted),
                Ok(_) => {}
                Err(too_long) => return Err(self.cut_off(socket, too_long)),
            }
        }
        self.listener.on_data(socket, data)
    }

    // 'end': the client will send nothing more, and our FIN follows; leave
    // now, so the room stops writing to a connection that is closing.
    fn on_end(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.leave();
        self.listener.on_end(socket)
    }

    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.listener.on_timeout(socket)
    }

    fn on_error(&mut self, socket: &Socket, error: &io::Error) {
        self.listener.on_error(socket, error);
    }

    // 'close': sockets.splice(index, 1), if 'end' did not already.
    fn on_close(&mut self, had_error: bool) {
        self.leave();
        self.listener.on_close(had_error);
    }
}

impl<L> Drop for ChatHandler<L> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Reads and throws away what `stream` still receives, until the peer closes,
/// `limit` bytes have come, or `time` has passed: the wait between our FIN
/// and our close that keeps the kernel from answering with RST.
fn drain(mut stream: &TcpStream, limit: usize, time: Duration) {
    let deadline = Instant::now() + time;
    // Small and on the stack: what it holds is thrown away, and every page of
    // stack touched stays with the thread.
    let mut buf = [0; 4096];
    let mut left = limit;
    while left > 0 {
        // A deadline for the whole drain, not for each read: a client
        // trickling a byte at a time cannot keep this thread here.
        let now = Instant::now();
        if now >= deadline || stream.set_read_timeout(Some(deadline - now)).is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => left = left.saturating_sub(n),
            // The peer closed, reset, or the time is up.
            _ => break,
        }
    }
}

/// Line framing for a byte stream: the start of a line waits here until its
/// `\n` arrives, and what is handed on is complete lines only.
///
/// A line ends at `\n`, so a `\r\n` line is a line too (its `\r` stays part
/// of it, byte for byte; [`lines`] strips it). The bytes need not be UTF-8.
///
/// ```
/// use netcourse::chat::{lines, LineBuffer};
///
/// let mut buffer = LineBuffer::new(100);
/// // One read: a whole line and the start of the next.
/// let got = buffer.push(b"one\ntw", |complete| complete.to_vec())?;
/// assert_eq!(got.as_deref(), Some(&b"one\n"[..]));
/// // The next read finishes it, and brings two more.
/// let got = buffer.push(b"o\r\nthree\nfour\n", |complete| {
///     lines(complete).map(|line| line.to_vec()).collect::<Vec<_>>()
/// })?;
/// assert_eq!(got.unwrap(), [&b"two"[..], b"three", b"four"]);
/// // A read with no `\n` hands on nothing.
/// assert_eq!(buffer.push(b"fi", |_| ())?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct LineBuffer {
    /// The unfinished line. It holds no memory between lines, so a client
    /// that once sent a long line does not keep that much for the rest of
    /// its connection.
    partial: Vec<u8>,
    /// The longest line accepted, without its `\n`: the most `partial`
    /// ever holds.
    max_line: usize,
}

impl LineBuffer {
    /// An empty buffer that accepts lines of up to `max_line` bytes, not
    /// counting the `\n`.
    pub fn new(max_line: usize) -> LineBuffer {
        LineBuffer {
            partial: Vec::new(),
            max_line,
        }
    }

    /// Takes the bytes of one read, and calls `complete` once, with every
    /// line they complete, in one slice (each line with its `\n`), if they
    /// complete any. Returns what `complete` returned, or `None` if it was
    /// not called.
    ///
    /// When the read's lines all ended at the read's end, which is usual,
    /// `complete` gets a slice of `data` itself: nothing is copied.
    ///
    /// # Errors
    /// `InvalidData` if a line is longer than `max_line`. The lines before it
    /// are handed on first; the buffer is emptied, and is not meant to be
    /// used again (the stream's framing is lost).
    pub fn push<R>(
        &mut self,
        data: &[u8],
        complete: impl FnOnce(&[u8]) -> R,
    ) -> io::Result<Option<R>> {
        // 1. Find where the complete lines end (just past the last `\n`),
        //    stopping early at a line that is too long.
        let mut end = 0; // the acceptable complete lines are data[..end]
        let mut carried = self.partial.len(); // the line's bytes from earlier reads
        let mut too_long = false;
        for (i, _) in data.iter().enumerate().filter(|&(_, &byte)| byte == b'\n') {
            if carried + (i - end) > self.max_line {
                too_long = true;
                break;
            }
            end = i + 1;
            carried = 0;
        }
        // The unfinished line at the end of the read counts too: this is
        // what keeps memory bounded when no `\n` ever comes.
        too_long |= carried + (data.len() - end) > self.max_line;

        // 2. Hand on the complete lines, in one slice.
        let handed = if end == 0 {
            None
        } else if self.partial.is_empty() {
            Some(complete(&data[..end]))
        } else {
            // The first line began in an earlier read: join it up.
            self.partial.extend_from_slice(&data[..end]);
            let handed = complete(&self.partial);
            self.partial = Vec::new();
            Some(handed)
        };

        // 3. Keep the unfinished line for the next read.
        if too_long {
            self.partial = Vec::new();
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line longer than {} bytes", self.max_line),
            ));
        }
        self.partial.extend_from_slice(&data[end..]);
        Ok(handed)
    }
}

/// The lines of a slice of complete lines, each without its `\n` or
/// `\r\n`: for a client printing what [`LineBuffer::push`] handed on.
pub fn lines(complete: &[u8]) -> impl Iterator<Item = &[u8]> {
    complete.split_inclusive(|&byte| byte == b'\n').map(|line| {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        line.strip_suffix(b"\r").unwrap_or(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// Feeds `reads` one at a time; returns every batch handed on.
    fn frame(max_line: usize, reads: &[&[u8]]) -> io::Result<Vec<Vec<u8>>> {
        let mut buffer = LineBuffer::new(max_line);
        let mut batches = Vec::new();
        for read in reads {
            if let Some(batch) = buffer.push(read, |lines| lines.to_vec())? {
                batches.push(batch);
            }
        }
        Ok(batches)
    }

    #[test]
    fn complete_lines_of_one_read_are_one_batch() {
        let batches = frame(10, &[b"a\nb\nc", b"c\n", b"\n", b"d"]).unwrap();
        assert_eq!(batches, [&b"a\nb\n"[..], b"cc\n", b"\n"]);
    }

    #[test]
    fn a_line_of_exactly_max_line_is_accepted_one_more_is_not() {
        assert_eq!(frame(3, &[b"ab", b"c\n"]).unwrap(), [b"abc\n"]);
        assert_eq!(
            frame(3, &[b"abc\r\n"]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        // No `\n` needed to know: the fourth byte is one too many.
        assert!(frame(3, &[b"ab", b"cd"]).is_err());
    }

    #[test]
    fn lines_before_a_too_long_one_are_handed_on_first() {
        let mut buffer = LineBuffer::new(3);
        let mut handed = Vec::new();
        let result = buffer.push(b"ok\nyes\ntoo long\nlost\n", |lines| {
            handed.extend_from_slice(lines)
        });
        assert!(result.is_err());
        assert_eq!(handed, b"ok\nyes\n");
    }

    #[test]
    fn an_endless_line_holds_at_most_max_line() {
        let mut buffer = LineBuffer::new(1000);
        let chunk = [b'x'; 100];
        let mut pushes = 0;
        while buffer.push(&chunk, |_| ()).is_ok() {
            assert!(buffer.partial.len() <= 1000);
            pushes += 1;
        }
        assert_eq!(pushes, 10);
        assert_eq!(buffer.partial.capacity(), 0);
    }

    #[test]
    fn lines_strips_both_endings() {
        let got: Vec<&[u8]> = lines(b"a\r\nb\n\n\xff\n").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"", b"\xff"]);
    }

    #[test]
    fn a_poisoned_room_goes_on() {
        let room = Room::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().unwrap();
        let id = room.join(&stream).unwrap();
        // A thread panics while it holds the lock.
        let peers = Arc::clone(&room.peers);
        let _ = thread::spawn(move || {
            let _guard = peers.lock().unwrap();
            panic!("a client's thread panicked");
        })
        .join();
        assert!(room.peers.is_poisoned());
        assert_eq!(room.len(), 1);
        room.broadcast_from(id, b"still here\n").unwrap();
        assert!(room.leave(id));
        assert!(room.is_empty());
    }
}
