//! A chat room, as doc B's chat server builds one: every line a client sends
//! goes to every *other* client. Each client is a connection of the [`tcp`]
//! server, on its own thread; the room is one shared peer list, an
//! `Arc<Mutex<Vec<Peer>>>` in which each peer holds its `TcpStream`.
//!
//! | Node (doc B)                                          | here                      |
//! |-------------------------------------------------------|---------------------------|
//! | `let sockets = []`                                    | [`Room::new`]             |
//! | `sockets.push(socket)`                                | [`Room::join`]            |
//! | `sockets.forEach(... otherSocket.write(data))`        | [`Room::broadcast_from`]  |
//! | `sockets.forEach(socket => socket.write(data))`       | [`Room::broadcast`]       |
//! | `sockets.splice(sockets.indexOf(socket), 1)`          | [`Room::leave`]           |
//! | `sockets.length`                                      | [`Room::len`]             |
//! | `socket.writableLength` (what Node holds for a peer)  | a peer's backlog          |
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
//! - **One order for everyone.** A line takes its place in every peer's
//!   *outbox* under the room's lock, so every client receives the room's
//!   lines in the same order.
//! - **No socket I/O under the lock.** The lock decides the order and
//!   nothing else: no thread ever waits for a peer's socket while it holds
//!   the list that every other client needs in order to be heard. The
//!   writes happen outside it, one writer per peer at a time.
//! - **No client can slow the room down.** Node's `write` never blocks: what
//!   a peer's socket will not take, Node keeps in memory, without limit.
//!   Here a peer's *backlog* (what the room holds for it beyond what its
//!   socket took) is bounded by [`Limits::max_backlog`]. A peer that keeps
//!   up is waited for (backpressure: the sender's thread waits, so its
//!   client's own socket fills and it is slowed down, not the room); a
//!   peer that does not keep up is not waited for, and is evicted when its
//!   backlog passes the cap, or when it takes no byte for
//!   [`Limits::write_timeout`]. See [`Room::broadcast_from`].
//! - **Bounded memory.** A line longer than [`Limits::max_line`] is an
//!   error for that client only: it is told, and disconnected.
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
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The default for [`Limits::max_line`]: 64 KiB, far more than anyone
/// types. It is also the most one connection holds while it waits for a
/// line's `\n`.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// The default for [`Limits::max_backlog`]: 1 MiB of lines waiting for one
/// peer, beyond what its socket has taken. Enough for a reader that keeps
/// up to ride out a burst; little enough that a room holds at most this much
/// for each client that stops reading, and only until it is evicted.
pub const DEFAULT_MAX_BACKLOG: usize = 1024 * 1024;

/// The default for [`Limits::write_timeout`]. A client whose socket takes no
/// byte for this long is not reading, and is evicted.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// The default for [`Limits::max_stall`]: long enough for a busy reader's
/// thread to be scheduled again, short enough that the others barely notice
/// the wait.
pub const DEFAULT_MAX_STALL: Duration = Duration::from_millis(100);

/// The longest one write to a peer's socket may wait for the socket to take
/// bytes: the socket's own write timeout (`SO_SNDTIMEO`), set by
/// [`Room::join`]. The kernel rounds it up to its clock's tick, a few
/// milliseconds. It is what keeps a sender from waiting on one slow peer
/// while others wait for their lines; the room's real deadline for a peer
/// is [`Limits::write_timeout`], which the room keeps itself.
const ONE_WRITE: Duration = Duration::from_millis(1);

/// How long a peer's writer thread waits for more lines once it has written
/// everything, before it ends. A busy room keeps its writers; an idle
/// connection has none.
const LINGER: Duration = Duration::from_millis(500);

/// At most this many bytes are read and thrown away after a client is told
/// its line is too long (see [`ChatHandler`]'s `cut_off`): about what a
/// client can have in flight, in both socket buffers, when it hears the news.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// A peer's identity in a [`Room`]: the number [`Room::join`] gave it.
///
/// Node compares sockets by identity (`otherSocket !== socket`); in Rust two
/// clones of one connection are different values, so the room numbers its
/// peers instead. Ids are never reused within a room, and grow with each
/// join, so the peer list, in the order peers joined, is sorted by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(u64);

