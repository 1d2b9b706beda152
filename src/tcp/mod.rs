//! TCP as Node's `net` module tells it, built on `std::net`: one accept loop,
//! one thread per connection, and one read loop that calls your [`Handler`]
//! at each moment Node would emit an event.
//!
//! Nothing here is asynchronous. Every Node event is a blocking call that
//! returned, and the comment at each call says which event it is:
//!
//! | Node                          | here                          | the `std::net` fact behind it                  |
//! |-------------------------------|-------------------------------|------------------------------------------------|
//! | `server.listen()`/`'listening'` | [`Server::bind`] returns `Ok` | `TcpListener::bind` returned `Ok`            |
//! | `'connection'`                | [`Handler::on_connection`]    | `TcpListener::accept` returned a `TcpStream`   |
//! | `'connect'`                   | [`Handler::on_connect`]       | `TcpStream::connect` returned `Ok`             |
//! | `'data'`                      | [`Handler::on_data`]          | `read` returned `Ok(n)`, `n > 0`               |
//! | `'end'`                       | [`Handler::on_end`]           | `read` returned `Ok(0)`: the peer sent FIN     |
//! | `'timeout'`                   | [`Handler::on_timeout`]       | `read` failed with `WouldBlock` after [`Socket::set_timeout`], or a write waited its write timeout |
//! | `'error'` (socket)            | [`Handler::on_error`]         | `read`/`write` (or your handler) returned `Err` |
//! | `'close'` (socket)            | [`Handler::on_close`]         | the read loop is over and the stream is dropped |
//! | `'drain'`                     | `socket.write_all(..)` returns ([`io::Write`]) | `write_all` returns once the kernel took every byte |
//! | `socket.end()`                | [`Socket::end`]               | `shutdown(Shutdown::Write)`                    |
//! | `server.close()`/`'close'`    | [`ServerHandle::close`], [`Server::on_close`] | the listener is dropped; every connection thread is joined |
//! | `'error'` (server)            | [`Server::on_error`]          | `accept` returned `Err`                        |
//! | `'drop'` (`maxConnections`)   | [`Server::on_drop`]           | a connection over a limit is closed at once, or gives its seat to a newcomer, and why ([`DropReason`]) |
//!
//! A server that greets each client and answers every chunk. A [`Socket`]
//! is written as a `TcpStream` is, through [`io::Write`]: Node's
//! `socket.write` takes a string, here it takes bytes (`b"hello\n"`, or
//! `"你好".as_bytes()`).
//!
//! ```no_run
//! use netcourse::tcp::{Handler, Server, Socket};
//! use std::io::{self, Write};
//!
//! struct Greeter;
//!
//! impl Handler for Greeter {
//!     fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
//!         socket.write_all(b"hello\n")
//!     }
//!     fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
//!         socket.write_all(b"got it\n")
//!     }
//! }
//!
//! fn main() -> io::Result<()> {
//!     let server = Server::bind("127.0.0.1:8124")?; // 'listening'
//!     server.serve(|| Greeter) // runs until the process ends
//! }
//! ```
//!
//! ## The names
//!
//! [`udp`](crate::udp) has a `Handler` and a `Socket` too. The names are
//! Node's, one to one: Node calls both of its sockets `Socket`
//! (`net.Socket` here, `dgram.Socket` there), and the course keeps every
//! Node name. Where both appear, name them by their module, `tcp::Socket`
//! and `udp::Socket`.
//!
//! ## Where things are
//!
//! This file is what chapters 2 and 3 teach: the [`Handler`] with a method
//! per Node event, the [`Socket`] it is handed, [`connect`], and the one
//! read loop that calls them. The server's machinery has rooms of its own:
//! `server.rs` binds, accepts, and starts a thread per connection
//! ([`Server`]); `seats.rs` holds the limits on how many connections are
//! open at once, and who gives a seat up ([`DropReason`]); `close.rs` stops
//! a running server ([`ServerHandle`], [`Closer`]); `reader.rs` is the read
//! loop's buffer, made only once data has come (chapter 6 measures why).

