//! One client's connection to the room, as a [`tcp::Handler`](Handler):
//! the body of doc B's `'connection'` listener. It joins, frames lines,
//! keeps the client to its flood allowance (rule 6), tells a client whose
//! line is too long through its SendQ (rule 7), and leaves.

use super::{FloodControl, LineBuffer, PeerId, Room};
use crate::tcp::{Handler, OnlyWriter, Socket};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// At most this many bytes are read and thrown away after a client is told
/// its line is too long (see [`ChatHandler`]'s `cut_off`): about what a
/// client can have in flight, in both socket buffers, when it hears the news.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// A member's place in the room, as the socket's [`OnlyWriter`]: what the
/// socket writes joins the member's SendQ, behind the room's lines.
#[derive(Debug)]
struct Membership {
    room: Room,
    id: PeerId,
}

impl OnlyWriter for Membership {
    fn write(&self, data: &[u8]) -> Option<io::Result<()>> {
        self.room.send_to(self.id, data)
    }

    fn end(&self) -> Option<()> {
        self.room.end(self.id)
    }
}

/// One client's connection to a [`Room`]: the body of the snippet's
/// `'connection'` listener, as a [`Handler`].
///
/// - `'connection'`: [`Room::join`].
/// - `'data'`: frames lines; all the complete lines of the read go to
///   [`Room::broadcast_from`] in one call. Then flood control (rule 6):
///   past its allowance, this thread sleeps before it reads again. A line
///   longer than [`Limits::max_line`](super::Limits::max_line) cuts this
///   client off (below).
/// - `'end'` and `'close'`: [`Room::leave`]. An unfinished last line is
///   dropped: without its `\n` there is no telling whether the client died
///   mid-line. So is what the room still held for the client: it ended
///   its side, and is leaving.
///
/// Each event is then passed on to the listener of
/// [`Room::handler_with`]. Dropping the handler (a panic in the listener
/// included) also leaves the room.
///
/// A client whose line is too long is sent `error: line longer than N
/// bytes\n` through its SendQ, after every whole line queued for it (rule
/// 7), then FIN, and the connection closes with that error
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
    pub(super) room: Room,
    /// This connection's id in the room: `Some` from `'connection'` until it
    /// leaves (taken then, so it leaves once).
    pub(super) id: Option<PeerId>,
    /// The start of a line whose `\n` has not arrived yet; empty, and
    /// holding no memory, between lines.
    pub(super) lines: LineBuffer,
    /// This client's flood allowance; `None` when the room has no flood
    /// control.
    pub(super) flood: Option<FloodControl>,
    /// The program's own listener for this connection's events.
    pub(super) listener: L,
}

impl<L> ChatHandler<L> {
    /// `sockets.splice(...)`, once.
    fn leave(&mut self) {
        if let Some(id) = self.id.take() {
            self.room.leave(id);
        }
    }

    /// The line-too-long path: tell, end, drain (see the type's docs),
    /// leave, and return the error that closes the connection. The socket's
    /// write and end go through the member's SendQ (rule 7): the notice
    /// comes after whole lines, never inside one, and FIN after it.
    fn cut_off(&mut self, socket: &mut Socket, error: io::Error) -> io::Error {
        // Best effort: these fail if the client is gone already; then
        // nobody is listening.
        let _ = writeln!(socket, "error: {error}");
        let _ = socket.end();
        drain(
            socket.stream(),
            DRAIN_LIMIT,
            self.room.limits().write_timeout,
        );
        self.leave();
        error
    }
}

impl<L: Handler> Handler for ChatHandler<L> {
    // 'connection': sockets.push(socket). Join first, so that the listener
    // hears of a client that is in the room already.
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        let id = self.room.join(socket.stream())?;
        self.id = Some(id);
        // Rule 7: from now on the socket's writes go through the SendQ.
        socket.writer = Some(Box::new(Membership {
            room: self.room.clone(),
            id,
        }));
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
        self.listener.on_data(socket, data)?;
        // Rule 6, flood control: past its allowance, this client is read
        // no faster than its rate. Only its own thread waits.
        if let Some(flood) = &mut self.flood {
            flood.pace(data.len());
        }
        Ok(())
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