/// A room's limits: what it allows one client, set when the room is made
/// ([`Room::with_limits`]) and the same for every clone of it.
///
/// ```
/// use netcourse::chat::{Limits, Room};
/// use std::time::Duration;
///
/// let room = Room::with_limits(Limits {
///     max_line: 1024,
///     write_timeout: Duration::from_millis(500),
///     ..Limits::default()
/// });
/// assert_eq!(room.limits().max_backlog, netcourse::chat::DEFAULT_MAX_BACKLOG);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line a client may send, in bytes, not counting its `\n`
    /// (default [`DEFAULT_MAX_LINE`]). A longer one is an error for that
    /// client only: it is told, and disconnected. This also bounds what one
    /// connection buffers while it waits for a `\n`.
    pub max_line: usize,
    /// The most the room holds for one peer, in bytes, beyond what the
    /// peer's socket has taken (default [`DEFAULT_MAX_BACKLOG`]). A peer
    /// more than half of it behind makes senders wait while it keeps up; a
    /// peer that does not keep up is evicted when it would pass it.
    pub max_backlog: usize,
    /// How long a peer may take no byte while the room has lines for it, or
    /// stay more than half its backlog behind, before it is evicted (default
    /// [`DEFAULT_WRITE_TIMEOUT`]). It is the room's own clock: nothing a
    /// handler does with the socket's timeouts changes it.
    pub write_timeout: Duration,
    /// How long a peer's socket may take nothing, while the room has lines
    /// for it, and the peer still *keep up*: be waited for (default
    /// [`DEFAULT_MAX_STALL`]). Past it, the room stops waiting for the peer;
    /// it is evicted if its backlog would pass the cap.
    pub max_stall: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line: DEFAULT_MAX_LINE,
            max_backlog: DEFAULT_MAX_BACKLOG,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_stall: DEFAULT_MAX_STALL,
        }
    }
}

/// One client in the room.
#[derive(Debug)]
struct Peer {
    /// Its number, given by [`Room::join`]; how [`Room::leave`] and the
    /// writers find it.
    id: PeerId,
    /// A clone of the client's connection (`try_clone`: a second descriptor
    /// for the same socket), shared (`Arc`) with whichever thread holds its
    /// pen, so that it can write outside the lock. When the peer leaves, the
    /// room forgets it; the connection lives on until its own thread drops
    /// the original stream, just before `'close'`.
    stream: Arc<TcpStream>,
    /// The lines said since its pen last took them, in the room's order.
    /// Each line is shared (`Arc`) by every outbox it is in: one copy for
    /// the whole room.
    outbox: VecDeque<Arc<[u8]>>,
    /// Bytes the room holds for it: in its outbox, and in the hand of its
    /// pen's holder, not yet taken by its socket.
    backlog: usize,
    /// Who writes to it now.
    pen: Pen,
    /// When its socket last took a byte, or, if it had nothing waiting
    /// until then, when its backlog began: the clock of
    /// [`keeps_up`](Peer::keeps_up) and of the write timeout.
    took: Instant,
    /// Since when its backlog has been more than half of
    /// [`Limits::max_backlog`]; `None` while it is not.
    behind_since: Option<Instant>,
}

/// Who writes to a peer. Only the holder of a peer's pen writes to its
/// socket, so the bytes of two lines never interleave, and lines go out in
/// the order they joined the outbox.
#[derive(Debug)]
enum Pen {
    /// Nobody: the peer's backlog is empty. The next sender picks the pen
    /// up and writes to the peer itself.
    Down,
    /// A thread is writing to it: whatever joins the outbox meanwhile, that
    /// thread writes before it puts the pen down.
    Held,
    /// Its writer thread has written everything and waits on this condition
    /// variable for more, for a while ([`LINGER`]).
    Parked(Arc<Condvar>),
}

impl Peer {
    fn new(id: PeerId, stream: TcpStream) -> Peer {
        Peer {
            id,
            stream: Arc::new(stream),
            outbox: VecDeque::new(),
            backlog: 0,
            pen: Pen::Down,
            took: Instant::now(),
            behind_since: None,
        }
    }