use std::fmt;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod close;
mod reader;
mod seats;
mod server;

pub use close::{Closer, ServerHandle};
use reader::Reader;
pub use reader::READ_BUFFER;
use seats::Activity;
pub use seats::{default_max_connections, DropReason, FALLBACK_MAX_CONNECTIONS};
pub use server::{Server, DEFAULT_WRITE_TIMEOUT};

/// Your code for one connection: a method per Node event, each called from
/// the connection's own thread, one at a time, in the order Node would emit
/// them.
///
/// Every method has a default that does nothing, so a handler implements
/// only the events it listens to, as a Node program attaches only the
/// listeners it needs. The methods that return `io::Result` may fail: an
/// `Err` (a failed `write`, or your own) ends the connection exactly as a
/// network error would, with [`on_error`](Handler::on_error) and then
/// [`on_close`](Handler::on_close)`(true)`, so `?` works everywhere.
pub trait Handler {
    /// `'connection'`, on the server: `accept` returned this socket.
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        let _ = socket;
        Ok(())
    }

    /// `'connect'`, on the client: `TcpStream::connect` returned this socket.
    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        let _ = socket;
        Ok(())
    }

    /// `'data'`: `read` returned these bytes. They are whatever the kernel had:
    /// TCP is a byte stream, so one `write` on the other side may arrive as
    /// several chunks, or merged with the next.
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        let _ = (socket, data);
        Ok(())
    }

    /// `'end'`: `read` returned 0, the peer sent FIN and will send nothing
    /// more. Writing is still allowed here (TCP is closed one direction at a
    /// time); see [`Socket::set_allow_half_open`] for what happens after.
    fn on_end(&mut self, socket: &mut Socket) -> io::Result<()> {
        let _ = socket;
        Ok(())
    }

    /// `'timeout'`: nothing arrived for the time given to
    /// [`Socket::set_timeout`]. As in Node, the connection stays open unless
    /// this method ends or destroys it; unlike Node, it fires again after
    /// each further period of silence.
    ///
    /// It fires too when a write waited its whole write timeout
    /// ([`Socket::set_write_timeout`], or the server's
    /// [`write_timeout`](Server::write_timeout)) and the peer took nothing:
    /// Node's timer counts that as idle too. Your method returned the
    /// write's `TimedOut` error (with `?`); instead of `'error'`, the read
    /// loop calls this, and then closes the connection, since the write was
    /// cut off mid-way: `'close'`(false) follows, whatever this returns.
    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        let _ = socket;
        Ok(())
    }

    /// `'error'`: the connection failed: a `read` or `write` returned `Err`
    /// (`ECONNRESET`, ...), or one of your methods did.
    /// [`on_close`](Handler::on_close)`(true)` follows.
    ///
    /// On a server, it is also how a connection hears that its seat went to
    /// a newcomer ([`DropReason::Reclaimed`]): `ConnectionAborted`, with
    /// the reason in the message; the server has shut the stream down.
    fn on_error(&mut self, socket: &Socket, error: &io::Error) {
        let _ = (socket, error);
    }

    /// `'close'`: the connection is over and its stream has been dropped.
    /// `had_error` says whether [`on_error`](Handler::on_error) ran first.
    fn on_close(&mut self, had_error: bool) {
        let _ = had_error;
    }
}

/// `()` listens to nothing: every event keeps its default, as a Node socket
/// with no listeners attached. A server whose clients only need accepting
/// can serve `|| ()`; a chat room's handler takes it as the listener it
/// adds nothing to ([`Room::handler`](crate::chat::Room::handler)).
impl Handler for () {}

