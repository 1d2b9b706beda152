//! A chat room, as doc B's chat server builds one: every line a client sends
//! goes to every *other* client. Each client is a connection of the [`tcp`]
//! server, on its own thread; the room is one shared member list, an
//! `Arc<Mutex<Vec<Member>>>` in which each member holds its `TcpStream`
//! and its id.
//!
//! | Node (doc B)                                          | here                      |
//! |-------------------------------------------------------|---------------------------|
//! | `let sockets = []`                                    | [`Room::new`]             |
//! | `sockets.push(socket)`                                | [`Room::join`]            |
//! | `sockets.forEach(... otherSocket.write(data))`        | [`Room::broadcast_from`]  |
//! | `sockets.forEach(socket => socket.write(data))`       | [`Room::broadcast`]       |
//! | `sockets.splice(sockets.indexOf(socket), 1)`          | [`Room::leave`]           |
//! | `sockets.length`                                      | [`Room::len`]             |
//! | `socket.writableLength` (what Node holds for a socket) | a member's *SendQ*       |
//! | the `'connection'`, `'data'` and `'close'` listeners  | [`ChatHandler`]           |
//!
//! What the snippet leaves out, and this module adds:
//!
//! - **Lines, not chunks.** TCP is a byte stream: one message can arrive in
//!   two reads, or two in one. The snippet forwards whatever `'data'` holds,
//!   so two clients' messages can interleave inside a line. Here each
//!   connection keeps the start of a line until its `\n` arrives
//!   ([`LineBuffer`]); only complete lines are relayed, all the complete
//!   lines of one read at once, in one shared buffer.
//! - **No client waits for another.** Node's `write` never blocks: what a
//!   socket will not take, Node keeps in memory, without limit. A blocking
//!   `write` would do the opposite and make the sender wait for the
//!   slowest reader. The room does neither: what a member's socket will
//!   not take waits in the member's *SendQ*, which is bounded, and a member
//!   that cannot keep its SendQ under the bound is *evicted* (its
//!   connection shut down). The only pacing a client ever meets is its
//!   own: flood control on what it sends.
//! - **Removal by id.** A stream has no identity to compare, so each member
//!   gets a [`PeerId`]. The snippet's `splice(indexOf(socket), 1)` removes
//!   the *last* client when `indexOf` returns `-1`; [`Room::leave`] removes
//!   nothing when the id is not there.
//!
//! # The rules
//!
//! Each rule is written once, in the function named after it; the numbers
//! are [`Limits`].
//!
//! 1. **One order.** Under the room's lock, the complete lines of one read
//!    join the SendQ of every other member, so every client receives the
//!    room's lines in the same order: the order in which senders took the
//!    lock. Nothing under the lock touches a socket. (`Room::relay`)
//! 2. **One writer per socket.** Only the holder of a member's *writing
//!    turn* writes to its socket, so the bytes of two lines never
//!    interleave. A sender that finds a member with nothing queued takes
//!    the turn and writes to it itself, outside the lock, in one short
//!    attempt (the socket's write timeout, a few milliseconds at most).
//!    Whatever the socket did not take stays queued, and the member gets a
//!    *writer thread* of its own, which writes its SendQ until it is empty,
//!    and ends. A room where nobody is behind has no writer threads.
//!    (`Room::write_once`, `Room::write_for`)
//! 3. **The SendQ cap.** A member's SendQ is counted in line bytes plus
//!    [`ENTRY_OVERHEAD`] per queued line (the memory it really holds), and
//!    a member whose SendQ a line would take past [`Limits::max_sendq`] is
//!    evicted: IRC's "Max SendQ exceeded". (`sendq_cap`)
//! 4. **The room's total.** All SendQs together stay under
//!    [`Limits::max_room_sendq`]; when a line would take the total past it,
//!    the members with the largest SendQs are evicted first, until it
//!    fits. (`room_total`)
//! 5. **The write timeout.** A member whose socket takes no byte for
//!    [`Limits::write_timeout`] while it has lines queued is evicted: its
//!    writer thread's write waits that long, costing no CPU, and gives up.
//!    (`Room::write_for`)
//! 6. **Flood control.** Each connection may send [`Limits::flood_rate`]
//!    bytes a second after a burst of [`Limits::flood_burst`]; past it, its
//!    own thread sleeps before reading it again, so TCP slows the flooder
//!    alone. (`FloodControl`)
//! 7. **Every byte through the SendQ.** What the room says to one member
//!    (the line-too-long notice) takes the same path as the room's lines:
//!    it arrives whole, after whole lines, then FIN. (`Room::send_to`,
//!    `Room::end`)
//! 8. **Eviction never stalls the room.** An evicted member is taken out of
//!    the list under the lock, but its connection is shut down and its
//!    SendQ dropped (a hundred thousand lines, maybe) after the lock is let
//!    go. (`let_go`)
//!
//! Nothing is ever waited for: there is no backpressure. Every chat or
//! pub/sub server that has lived with hostile clients decouples them the
//! same way: IRC servers (SendQ, and "Excess Flood" for input), Redis
//! (`client-output-buffer-limit`, and `maxmemory-clients` for all clients
//! together, evicting the largest first), NATS (a slow consumer is cut off
//! past its pending bytes or its write deadline), the Go chat hub (a full
//! send channel drops the client), tokio's `broadcast` (a receiver that
//! falls behind the ring is told it lagged).
//!
//! Evicted: removed from the room, and its connection shut down both ways,
//! which ends its thread (at once on Linux and macOS; on Windows when the
//! client closes, see
//! [`Closer::end_connections`](crate::tcp::Closer::end_connections)).
//!
//! A line longer than [`Limits::max_line`] is an error for that client
//! only: it is told (rule 7), and disconnected.
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

mod flood;
mod handler;
mod limits;
mod lines;
mod room;
mod sendq;

use flood::FloodControl;
pub use handler::ChatHandler;
pub use limits::{
    Limits, DEFAULT_FLOOD_BURST, DEFAULT_FLOOD_RATE, DEFAULT_MAX_LINE, DEFAULT_MAX_ROOM_SENDQ,
    DEFAULT_MAX_SENDQ, DEFAULT_WRITE_TIMEOUT,
};
pub use lines::{lines, LineBuffer};
pub use room::{PeerId, Room};
pub use sendq::ENTRY_OVERHEAD;