    /// Whether the room should wait for this peer: its socket took a byte
    /// within [`Limits::max_stall`], or it has nothing waiting.
    fn keeps_up(&self, now: Instant, limits: &Limits) -> bool {
        self.backlog == 0 || now.duration_since(self.took) < limits.max_stall
    }

    /// `n` more bytes wait for this peer.
    fn add(&mut self, n: usize, now: Instant, limits: &Limits) {
        if self.backlog == 0 {
            self.took = now; // its clock starts when it has something to take
        }
        self.backlog += n;
        self.note_behind(now, limits);
    }

    /// Its socket took `n` bytes.
    fn took(&mut self, n: usize, now: Instant, limits: &Limits) {
        if n > 0 {
            self.backlog -= n;
            self.took = now;
            self.note_behind(now, limits);
        }
    }

    fn note_behind(&mut self, now: Instant, limits: &Limits) {
        if self.backlog > limits.max_backlog / 2 {
            self.behind_since.get_or_insert(now);
        } else {
            self.behind_since = None;
        }
    }

    /// If a sender with `more` bytes should wait for this peer: until when
    /// (when it would stop keeping up, or would have been behind too long).
    fn worth_waiting_for(&self, more: usize, now: Instant, limits: &Limits) -> Option<Instant> {
        let behind = self.backlog + more > limits.max_backlog / 2 && self.backlog > 0;
        if !behind || !self.keeps_up(now, limits) {
            return None;
        }
        let stops_keeping_up = self.took + limits.max_stall;
        let behind_too_long = self.behind_since.map(|since| since + limits.write_timeout);
        let until = behind_too_long.map_or(stops_keeping_up, |t| t.min(stops_keeping_up));
        (until > now).then_some(until)
    }

    /// Whether this peer must go before `more` bytes join its backlog: it
    /// does not keep up and they would pass the cap, or it has been more
    /// than half the cap behind for the whole write timeout.
    fn must_go(&self, more: usize, now: Instant, limits: &Limits) -> bool {
        let too_far = self.backlog + more > limits.max_backlog && !self.keeps_up(now, limits);
        let too_long = self
            .behind_since
            .is_some_and(|since| now.duration_since(since) >= limits.write_timeout);
        too_far || too_long
    }

    /// Puts `line` in this peer's backlog. Returns `true` if the caller now
    /// holds the peer's pen and must write `line` to it; otherwise the line
    /// waits in the outbox for the pen's holder.
    fn queue(&mut self, line: &Arc<[u8]>, now: Instant, limits: &Limits) -> bool {
        self.add(line.len(), now, limits);
        match std::mem::replace(&mut self.pen, Pen::Held) {
            Pen::Down => true,
            Pen::Held => {
                self.outbox.push_back(Arc::clone(line));
                false
            }
            Pen::Parked(writer) => {
                self.outbox.push_back(Arc::clone(line));
                writer.notify_one();
                false
            }
        }
    }
}

/// The lines in the hand of a peer's pen: taken out of its outbox, to be
/// written outside the lock. `sent` bytes of the first are written already.
#[derive(Debug, Default)]
struct Hand {
    lines: VecDeque<Arc<[u8]>>,
    sent: usize,
}

impl Hand {
    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// One `writev` of everything in hand: it returns what the socket took,
    /// at once if it took it all, or after [`ONE_WRITE`] if it did not.
    fn write_to(&self, mut stream: &TcpStream) -> io::Result<usize> {
        let mut slices = Vec::with_capacity(self.lines.len());
        slices.extend(self.lines.iter().map(|line| IoSlice::new(line)));
        if let Some(first) = slices.first_mut() {
            *first = IoSlice::new(&self.lines[0][self.sent..]);
        }
        stream.write_vectored(&slices)
    }

    /// The socket took `n` bytes: drop what is written.
    fn advance(&mut self, mut n: usize) {
        while let Some(first) = self.lines.front() {
            let left = first.len() - self.sent;
            if n < left {
                self.sent += n;
                return;
            }
            n -= left;
            self.sent = 0;
            self.lines.pop_front();
        }
    }
}

/// What a write outside the lock came to, for the holder of a peer's pen.
enum Wrote {
    /// The socket took this many bytes (0: none within [`ONE_WRITE`]).
    Took(usize),
    /// The connection failed: reset, or closed.
    Failed,
}