/// A handler lent rather than given: `tcp::connect(addr, &mut client)` runs
/// `client`'s methods and leaves it with the caller afterwards, so what it
/// collected can be read once the connection is over (as `&mut R` is a
/// reader for any reader `R`).
impl<H: Handler + ?Sized> Handler for &mut H {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        (**self).on_connection(socket)
    }
    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        (**self).on_connect(socket)
    }
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        (**self).on_data(socket, data)
    }
    fn on_end(&mut self, socket: &mut Socket) -> io::Result<()> {
        (**self).on_end(socket)
    }
    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        (**self).on_timeout(socket)
    }
    fn on_error(&mut self, socket: &Socket, error: &io::Error) {
        (**self).on_error(socket, error)
    }
    fn on_close(&mut self, had_error: bool) {
        (**self).on_close(had_error)
    }
}

/// One connection, as the [`Handler`] sees it: Node's `net.Socket`.
///
/// It borrows the connection's `TcpStream`, which the connection's thread
/// owns (the read loop reads from the same stream), and counts what crosses
/// it. It lives on that thread, and the stream is dropped just before
/// `'close'`.
#[derive(Debug)]
pub struct Socket<'a> {
    /// The connection itself. Other threads that need to write to it (the
    /// chat room does) get a clone from [`Socket::stream`].
    stream: &'a TcpStream,
    /// The peer's address, as `accept` or `connect` saw it; kept because
    /// `peer_addr()` fails once the peer has reset the connection.
    remote: SocketAddr,
    /// Node's `socket.bytesRead`.
    bytes_read: u64,
    /// Node's `socket.bytesWritten`.
    bytes_written: u64,
    /// Set by [`Socket::end`]: our FIN is sent, later writes are refused.
    ended: bool,
    /// Set by [`Socket::destroy`]: the read loop stops at its next turn.
    destroyed: bool,
    /// Node's `allowHalfOpen`: whether the read loop leaves our side open
    /// after `'end'`.
    allow_half_open: bool,
    /// What [`Socket::set_timeout`] set: the read loop's idle timeout.
    timeout: Option<Duration>,
    /// Who writes this connection's bytes for it, if anyone: a chat room
    /// sets its membership here when the connection joins
    /// ([`ChatHandler`](crate::chat::ChatHandler)). While it writes for the
    /// socket, [`write`](Socket#impl-Write-for-Socket<'_>) and
    /// [`end`](Socket::end) go through it, behind the room's lines, so that
    /// the room's writer stays the stream's only writer (the room's rule 7).
    /// Once the member has left, they are the socket's own again.
    pub(crate) writer: Option<Box<dyn OnlyWriter>>,
    /// Set when a write waited its whole write timeout: the read loop then
    /// fires `'timeout'` and closes the connection.
    write_timed_out: bool,
}

impl<'a> Socket<'a> {
    fn new(stream: &'a TcpStream, remote: SocketAddr) -> Socket<'a> {
        Socket {
            stream,
            remote,
            bytes_read: 0,
            bytes_written: 0,
            ended: false,
            destroyed: false,
            allow_half_open: false,
            timeout: None,
            writer: None,
            write_timed_out: false,
        }
    }

    /// `socket.end()`: sends FIN (`shutdown(Shutdown::Write)`). We will
    /// write nothing more; the peer can still send, and `'data'` and `'end'`
    /// still come. Calling it twice is harmless, and so is calling it on a
    /// connection that is closed already (as Node's `end()` on a destroyed
    /// socket does nothing).
    ///
    /// # Errors
    /// As `TcpStream::shutdown`, but for `NotConnected`.
    pub fn end(&mut self) -> io::Result<()> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        // In a chat room: FIN once the room's writer has written the rest.
        if let Some(writer) = &self.writer {
            if writer.end().is_some() {
                return Ok(());
            }
        }
        match self.stream.shutdown(Shutdown::Write) {
            // Closed both ways already: the peer's FIN came, and ours went
            // (from a clone of the stream on another thread), or the peer
            // reset it, which the next read reports. Nothing left to end.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            result => result,
        }
    }

