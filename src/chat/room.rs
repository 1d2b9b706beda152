//! The room: Node's `sockets` array, shared by every connection's thread,
//! and the relay that gives each line to every other member. Rules 1 to 5
//! and 8 of the [module](super) docs live here, each in one function.

use super::sendq::{write_batch, SendQ};
use super::{ChatHandler, FloodControl, Limits, LineBuffer};
use crate::tcp::Handler;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// The one short write a sender makes to a member whose writing turn it
/// took (rule 2): the socket's write timeout (`SO_SNDTIMEO`) while no
/// writer thread holds the turn. A socket with room takes the bytes at
/// once; one without gives up after this, rounded up to the kernel's
/// clock: a tick of 1 to 10 ms on Linux (4 ms at the usual 250 Hz), 10 ms
/// on macOS. On Windows the timeout is in milliseconds, but a send that
/// timed out leaves the socket in an indeterminate state (Winsock's
/// documentation of `SO_SNDTIMEO`), so there the member is evicted: see
/// [`took`].
const ONE_WRITE: Duration = Duration::from_millis(1);

/// A member's identity in a [`Room`]: the number [`Room::join`] gave it.
///
/// Node compares sockets by identity (`otherSocket !== socket`); in Rust two
/// clones of one connection are different values, so the room numbers its
/// members instead. Ids are never reused within a room, and grow with each
/// join, so the member list, in the order members joined, is sorted by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(u64);

/// One client in the room.
#[derive(Debug)]
struct Member {
    /// Its number, given by [`Room::join`]; how [`Room::leave`] and its
    /// writer find it.
    id: PeerId,
    /// A clone of the client's connection (`try_clone`: a second descriptor
    /// for the same socket), shared (`Arc`) with whoever holds its writing
    /// turn, so that it can write outside the lock. When the member leaves,
    /// the room forgets it; the connection lives on until its own thread
    /// drops the original stream, just before `'close'`.
    stream: Arc<TcpStream>,
    /// What the room holds for it, in the room's order.
    sendq: SendQ,
    /// Whether someone holds its writing turn (rule 2): only the holder
    /// writes to its socket, so two writes never interleave, and lines go
    /// out in their SendQ's order. The turn is held exactly while the SendQ
    /// holds something: by the sender that queued the first line, for one
    /// short write, then, if that did not take everything, by the member's
    /// writer thread, until the SendQ is empty.
    writing: bool,
    /// Set by [`Room::end`]: it hears nothing said after, and its writer
    /// sends FIN once its SendQ is empty (Node's `socket.end()`).
    ended: bool,
}

impl Member {
    fn new(id: PeerId, stream: TcpStream) -> Member {
        Member {
            id,
            stream: Arc::new(stream),
            sendq: SendQ::default(),
            writing: false,
            ended: false,
        }
    }
}

/// A member whose writing turn a sender took, to write to outside the lock.
type Turn = (PeerId, Arc<TcpStream>);