impl From<io::Result<usize>> for Wrote {
    fn from(result: io::Result<usize>) -> Wrote {
        match result {
            Ok(n) => Wrote::Took(n),
            // SO_SNDTIMEO expired with nothing taken, or a signal came.
            Err(e) if is_waiting(&e) || e.kind() == io::ErrorKind::Interrupted => Wrote::Took(0),
            Err(_) => Wrote::Failed,
        }
    }
}

/// `WouldBlock` (Unix) or `TimedOut` (Windows): a socket timeout expired.
fn is_waiting(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The chat room: Node's `sockets` array, shared by every connection's
/// thread.
///
/// A `Room` is a handle: cloning it is cheap, and every clone is the same
/// room, with the same [`Limits`]. Make one and hand
/// [`handler`](Room::handler) to a [`tcp::Server`](crate::tcp::Server) (see
/// the [module](self) example).
#[derive(Debug, Clone)]
pub struct Room {
    /// The peers, in the order they joined: the `Arc` lets every
    /// connection's thread hold the list, the `Mutex` lets one of them at a
    /// time change it. A peer is pushed by [`join`](Room::join) and removed
    /// by [`leave`](Room::leave) or by an eviction. Held only to change the
    /// list and the outboxes, never while writing to a socket.
    peers: Arc<Mutex<Vec<Peer>>>,
    /// What the clones share besides the list.
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Senders waiting for a peer that is behind wait here, with the list's
    /// lock; a writer notifies them when a peer's socket took bytes, and
    /// an eviction or a leave when a peer is gone.
    moved: Condvar,
    /// How many senders wait on `moved`: changed under the list's lock, so
    /// that writers notify only when someone listens.
    waiting: AtomicUsize,
    /// Where the next [`PeerId`] comes from. Taken under the list's lock
    /// (so the list is in id order); an atomic only so that `Shared` needs
    /// no lock of its own.
    next_id: AtomicU64,
    /// The room's limits, fixed when it is made.
    limits: Limits,
}

impl Default for Room {
    fn default() -> Room {
        Room::new()
    }
}

impl Room {
    /// `let sockets = []`: an empty room, with the default [`Limits`].
    pub fn new() -> Room {
        Room::with_limits(Limits::default())
    }

    /// An empty room with these limits, for it and every clone of it.
    pub fn with_limits(limits: Limits) -> Room {
        Room {
            peers: Arc::new(Mutex::new(Vec::new())),
            shared: Arc::new(Shared {
                moved: Condvar::new(),
                waiting: AtomicUsize::new(0),
                next_id: AtomicU64::new(0),
                limits,
            }),
        }
    }

    /// The room's limits.
    pub fn limits(&self) -> Limits {
        self.shared.limits
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
    /// The room takes over the socket's write timeout (`SO_SNDTIMEO`, a
    /// setting of the socket, shared by every clone of the stream): it
    /// keeps each write short, and keeps its own deadline
    /// ([`Limits::write_timeout`]). Change it on a joined stream and a
    /// sender may wait on that peer for as long as you set.
    ///
    /// # Errors
    /// If the stream cannot be cloned (out of file descriptors) or its
    /// options cannot be set.
    pub fn join(&self, stream: &TcpStream) -> io::Result<PeerId> {
        let stream = stream.try_clone()?;
        stream.set_write_timeout(Some(ONE_WRITE))?;
        // No Nagle: by default the kernel holds back a small write while an
        // earlier one is unacknowledged, and a client that only listens
        // acknowledges late (a delayed ACK: up to 40 ms on Linux, 200 ms on
        // Windows). A chat line should
        // go now, and the room batches its writes itself (a pen's holder
        // writes everything in the outbox at once), so Nagle's batching buys
        // nothing here.
        stream.set_nodelay(true)?;
        // The id is taken under the lock, so the list stays in id order.
        let mut peers = self.peers();
        let id = PeerId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        peers.push(Peer::new(id, stream));
        Ok(id)
    }

    /// `sockets.splice(sockets.indexOf(socket), 1)`, done right: removes the
    /// peer `id` and returns `true`, or returns `false` if it is not in the
    /// room (it left already, or was evicted). Never removes anyone else.
    /// What the room still held for it is dropped.
    pub fn leave(&self, id: PeerId) -> bool {
        let mut peers = self.peers();
        // indexOf; unlike splice(-1, 1), a missing peer removes nothing.
        match find(&peers, id) {
            Some(index) => {
                self.forget(&mut peers, index);
                true
            }
            None => false,
        }
    }

    /// `sockets.forEach(other => other !== socket && other.write(data))`:
    /// gives `lines` to every peer but `from`, in the one order everyone
    /// sees, and writes them to each peer that has nothing else waiting.
    ///
    /// `lines` should be complete lines: the room sends what it is given.
    /// [`ChatHandler`] gives it all the complete lines of one read at once.
    ///
    /// The lock decides the order, and nothing waits for a socket while it
    /// is held. In three steps:
    ///
    /// 1. **Under the lock, the order.** The lines join the outbox of every
    ///    other peer. A peer whose pen is down (nothing waiting for it) has
    ///    its pen picked up by this call.
    /// 2. **Outside the lock, the writes.** One write to each peer whose pen
    ///    this call holds. A socket with room takes the lines at once; one
    ///    without waits at most a few milliseconds (the socket's write
    ///    timeout that [`join`](Room::join) set).
    /// 3. **Under the lock, the pens.** A peer whose socket took it all,
    ///    with nothing new in its outbox, gets its pen put down. Any other
    ///    gets a writer thread of its own, which writes its backlog and
    ///    ends once it has been empty for a while: a peer has a writer
    ///    thread only while it is behind (or its room is busy).
    ///
    /// **Backpressure.** Before step 1, this call waits while a peer that
    /// keeps up (its socket took a byte within [`Limits::max_stall`]) is more than
    /// half of [`Limits::max_backlog`] behind: the sender is slowed down to
    /// the pace of the slowest reader that is really reading, and its own
    /// client's socket fills while it waits. A peer that does not keep up
    /// is not waited for: it is **evicted** when these lines would take its
    /// backlog past the cap, or once it has been more than half the cap
    /// behind for [`Limits::write_timeout`], keeping up or not. Its writer
    /// evicts it too when its socket takes no byte for that long. Evicted:
    /// removed from the room, and its connection shut down both ways, which
    /// ends its thread (at once on Linux and macOS; on Windows when the
    /// client closes, see
    /// [`Closer::end_connections`](crate::tcp::Closer::end_connections)).
    ///
    /// # Errors
    /// `NotConnected` if `from` is not in the room: it was evicted, and its
    /// lines go nowhere (a line is only ever given to the peers in the room
    /// when it was said, and only while its sender is one of them).
    pub fn broadcast_from(&self, from: PeerId, lines: &[u8]) -> io::Result<()> {
        self.relay(Some(from), lines)
    }

    /// `sockets.forEach(socket => socket.write(data))`: gives `lines` to
    /// every peer, as [`broadcast_from`](Room::broadcast_from) does for a
    /// client's, with the same order, backpressure and evictions. For what
    /// the server itself says: a welcome, `server closing`.
    ///
    /// # Errors
    /// None today; the `Result` is [`broadcast_from`](Room::broadcast_from)'s.
    pub fn broadcast(&self, lines: &[u8]) -> io::Result<()> {
        self.relay(None, lines)
    }

    /// [`broadcast_from`](Room::broadcast_from) `from`, or from the server
    /// itself (`None`): the three steps.
    fn relay(&self, from: Option<PeerId>, lines: &[u8]) -> io::Result<()> {
        let limits = &self.shared.limits;
        let line: Arc<[u8]> = Arc::from(lines);
        // 1. Under the lock: wait for whoever keeps up but is behind, then
        //    give the lines to everyone else, in the one order.
        let mut pens = Vec::new();
        {
            let mut peers = self.make_way(from, line.len())?;
            let now = Instant::now();
            for peer in peers.iter_mut().filter(|peer| Some(peer.id) != from) {
                // if (otherSocket !== socket)
                if peer.queue(&line, now, limits) {
                    pens.push((peer.id, Arc::clone(&peer.stream)));
                }
            }
        }
        // 2. Outside the lock: otherSocket.write(data), for the peers whose
        //    pen we picked up. Each write is bounded by ONE_WRITE.
        let wrote: Vec<Wrote> = pens
            .iter()
            .map(|(_, stream)| (&**stream).write(&line).into())
            .collect();
        // 3. Under the lock: put each pen down, or hand it to a writer.
        let mut writers = Vec::new();
        {
            let mut peers = self.peers();
            let now = Instant::now();
            for ((id, stream), wrote) in pens.into_iter().zip(wrote) {
                let Some(index) = find(&peers, id) else {
                    continue; // it left meanwhile
                };
                let Wrote::Took(n) = wrote else {
                    self.evict(&mut peers, index); // reset, or closed
                    continue;
                };
                let peer = &mut peers[index];
                peer.took(n, now, limits);
                if n == line.len() && peer.outbox.is_empty() {
                    peer.pen = Pen::Down;
                } else {
                    // The rest of our line first, then what joined since.
                    let mut hand = Hand {
                        lines: std::mem::take(&mut peer.outbox),
                        sent: 0,
                    };
                    hand.lines.push_front(Arc::clone(&line));
                    hand.advance(n);
                    writers.push((id, stream, hand));
                }
            }
            self.moved(&peers);
        }
        for (id, stream, hand) in writers {
            self.spawn_writer(id, stream, hand);
        }
        Ok(())
    }

    /// Step 0 of [`broadcast_from`](Room::broadcast_from): the list, locked,
    /// once `from` (or the server, `None`) may add `more` bytes to everyone
    /// else's backlog. Evicts who must go, and waits for who is worth
    /// waiting for.
    fn make_way(&self, from: Option<PeerId>, more: usize) -> io::Result<MutexGuard<'_, Vec<Peer>>> {
        let limits = &self.shared.limits;
        let mut peers = self.peers();
        loop {
            if from.is_some_and(|from| find(&peers, from).is_none()) {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "evicted from the chat room",
                ));
            }
            let now = Instant::now();
            let mut index = 0;
            while index < peers.len() {
                let peer = &peers[index];
                if Some(peer.id) != from && peer.must_go(more, now, limits) {
                    self.evict(&mut peers, index);
                } else {
                    index += 1;
                }
            }
            let until = peers
                .iter()
                .filter(|peer| Some(peer.id) != from)
                .filter_map(|peer| peer.worth_waiting_for(more, now, limits))
                .min();
            let Some(until) = until else {
                return Ok(peers);
            };
            // Wait, without the lock, until a socket takes bytes (a writer
            // tells us), a peer goes, or the peer stops being worth it.
            self.shared.waiting.fetch_add(1, Ordering::Relaxed);
            peers = self
                .shared
                .moved
                .wait_timeout(peers, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Tells the senders waiting in [`make_way`](Room::make_way), if any,
    /// that a backlog shrank or a peer went. Called with the list locked.
    fn moved(&self, _peers: &MutexGuard<'_, Vec<Peer>>) {
        if self.shared.waiting.load(Ordering::Relaxed) > 0 {
            self.shared.moved.notify_all();
        }
    }

    /// Removes the peer at `index`: what the room held for it is dropped,
    /// its writer (if parked) is woken to end, and waiting senders are told.
    fn forget(&self, peers: &mut MutexGuard<'_, Vec<Peer>>, index: usize) -> Peer {
        let peer = peers.remove(index);
        if let Pen::Parked(writer) = &peer.pen {
            writer.notify_one();
        }
        self.moved(peers);
        peer
    }

    /// Evicts the peer at `index`: forgets it, and shuts its connection down
    /// both ways, which ends its thread's blocking `read` (and so its
    /// thread, with `'close'`) and fails any write in progress to it.
    fn evict(&self, peers: &mut MutexGuard<'_, Vec<Peer>>, index: usize) {
        let peer = self.forget(peers, index);
        // Already closed, if it reset; either way it ends.
        let _ = peer.stream.shutdown(Shutdown::Both);
    }

    /// Starts the writer thread of peer `id`, holding its pen, with `hand`
    /// to write first. If no thread can be started, the peer is evicted:
    /// nobody else would ever write to it.
    fn spawn_writer(&self, id: PeerId, stream: Arc<TcpStream>, hand: Hand) {
        let room = self.clone();
        let spawned = thread::Builder::new()
            .name("chat writer".into())
            .spawn(move || room.write_for(id, &stream, hand));
        if spawned.is_err() {
            let mut peers = self.peers();
            if let Some(index) = find(&peers, id) {
                self.evict(&mut peers, index);
            }
        }
    }

    /// A peer's writer thread: writes what is in hand outside the lock,
    /// then, under the lock, takes what joined the outbox meanwhile, until
    /// the outbox has been empty for [`LINGER`]; then puts the pen down and
    /// ends. Ends at once when the peer leaves or is evicted, and evicts it
    /// when its socket takes no byte for the write timeout.
    fn write_for(&self, id: PeerId, stream: &TcpStream, mut hand: Hand) {
        let limits = &self.shared.limits;
        let parking = Arc::new(Condvar::new());
        let mut idle_since = None;
        loop {
            // otherSocket.write(...), outside the lock: at most ONE_WRITE.
            let wrote = if hand.is_empty() {
                Wrote::Took(0)
            } else {
                hand.write_to(stream).into()
            };
            let mut peers = self.peers();
            let now = Instant::now();
            let Some(index) = find(&peers, id) else {
                return; // it left, or was evicted
            };
            let Wrote::Took(n) = wrote else {
                self.evict(&mut peers, index);
                return;
            };
            let peer = &mut peers[index];
            hand.advance(n);
            peer.took(n, now, limits);
            if n > 0 {
                self.moved(&peers);
            }
            let peer = &mut peers[index];
            if !hand.is_empty() {
                if now.duration_since(peer.took) >= limits.write_timeout {
                    self.evict(&mut peers, index); // it takes nothing
                    return;
                }
                continue;
            }
            if !peer.outbox.is_empty() {
                hand.lines = std::mem::take(&mut peer.outbox);
                idle_since = None;
                continue;
            }
            // Nothing to write: wait for more, for a while.
            let idle = *idle_since.get_or_insert(now);
            let left = LINGER.saturating_sub(now.duration_since(idle));
            if left.is_zero() {
                peer.pen = Pen::Down;
                return;
            }
            peer.pen = Pen::Parked(Arc::clone(&parking));
            // Woken by a sender with more, by a leave or an eviction, or by
            // the time: look again.
            drop(parking.wait_timeout(peers, left));
        }
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
            lines: LineBuffer::new(self.shared.limits.max_line),
            listener,
        }
    }

    /// The peer list, locked. A thread that panicked holding the lock
    /// poisons it; the list is still whole (a push, a remove, or a change
    /// to one peer's counts never leaves it half done), so the others take
    /// the guard and go on.
    fn peers(&self) -> MutexGuard<'_, Vec<Peer>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where peer `id` is in the list: the list is in the order peers joined,
/// which is the order of their ids, so a binary search finds it.
fn find(peers: &[Peer], id: PeerId) -> Option<usize> {
    peers.binary_search_by_key(&id, |peer| peer.id).ok()
}

/// One client's connection to a [`Room`]: the body of the snippet's
/// `'connection'` listener, as a [`Handler`].
///
/// - `'connection'`: [`Room::join`].
/// - `'data'`: frames lines; all the complete lines of the read go to
///   [`Room::broadcast_from`] in one call. A line longer than
///   [`Limits::max_line`] cuts this client off (below).
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
        // Best effort: the socket's write timeout is the room's short one,
        // and these fail if the client is gone; then nobody is listening.
        let _ = socket.write_all(format!("error: {error}\n").as_bytes());
        let _ = socket.end();
        drain(
            socket.stream(),
            DRAIN_LIMIT,
            self.room.shared.limits.write_timeout,
        );
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
        self.keep(&data[end..]);
        Ok(handed)
    }

    /// Keeps `rest`, the start of a line, for the next read. The buffer
    /// grows as a `Vec` does (doubling), but never past `max_line`: an
    /// unfinished line costs its connection at most `max_line` bytes.
    fn keep(&mut self, rest: &[u8]) {
        let needed = self.partial.len() + rest.len(); // at most max_line
        if needed > self.partial.capacity() {
            let target = (self.partial.capacity() * 2).clamp(needed, self.max_line.max(needed));
            self.partial.reserve_exact(target - self.partial.len());
        }
        self.partial.extend_from_slice(rest);
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
            assert!(buffer.partial.capacity() <= 1000);
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