    /// `socket.destroy()`: closes both directions now. The read loop stops
    /// and `'close'` follows without `'end'`.
    pub fn destroy(&mut self) {
        self.destroyed = true;
        self.ended = true;
        // NotConnected only means the peer was faster; either way it is closed.
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// `socket.setTimeout(ms)`: after this long with nothing received,
    /// [`Handler::on_timeout`] runs; `None` turns it off (Node's
    /// `setTimeout(0)`). This is the *idle* timeout, `SO_RCVTIMEO` on the
    /// socket: only the read loop's wait counts. Node also restarts its timer
    /// when you write; here a write has a deadline of its own,
    /// [`set_write_timeout`](Socket::set_write_timeout).
    ///
    /// On Windows, a `read` or `write` that timed out leaves the socket in
    /// what the Winsock documentation of `SO_RCVTIMEO` calls an indeterminate
    /// state. Reading on after `'timeout'`, as the read loop does, is normal
    /// on Linux and macOS; Windows does not promise it.
    ///
    /// # Errors
    /// `InvalidInput` for a zero duration (use `None`).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)?;
        self.timeout = timeout;
        Ok(())
    }

    /// How long one write (`socket.write_all(..)`) may wait for the peer to
    /// take bytes (`SO_SNDTIMEO`); `None` waits for as long as it takes. A
    /// server's socket starts with the server's
    /// [`write_timeout`](Server::write_timeout); a client's with `None`. Node
    /// has no such setting, because its `write` never waits: it buffers
    /// instead, without limit (`socket.writableLength`). A write that waits
    /// it out is `'timeout'` (see [`Handler::on_timeout`]), then `'close'`.
    ///
    /// A [`chat::Room`](crate::chat::Room) sets this itself on every peer it
    /// has joined, and keeps its own deadline: leave it alone on those.
    ///
    /// # Errors
    /// `InvalidInput` for a zero duration (use `None`).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_write_timeout(timeout)
    }

    /// Node's `allowHalfOpen`: what happens when [`Handler::on_end`] returns.
    ///
    /// - `false` (the default, as in Node): the read loop calls
    ///   [`end`](Socket::end) for you, so our FIN follows the peer's. Whatever
    ///   `on_end` wrote goes out first: that is a half-close reply, and Node 20
    ///   allows it the same way.
    /// - `true`: our side stays open after `on_end`. A blocking handler has no
    ///   later event to write from, so this matters when another thread holds
    ///   a clone of [`stream`](Socket::stream): it may still write, and our FIN
    ///   goes out when it calls `shutdown(Shutdown::Write)` or the last clone
    ///   is dropped.
    pub fn set_allow_half_open(&mut self, allow: bool) {
        self.allow_half_open = allow;
    }

    /// The peer's address: Node's `remoteAddress` and `remotePort`.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// Our end's address: Node's `localAddress` and `localPort`.
    ///
    /// # Errors
    /// As `TcpStream::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Node's `socket.bytesRead`: bytes received so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Node's `socket.bytesWritten`: bytes sent so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// The `TcpStream` underneath, for what this type does not wrap:
    /// `try_clone` for a second thread, `set_nodelay`, `peek`.
    ///
    /// Its knobs are the socket's, shared by every clone. The read loop
    /// stays blocking whatever you do with them: if the stream is made
    /// non-blocking (`set_nonblocking(true)`), the loop's next wait turns it
    /// back, so no `'timeout'` fires early and the loop never spins. Set the
    /// timeouts through [`set_timeout`](Socket::set_timeout) and
    /// [`set_write_timeout`](Socket::set_write_timeout), so the loop knows
    /// them.
    pub fn stream(&self) -> &'a TcpStream {
        self.stream
    }
}

/// The one who writes a [`Socket`]'s bytes when the socket does not write
/// them itself: a chat room's membership
/// ([`ChatHandler`](crate::chat::ChatHandler) sets it). `tcp` knows nothing
/// of rooms; it only knows that while someone else writes to this stream,
/// its own writes must queue behind theirs.
pub(crate) trait OnlyWriter: fmt::Debug {
    /// Queues `data` behind what is queued already. `None` once this writer
    /// no longer writes for the socket (the member has left the room): the
    /// socket then writes for itself.
    fn write(&self, data: &[u8]) -> Option<io::Result<()>>;
    /// Sends FIN once everything queued is written; `None` as for `write`.
    fn end(&self) -> Option<()>;
}