/// The chat room: Node's `sockets` array, shared by every connection's
/// thread.
///
/// A `Room` is a handle: cloning it is cheap, and every clone is the same
/// room, with the same [`Limits`]. Make one and hand
/// [`handler`](Room::handler) to a [`tcp::Server`](crate::tcp::Server) (see
/// the [module](super) example).
#[derive(Debug, Clone)]
pub struct Room {
    /// The members, in the order they joined: the `Arc` lets every
    /// connection's thread hold the list, the `Mutex` lets one of them at a
    /// time change it. A member is pushed by [`join`](Room::join) and
    /// removed by [`leave`](Room::leave) or by an eviction. Held to put
    /// lines in order and to count, never while writing to a socket.
    members: Arc<Mutex<Vec<Member>>>,
    /// What the clones share besides the list.
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
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
            members: Arc::new(Mutex::new(Vec::new())),
            shared: Arc::new(Shared {
                next_id: AtomicU64::new(0),
                limits,
            }),
        }
    }

    /// The room's limits.
    pub fn limits(&self) -> Limits {
        self.shared.limits
    }

    /// `sockets.length`: how many members are in the room now.
    pub fn len(&self) -> usize {
        self.members().len()
    }

    /// Whether the room is empty.
    pub fn is_empty(&self) -> bool {
        self.members().is_empty()
    }

    /// `sockets.push(socket)`: adds a member writing through a clone of
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
    /// keeps a sender's write short, and a writer thread's as long as
    /// [`Limits::write_timeout`]. Leave it alone on a joined stream.
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
        // Windows). A chat line should go now, and the room batches its
        // writes itself (a writer writes all it holds at once), so Nagle's
        // batching buys nothing here.
        stream.set_nodelay(true)?;
        // The id is taken under the lock, so the list stays in id order.
        let mut members = self.members();
        let id = PeerId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        members.push(Member::new(id, stream));
        Ok(id)
    }

    /// `sockets.splice(sockets.indexOf(socket), 1)`, done right: removes the
    /// member `id` and returns `true`, or returns `false` if it is not in
    /// the room (it left already, or was evicted). Never removes anyone
    /// else.
    ///
    /// What the room still held for it is dropped. If someone was writing
    /// to it (its SendQ was not empty), its socket is shut down for writing
    /// (FIN), which ends that write at once: a line may be cut short, but
    /// the connection is ending, and no thread of the room keeps it open.
    pub fn leave(&self, id: PeerId) -> bool {
        let mut members = self.members();
        // indexOf; unlike splice(-1, 1), a missing member removes nothing.
        let Some(index) = find(&members, id) else {
            return false;
        };
        let member = members.remove(index);
        drop(members);
        // Rule 8: off the lock, the member's SendQ is dropped, and the
        // write in progress to it, if any, ended.
        if member.writing {
            let _ = member.stream.shutdown(Shutdown::Write);
        }
        true
    }

    /// `sockets.forEach(other => other !== socket && other.write(data))`:
    /// gives `lines` to every member but `from`, in the one order everyone
    /// sees (rule 1), and writes them to each member that had nothing else
    /// waiting (rule 2). No member is waited for: one that cannot take its
    /// lines is evicted by the rules of the [module](super) docs.
    ///
    /// `lines` should be complete lines: the room sends what it is given.
    /// [`ChatHandler`] gives it all the complete lines of one read at once,
    /// one shared buffer for everyone.
    ///
    /// # Errors
    /// `NotConnected` if `from` is not in the room: it was evicted, and its
    /// lines go nowhere (a line is only ever given to the members in the
    /// room when it was said, and only while its sender is one of them).
    pub fn broadcast_from(&self, from: PeerId, lines: &[u8]) -> io::Result<()> {
        let members = self.members();
        if find(&members, from).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "evicted from the chat room",
            ));
        }
        self.relay(members, lines, |member| member.id != from && !member.ended);
        Ok(())
    }

    /// `sockets.forEach(socket => socket.write(data))`: gives `lines` to
    /// every member, as [`broadcast_from`](Room::broadcast_from) does for a
    /// client's, by the same rules. For what the server itself says: a
    /// welcome, `server closing`.
    pub fn broadcast(&self, lines: &[u8]) {
        self.relay(self.members(), lines, |member| !member.ended);
    }

    /// `socket.write(data)` for one member while it is in the room: `data`
    /// joins its SendQ behind what the room queued for it, by the same
    /// rules (rule 7). `None` if `id` is not in the room.
    ///
    /// # Errors
    /// `BrokenPipe` after [`end`](Room::end); `NotConnected` if `data`
    /// took its SendQ past the cap and it was evicted.
    pub(crate) fn send_to(&self, id: PeerId, data: &[u8]) -> Option<io::Result<()>> {
        let members = self.members();
        let index = find(&members, id)?;
        if members[index].ended {
            return Some(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after end()",
            )));
        }
        let evicted = self.relay(members, data, |member| member.id == id);
        Some(match evicted {
            false => Ok(()),
            true => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "evicted from the chat room",
            )),
        })
    }

    /// `socket.end()` for one member while it is in the room: it hears
    /// nothing said from now on, and once its SendQ is written, its socket
    /// is shut down for writing (FIN). `None` if `id` is not in the room.
    pub(crate) fn end(&self, id: PeerId) -> Option<()> {
        let mut members = self.members();
        let index = find(&members, id)?;
        let member = &mut members[index];
        member.ended = true;
        // Nothing waits for it: FIN now. Otherwise the holder of its turn
        // sends FIN once the SendQ is empty.
        let fin_now = (!member.writing).then(|| Arc::clone(&member.stream));
        drop(members);
        if let Some(stream) = fin_now {
            let _ = stream.shutdown(Shutdown::Write);
        }
        Some(())
    }

    /// The relay, for every member `to` picks: rules 3 and 4 under the lock,
    /// then rule 1 (the lines join every SendQ, in one order) and rule 2
    /// (each member with nothing queued gets one short write from this
    /// thread, outside the lock). Returns whether a member `to` picked was
    /// evicted.
    fn relay(
        &self,
        mut members: MutexGuard<'_, Vec<Member>>,
        lines: &[u8],
        to: impl Fn(&Member) -> bool,
    ) -> bool {
        let line: Arc<[u8]> = Arc::from(lines);
        let limits = &self.shared.limits;
        let mut evicted = Vec::new();
        sendq_cap(&mut members, &line, &to, limits, &mut evicted);
        room_total(&mut members, &line, &to, limits, &mut evicted);
        // Rule 1, one order: the line joins the SendQ of every member it is
        // for, under the lock, so every SendQ has the room's lines in the
        // order senders took the lock.
        let mut turns: Vec<Turn> = Vec::new();
        for member in members.iter_mut().filter(|member| to(member)) {
            member.sendq.push(Arc::clone(&line));
            // Rule 2: nobody writes to it; this thread takes the turn.
            if !member.writing {
                member.writing = true;
                turns.push((member.id, Arc::clone(&member.stream)));
            }
        }
        let evicted_any = evicted.iter().any(&to);
        let_go(members, evicted);
        self.write_once(turns, &line);
        evicted_any
    }

    /// Rule 2, the sender's part: one short write of `line` to each member
    /// whose turn it took, outside the lock; then, under the lock, the turn
    /// is given back if the socket took everything, or handed to a writer
    /// thread of the member's own if it did not.
    fn write_once(&self, turns: Vec<Turn>, line: &[u8]) {
        if turns.is_empty() {
            return;
        }
        // otherSocket.write(data): at most ONE_WRITE each (the socket's
        // write timeout while no writer thread holds the turn).
        let wrote: Vec<Option<usize>> = turns
            .iter()
            .map(|(_, stream)| took((&**stream).write(line)))
            .collect();
        let mut members = self.members();
        let mut evicted = Vec::new();
        let mut writers = Vec::new();
        let mut fins = Vec::new();
        for ((id, stream), wrote) in turns.into_iter().zip(wrote) {
            let Some(index) = find(&members, id) else {
                continue; // it left meanwhile
            };
            let Some(n) = wrote else {
                evicted.push(members.remove(index)); // reset, or closed
                continue;
            };
            let member = &mut members[index];
            member.sendq.took(n);
            if !member.sendq.is_empty() {
                writers.push((id, stream)); // the turn goes to it
            } else {
                member.writing = false;
                if member.ended {
                    fins.push(stream);
                }
            }
        }
        let_go(members, evicted);
        for stream in fins {
            let _ = stream.shutdown(Shutdown::Write);
        }
        for (id, stream) in writers {
            self.spawn_writer(id, stream);
        }
    }

    /// Starts the writer thread of member `id`, which holds its turn. If no
    /// thread can be started, the member is evicted: nobody else would ever
    /// write to it.
    fn spawn_writer(&self, id: PeerId, stream: Arc<TcpStream>) {
        let room = self.clone();
        let spawned = thread::Builder::new()
            .name("chat writer".into())
            .spawn(move || room.write_for(id, &stream));
        if spawned.is_err() {
            let mut members = self.members();
            if let Some(index) = find(&members, id) {
                let member = members.remove(index);
                let_go(members, vec![member]);
            }
        }
    }

    /// A member's writer thread (rules 2 and 5): writes its SendQ, at most
    /// 1,024 lines a write, outside the lock, until it is empty; then gives
    /// the turn back and ends. Ends at once when the member leaves or is
    /// evicted.
    ///
    /// While it holds the turn, the socket's write timeout is the room's
    /// [`Limits::write_timeout`]: a write waits, costing no CPU, while a
    /// slow reader reads, and a write that took nothing for that long is
    /// rule 5, the write timeout.
    fn write_for(&self, id: PeerId, stream: &TcpStream) {
        let limits = &self.shared.limits;
        // SO_SNDTIMEO cannot be zero: a zero write timeout is one short write.
        let _ = stream.set_write_timeout(Some(limits.write_timeout.max(ONE_WRITE)));
        let mut batch = Vec::new();
        loop {
            // Under the lock: the next lines, or the end of the turn.
            let mut members = self.members();
            let Some(index) = find(&members, id) else {
                return; // it left, or was evicted
            };
            let member = &mut members[index];
            if member.sendq.is_empty() {
                // Give the turn back, with the short write timeout that a
                // sender's write expects (a setting, not I/O: it never
                // waits for the peer).
                let _ = stream.set_write_timeout(Some(ONE_WRITE));
                member.writing = false;
                let fin = member.ended;
                drop(members);
                if fin {
                    let _ = stream.shutdown(Shutdown::Write);
                }
                return;
            }
            let sent = member.sendq.front(&mut batch);
            drop(members);

            // otherSocket.write(...), outside the lock.
            let wrote = write_batch(stream, &batch, sent);
            batch.clear();

            let mut members = self.members();
            let Some(index) = find(&members, id) else {
                return;
            };
            match wrote {
                Ok(n) if n > 0 => members[index].sendq.took(n),
                // A signal came first: write again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Rule 5, the write timeout: nothing taken for
                // write_timeout (`WouldBlock` on Linux and macOS,
                // `TimedOut` on Windows), or the connection failed.
                _ => {
                    let member = members.remove(index);
                    let_go(members, vec![member]);
                    return;
                }
            }
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
        let limits = &self.shared.limits;
        ChatHandler {
            room: self.clone(),
            id: None,
            lines: LineBuffer::new(limits.max_line),
            flood: FloodControl::new(limits.flood_rate, limits.flood_burst),
            listener,
        }
    }

    /// The member list, locked. A thread that panicked holding the lock
    /// poisons it; the list is still whole (a push, a remove, or a change
    /// to one member's SendQ never leaves it half done), so the others take
    /// the guard and go on.
    fn members(&self) -> MutexGuard<'_, Vec<Member>> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Rule 3, the SendQ cap (IRC's "Max SendQ exceeded", Redis's
/// `client-output-buffer-limit`): a member that `line` would take past
/// [`Limits::max_sendq`] is evicted.
fn sendq_cap(
    members: &mut Vec<Member>,
    line: &[u8],
    to: impl Fn(&Member) -> bool,
    limits: &Limits,
    evicted: &mut Vec<Member>,
) {
    let cost = SendQ::cost(line);
    let mut index = 0;
    while index < members.len() {
        let member = &members[index];
        if to(member) && member.sendq.bytes() + cost > limits.max_sendq {
            evicted.push(members.remove(index));
        } else {
            index += 1;
        }
    }
}

/// Rule 4, the room's total (Redis's `maxmemory-clients`): when `line`
/// would take the sum of all SendQs past [`Limits::max_room_sendq`], the
/// members with the largest SendQs are evicted first, until it fits. A
/// member with nothing queued is never evicted for it.
fn room_total(
    members: &mut Vec<Member>,
    line: &[u8],
    to: impl Fn(&Member) -> bool,
    limits: &Limits,
    evicted: &mut Vec<Member>,
) {
    let cost = SendQ::cost(line);
    let total = |members: &[Member]| -> usize {
        let queued: usize = members.iter().map(|member| member.sendq.bytes()).sum();
        let adding = members.iter().filter(|member| to(member)).count() * cost;
        queued + adding
    };
    while total(members) > limits.max_room_sendq {
        let largest = members
            .iter()
            .enumerate()
            .filter(|(_, member)| !member.sendq.is_empty())
            .max_by_key(|(_, member)| member.sendq.bytes());
        let Some((index, _)) = largest else {
            return; // only the new line itself: it goes out at once
        };
        evicted.push(members.remove(index));
    }
}

/// Rule 8, eviction never stalls the room: lets go of the lock first, then
/// shuts each evicted member's connection down both ways, which ends its
/// thread's blocking `read` (and so its thread, with `'close'`) and any
/// write in progress to it, and drops what the room held for it (a SendQ
/// can hold a hundred thousand lines). Taking the guard by value is what
/// makes "after the lock" the only way to call it.
fn let_go(members: MutexGuard<'_, Vec<Member>>, evicted: Vec<Member>) {
    drop(members);
    for member in evicted {
        let stream = Arc::clone(&member.stream);
        // Its SendQ first, then its connection: the lock is free for both.
        drop(member);
        // Already closed, if it reset; either way it ends.
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// What a sender's short write came to: `Some(bytes the socket took)`,
/// or `None` when the member must be evicted.
///
/// `WouldBlock` is how Linux and macOS say that `SO_SNDTIMEO` expired with
/// nothing taken: the socket is as it was, and 0 bytes were taken.
/// `TimedOut` is how Windows says it, and there the socket is left in an
/// indeterminate state: it cannot be written again, so that member goes.
fn took(result: io::Result<usize>) -> Option<usize> {
    match result {
        Ok(n) => Some(n),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Some(0)
        }
        // TimedOut (Windows), reset, closed.
        Err(_) => None,
    }
}

/// Where member `id` is in the list: the list is in the order members
/// joined, which is the order of their ids, so a binary search finds it.
fn find(members: &[Member], id: PeerId) -> Option<usize> {
    members.binary_search_by_key(&id, |member| member.id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::net::TcpListener;
    use std::sync::Weak;

    /// A connected pair on loopback: (the server's end, the client's end).
    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    /// A room being watched, and for each member dropped on this thread
    /// since, whether the room's lock was free at that moment.
    type Watch = (Weak<Mutex<Vec<Member>>>, Vec<bool>);

    thread_local! {
        /// The room a test on this thread watches, if any.
        static WATCHED: RefCell<Option<Watch>> = const { RefCell::new(None) };
    }

    impl Drop for Member {
        fn drop(&mut self) {
            WATCHED.with(|watched| {
                if let Some((room, drops)) = &mut *watched.borrow_mut() {
                    if let Some(room) = room.upgrade() {
                        drops.push(room.try_lock().is_ok());
                    }
                }
            });
        }
    }

    #[test]
    fn evicted_and_leaving_members_are_dropped_off_the_lock() {
        // Rule 8: a member, and the SendQ it holds, is never dropped while
        // the room's lock is held, by whichever path it goes.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let room = Room::with_limits(
            Limits::default()
                .max_sendq(256 * 1024)
                .write_timeout(Duration::from_secs(600)),
        );
        let (stuck, _stuck_client) = pair(&listener); // never reads
        let (talker, _talker_client) = pair(&listener);
        let (leaver, _leaver_client) = pair(&listener);
        room.join(&stuck).unwrap();
        let talker = room.join(&talker).unwrap();
        let leaver = room.join(&leaver).unwrap();
        WATCHED.with(|watched| {
            *watched.borrow_mut() = Some((Arc::downgrade(&room.members), Vec::new()))
        });

        assert!(room.leave(leaver));
        // The stuck member's kernel buffers fill, then its SendQ, until the
        // cap evicts it (in at most 100 MB).
        let line = [[b'x'; 999].as_slice(), b"\n"].concat();
        for _ in 0..100_000 {
            room.broadcast_from(talker, &line).unwrap();
            if room.len() == 1 {
                break;
            }
        }
        assert_eq!(room.len(), 1, "the stuck member was never evicted");

        let drops = WATCHED.with(|watched| watched.borrow_mut().take().unwrap().1);
        assert_eq!(drops, [true, true], "dropped with the lock held");
    }

    /// A member with `lines` copies of `line` in its SendQ: counted, never
    /// written (nothing here writes). The client's end is returned too, to
    /// keep the connection open.
    fn member(listener: &TcpListener, id: u64, lines: usize, line: &[u8]) -> (Member, TcpStream) {
        let (server, client) = pair(listener);
        let mut member = Member::new(PeerId(id), server);
        for _ in 0..lines {
            member.sendq.push(Arc::from(line));
        }
        (member, client)
    }

    /// The ids of `members`.
    fn ids(members: &[Member]) -> Vec<u64> {
        members.iter().map(|member| member.id.0).collect()
    }

    #[test]
    fn the_sendq_cap_evicts_only_who_the_line_would_take_past_it() {
        // Rule 3 at its edge: a SendQ may reach the cap exactly, not pass
        // it, and only the members the line is for are counted against it.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let line = b"hello\n";
        let cost = SendQ::cost(line);
        let limits = Limits::default().max_sendq(3 * cost);
        let mut clients = Vec::new();
        let mut members = Vec::new();
        // 0: reaches the cap exactly; 1: would pass it; 2: would pass it,
        // but the line is not for it; 3: has nothing queued.
        for (id, queued) in [(0, 2), (1, 3), (2, 3), (3, 0)] {
            let (member, client) = member(&listener, id, queued, line);
            members.push(member);
            clients.push(client);
        }
        let mut evicted = Vec::new();
        sendq_cap(
            &mut members,
            line,
            |member| member.id.0 != 2,
            &limits,
            &mut evicted,
        );
        assert_eq!(ids(&evicted), [1]);
        assert_eq!(ids(&members), [0, 2, 3]);
    }

    #[test]
    fn the_room_total_evicts_the_largest_sendqs_until_the_line_fits() {
        // Rule 4 at its edge: the total is every SendQ plus the line once
        // for each member it is for; reaching the room's cap exactly is
        // allowed, passing it evicts the largest SendQ first, and no more
        // than needed; an empty SendQ is never evicted for it.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let line = b"hello\n";
        let cost = SendQ::cost(line);
        let mut clients = Vec::new();
        let mut room = |queued: &[usize]| -> Vec<Member> {
            let mut members = Vec::new();
            for (id, &queued) in queued.iter().enumerate() {
                let (member, client) = member(&listener, id as u64, queued, line);
                members.push(member);
                clients.push(client);
            }
            members
        };
        // The line is for 0, 1 and 3, not 2: 6 lines queued, 3 added.
        let to = |member: &Member| member.id.0 != 2;
        let total = 9 * cost;
        for (max, evicted_ids) in [
            (total, vec![]),
            (total - 1, vec![0]),
            (4 * cost, vec![0, 2]),
        ] {
            let mut members = room(&[3, 1, 2, 0]);
            let mut evicted = Vec::new();
            room_total(
                &mut members,
                line,
                to,
                &Limits::default().max_room_sendq(max),
                &mut evicted,
            );
            assert_eq!(ids(&evicted), evicted_ids, "room cap {max}");
        }
        // Only the line itself is past the cap: nobody is evicted for it.
        let mut members = room(&[0, 0]);
        let mut evicted = Vec::new();
        room_total(
            &mut members,
            line,
            |_| true,
            &Limits::default().max_room_sendq(cost),
            &mut evicted,
        );
        assert!(evicted.is_empty());
        assert_eq!(members.len(), 2);
    }

    #[test]
    fn a_poisoned_room_goes_on() {
        let room = Room::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (stream, _client) = pair(&listener);
        let id = room.join(&stream).unwrap();
        // A thread panics while it holds the lock.
        let members = Arc::clone(&room.members);
        let _ = thread::spawn(move || {
            let _guard = members.lock().unwrap();
            panic!("a client's thread panicked");
        })
        .join();
        assert!(room.members.is_poisoned());
        assert_eq!(room.len(), 1);
        room.broadcast_from(id, b"still here\n").unwrap();
        assert!(room.leave(id));
        assert!(room.is_empty());
    }
}