/// `socket.write(data)`: a socket is written as a `TcpStream` is, through
/// [`io::Write`] (`use std::io::Write;`): `socket.write_all(b"hello\n")?`
/// sends every byte, blocking until the kernel has taken them all, and
/// `write!`, `writeln!` and a `BufWriter` work on it too. Node's `write`
/// takes a string; this takes bytes, so a `&str` goes as
/// `"你好".as_bytes()`. Each `write` is one `write` on the stream, counted
/// in [`bytes_written`](Socket::bytes_written); there is no buffer to flush.
///
/// This is also where Node's `'drain'` lives. Node buffers a write the
/// kernel cannot take yet and emits `'drain'` when that buffer empties; a
/// blocking `write_all` has no buffer of its own, it simply returns at that
/// moment. So there is no `on_drain`: the line after `write_all` *is* the
/// `'drain'` listener.
///
/// A write fails after [`end`](Socket::end) (Node's "write after end"),
/// when the peer has reset the connection (`BrokenPipe` or
/// `ConnectionReset`; on Windows `ConnectionReset` or `ConnectionAborted`),
/// and, after [`set_write_timeout`](Socket::set_write_timeout), when the
/// peer has not taken the bytes within that time (`TimedOut`: it is not
/// reading). [`bytes_written`](Socket::bytes_written) counts what went out
/// before the error.
///
/// On a connection in a [`chat::Room`](crate::chat::Room), a write does not
/// touch the stream: it joins the member's SendQ, behind the lines the room
/// queued for it, and returns at once, as Node's does (`bytes_written`
/// counts it then); it fails if that takes the SendQ past its cap.
impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.ended {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after end()",
            ));
        }
        // In a chat room: into the member's SendQ, behind the room's lines.
        if let Some(writer) = &self.writer {
            if let Some(queued) = writer.write(buf) {
                queued?;
                self.bytes_written += buf.len() as u64;
                return Ok(buf.len());
            }
        }
        let mut stream = self.stream;
        match stream.write(buf) {
            Ok(n) => {
                self.bytes_written += n as u64;
                Ok(n)
            }
            // SO_SNDTIMEO expired with nothing sent (WouldBlock on Unix,
            // TimedOut on Windows): say what that means.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.write_timed_out = true;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "write timed out: the peer is not reading",
                ))
            }
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // nothing is held back: see write_all and 'drain'
    }
}

/// Which event opened the connection: it is the only difference between the
/// server's side and the client's side of the read loop.
enum Opened {
    Accepted,
    Connected,
}

/// The one read loop. Every connection, server or client side, runs here on
/// its own thread from its first event to `'close'`; the `Err` it returns is
/// the one [`Handler::on_error`] saw. A server's connection brings its
/// place in the server (`admitted`: its seat, its entry in the list of open
/// connections), given back with the stream; a client's brings `()`.
fn run<H: Handler>(
    stream: Arc<TcpStream>,
    remote: SocketAddr,
    handler: &mut H,
    opened: Opened,
    activity: Option<&Activity>,
    admitted: impl Sized,
) -> io::Result<()> {
    let mut socket = Socket::new(&stream, remote);
    let mut result = read_loop(&mut socket, handler, opened, activity);
    if result.is_err() && activity.is_some_and(Activity::is_reclaimed) {
        // A newcomer took this connection's seat, and the server shut the
        // stream down: that, not the failed write it caused, is why.
        result = Err(Activity::reclaimed_error());
    } else if socket.write_timed_out
        && matches!(&result, Err(e) if e.kind() == io::ErrorKind::TimedOut)
    {
        // 'timeout': a write waited its whole write timeout and the peer
        // took nothing, which Node counts as idle as a silent read. The
        // handler hears it as it hears an idle read; then the connection
        // closes, since the write was cut off mid-way and nothing after it
        // would make sense to the peer.
        result = handler.on_timeout(&mut socket);
        socket.destroy();
    }
    if let Err(error) = &result {
        // 'error': a read, a write or the handler failed.
        handler.on_error(&socket, error);
    }
    // 'close': the server forgets the connection and frees its seat, as
    // Node counts a connection out before its 'close'; then the stream is
    // dropped, so the connection really is closed (our FIN, if not sent
    // yet, goes out now) when the handler hears of it.
    drop(admitted);
    drop(stream);
    handler.on_close(result.is_err());
    result
}

/// The events of one connection, from its first to the last before
/// `'close'`. A server's connection brings its `activity`: the loop tells
/// it of every `'data'`, and ends the connection when a newcomer has taken
/// its seat.
fn read_loop<H: Handler>(
    socket: &mut Socket,
    handler: &mut H,
    opened: Opened,
    activity: Option<&Activity>,
) -> io::Result<()> {
    match opened {
        // 'connection': accept() handed us this stream.
        Opened::Accepted => handler.on_connection(socket)?,
        // 'connect': connect() returned it.
        Opened::Connected => handler.on_connect(socket)?,
    }
    let mut reader = Reader::new(socket.stream);
    while !socket.destroyed {
        let waiting_since = Instant::now();
        let read = reader.read();
        if activity.is_some_and(Activity::is_reclaimed) {
            // The server shut the stream down to wake this read.
            return Err(Activity::reclaimed_error());
        }
        match read {
            // 'end': the peer sent FIN; read() returned 0.
            Ok([]) => {
                handler.on_end(socket)?;
                if !socket.allow_half_open {
                    // Node's default: our FIN follows theirs, right after 'end'.
                    socket.end()?;
                }
                return Ok(());
            }
            // 'data': read() returned some bytes.
            Ok(data) => {
                let n = data.len();
                socket.bytes_read += n as u64;
                if let Some(activity) = activity {
                    activity.heard();
                }
                handler.on_data(socket, data)?;
                reader.consume(n);
            }
            // 'timeout': SO_RCVTIMEO expired with nothing to read.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                // Or the stream was made non-blocking behind the loop's
                // back (through Socket::stream): make it block again, and
                // fire 'timeout' only if the timeout really went by.
                socket.stream.set_nonblocking(false)?;
                if socket
                    .timeout
                    .is_some_and(|timeout| waiting_since.elapsed() >= timeout)
                {
                    handler.on_timeout(socket)?;
                }
            }
            // A signal interrupted the read; nothing happened, read again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // 'error': ECONNRESET and friends.
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `net.connect(addr, listener)`: connects, then runs the read loop on the
/// calling thread until the connection closes, calling `handler` for
/// `'connect'`, `'data'`, `'end'`, `'timeout'`, `'error'` and `'close'`.
///
/// ```no_run
/// use netcourse::tcp::{self, Handler, Socket};
/// use std::io::{self, Write};
///
/// struct Client;
///
/// impl Handler for Client {
///     fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
///         socket.write_all(b"world!\r\n")
///     }
///     fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
///         println!("{}", String::from_utf8_lossy(data));
///         socket.end()
///     }
/// }
///
/// tcp::connect("127.0.0.1:8124", Client)?;
/// # Ok::<(), io::Error>(())
/// ```
///
/// # Errors
/// Returns the error if the connection could not be made (Node's `'error'`
/// before `'connect'`, such as `ECONNREFUSED`), or the error that closed it,
/// after [`Handler::on_error`] has seen it. `Ok` means it closed cleanly.
pub fn connect<H: Handler>(addr: impl ToSocketAddrs, mut handler: H) -> io::Result<()> {
    let stream = TcpStream::connect(addr)?;
    let remote = stream.peer_addr()?;
    run(
        Arc::new(stream),
        remote,
        &mut handler,
        Opened::Connected,
        None,
        (),
    )
}
