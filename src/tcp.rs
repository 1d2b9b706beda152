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
//! | `'timeout'`                   | [`Handler::on_timeout`]       | `read` failed with `WouldBlock` after [`Socket::set_timeout`] |
//! | `'error'` (socket)            | [`Handler::on_error`]         | `read`/`write` (or your handler) returned `Err` |
//! | `'close'` (socket)            | [`Handler::on_close`]         | the read loop is over and the stream is dropped |
//! | `'drain'`                     | [`Socket::write_all`] returns | `write_all` returns once the kernel took every byte |
//! | `socket.end()`                | [`Socket::end`]               | `shutdown(Shutdown::Write)`                    |
//! | `server.close()`/`'close'`    | [`ServerHandle::close`], [`Server::on_close`] | the listener is dropped; every connection thread is joined |
//! | `'error'` (server)            | [`Server::on_error`]          | `accept` returned `Err`                        |
//! | `'drop'` (`maxConnections`)   | [`Server::on_drop`]           | a connection over a limit is closed at once, and why ([`DropReason`]) |
//!
//! A server that greets each client and answers every chunk:
//!
//! ```no_run
//! use netcourse::tcp::{Handler, Server, Socket};
//! use std::io;
//!
//! struct Greeter;
//!
//! impl Handler for Greeter {
//!     fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
//!         socket.write_all("hello\n")
//!     }
//!     fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
//!         socket.write_all("got it\n")
//!     }
//! }
//!
//! fn main() -> io::Result<()> {
//!     let server = Server::bind("127.0.0.1:8124")?; // 'listening'
//!     server.serve(|| Greeter) // runs until the process ends
//! }
//! ```

use std::collections::hash_map::{Entry, HashMap};
use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener,
    TcpStream, ToSocketAddrs,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How many bytes one `read` may return, so the most one `'data'` event
/// carries: 64 KiB, as Node reads. A connection allocates this buffer only
/// when its first byte arrives, and then costs only the pages data has been
/// written to, not all 64 KiB (see `Reader` in the source).
pub const READ_BUFFER: usize = 64 * 1024;

/// What [`default_max_connections`] returns where std cannot read the
/// process's limits (anywhere but Linux and Android): a guess, enough for
/// most programs and few enough threads for any machine. Where the process
/// may open fewer descriptors (macOS starts a shell with 256), `accept`
/// fails first, and its back-off (see [`Server::on_error`]) takes over,
/// unless you set [`Server::max_connections`] lower.
pub const FALLBACK_MAX_CONNECTIONS: usize = 1024;

/// Descriptors [`default_max_connections`] leaves to the rest of the
/// process: stdin, stdout and stderr, the listener, the wake-up connection
/// of [`ServerHandle::close`], a pipe or a file a program opens.
const RESERVED_DESCRIPTORS: u64 = 32;

/// Descriptors one connection may hold: its socket, and the clone
/// (`try_clone`) that a second thread writes through, as a
/// [`chat::Room`](crate::chat::Room) keeps for each peer.
const DESCRIPTORS_PER_CONNECTION: u64 = 2;

/// Threads one connection may run: its own, and a chat peer's writer.
const THREADS_PER_CONNECTION: u64 = 2;

/// The default [`Server::max_connections_per_ip`] is the total divided by
/// this: one address may hold an eighth of the seats.
const ADDRESS_SHARE: usize = 8;

/// The default for [`Server::max_connections`]: as many connections as this
/// process can hold open at once.
///
/// Each connection is a thread and a descriptor (two for a chat peer), and
/// a process may open only so many of either: on Linux and macOS, past its
/// open-files limit (`ulimit -n`) `accept` fails with `EMFILE`, and every
/// other client with it. So on Linux this reads the soft limits in `/proc/self/limits`,
/// leaves a few descriptors for the rest of the process, and counts two per
/// connection; it takes the smaller of that and half the `Max processes`
/// limit (which counts threads, for the whole user). Elsewhere, where std
/// cannot read the limits, it is [`FALLBACK_MAX_CONNECTIONS`].
///
/// Memory is not counted: an idle connection costs a few pages (chapter 6
/// of the course measures it), so a process allowed a million descriptors
/// should set [`Server::max_connections`] itself, and a server that must
/// hold that many wants an event loop (epoll on Linux, kqueue on macOS, I/O
/// completion ports on Windows, or async Rust), not threads.
pub fn default_max_connections() -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(max) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| max_connections_for(&limits))
    {
        return max;
    }
    FALLBACK_MAX_CONNECTIONS
}

/// How many connections the limits in `limits` (the text of
/// `/proc/self/limits`) allow, or `None` if they do not say how many files
/// may be open.
// Only Linux and Android read the file; elsewhere only the tests call this.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn max_connections_for(limits: &str) -> Option<usize> {
    let files = soft_limit(limits, "Max open files")?;
    let by_files = files.saturating_sub(RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION;
    // "unlimited" reads as u64::MAX, which takes no part in the minimum.
    let by_threads =
        soft_limit(limits, "Max processes").unwrap_or(u64::MAX) / THREADS_PER_CONNECTION;
    let max = by_files.min(by_threads).max(1);
    Some(usize::try_from(max).unwrap_or(usize::MAX))
}

/// The soft limit on the line of `limits` that starts with `name`:
///
/// ```text
/// Limit                     Soft Limit           Hard Limit           Units
/// Max open files            1024                 524288               files
/// ```
///
/// `unlimited` is `u64::MAX`.
fn soft_limit(limits: &str, name: &str) -> Option<u64> {
    let line = limits.lines().find(|line| line.starts_with(name))?;
    match line[name.len()..].split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        soft => soft.parse().ok(),
    }
}

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
    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        let _ = socket;
        Ok(())
    }

    /// `'error'`: the connection failed: a `read` or `write` returned `Err`
    /// (`ECONNRESET`, a timed-out write, ...), or one of your methods did.
    /// [`on_close`](Handler::on_close)`(true)` follows.
    fn on_error(&mut self, socket: &Socket, error: &io::Error) {
        let _ = (socket, error);
    }

    /// `'close'`: the connection is over and its stream has been dropped.
    /// `had_error` says whether [`on_error`](Handler::on_error) ran first.
    fn on_close(&mut self, had_error: bool) {
        let _ = had_error;
    }
}

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
        }
    }

    /// `socket.write(data)`: sends every byte, blocking until the kernel has
    /// taken them all. It is [`io::Write::write_all`], taking a `&str` as
    /// well as bytes; the socket is an [`io::Write`] too, so `write!` and
    /// `writeln!` work on it.
    ///
    /// This is also where Node's `'drain'` lives. Node buffers a write the
    /// kernel cannot take yet and emits `'drain'` when that buffer empties;
    /// a blocking `write_all` has no buffer of its own, it simply returns at
    /// that moment. So there is no `on_drain`: the line after `write_all`
    /// *is* the `'drain'` listener.
    ///
    /// # Errors
    /// Fails after [`end`](Socket::end) (Node's "write after end"), when the
    /// peer has reset the connection (`BrokenPipe` or `ConnectionReset`; on
    /// Windows `ConnectionReset` or `ConnectionAborted`), and, after
    /// [`set_write_timeout`](Socket::set_write_timeout), when the peer has
    /// not taken every byte within that time (`TimedOut`: it is not
    /// reading). [`bytes_written`](Socket::bytes_written) counts what went
    /// out before the error.
    pub fn write_all(&mut self, data: impl AsRef<[u8]>) -> io::Result<()> {
        Write::write_all(self, data.as_ref())
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

    /// How long one [`write_all`](Socket::write_all) may wait for the peer to take
    /// bytes (`SO_SNDTIMEO`); `None`, the default, waits for as long as it
    /// takes. Node has no such setting, because its `write` never waits: it
    /// buffers instead, without limit (`socket.writableLength`).
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

/// A socket is a writer: `write!(socket, ...)`, `writeln!`, a `BufWriter`
/// around it. Each `write` is one `write` on the stream, counted in
/// [`bytes_written`](Socket::bytes_written); there is no buffer to flush.
impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.ended {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after end()",
            ));
        }
        let mut stream = self.stream;
        let n = stream.write(buf).map_err(|e| match e.kind() {
            // SO_SNDTIMEO expired with nothing sent; say what that means.
            io::ErrorKind::WouldBlock => io::Error::new(
                io::ErrorKind::TimedOut,
                "write timed out: the peer is not reading",
            ),
            _ => e,
        })?;
        self.bytes_written += n as u64;
        Ok(n)
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
/// the one [`Handler::on_error`] saw. A server's connection holds a [`Seat`],
/// given back with the stream.
fn run<H: Handler>(
    stream: Arc<TcpStream>,
    remote: SocketAddr,
    handler: &mut H,
    opened: Opened,
    admitted: Option<Admitted>,
) -> io::Result<()> {
    let mut socket = Socket::new(&stream, remote);
    let result = read_loop(&mut socket, handler, opened);
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

fn read_loop<H: Handler>(socket: &mut Socket, handler: &mut H, opened: Opened) -> io::Result<()> {
    match opened {
        // 'connection': accept() handed us this stream.
        Opened::Accepted => handler.on_connection(socket)?,
        // 'connect': connect() returned it.
        Opened::Connected => handler.on_connect(socket)?,
    }
    let mut reader = Reader {
        stream: socket.stream,
        buffer: None,
    };
    while !socket.destroyed {
        let waiting_since = Instant::now();
        match reader.read() {
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

/// The read side of a connection: `read()` as the read loop wants it, with
/// a buffer that exists only once data has come.
///
/// Most connections spend most of their life waiting (a chat room's, an idle
/// keep-alive), and a waiting thread should cost no more than its stack. So
/// until the first byte arrives the thread waits in `peek`, which needs no
/// buffer (it looks at the data without taking it); only then does the
/// 64 KiB buffer get allocated, and it is kept for the rest of the
/// connection. (Chapter 6 measures what that saves.)
struct Reader<'a> {
    stream: &'a TcpStream,
    /// `None` until the first byte arrives. A `BufReader`'s buffer, because
    /// std reads into it without zeroing it first, so even once allocated it
    /// costs only the pages data has been written to.
    buffer: Option<BufReader<&'a TcpStream>>,
}

impl<'a> Reader<'a> {
    /// One `read()`: the bytes the kernel had (at most [`READ_BUFFER`]), or
    /// none at the peer's FIN. Call [`consume`](Reader::consume) once they
    /// have been handled.
    fn read(&mut self) -> io::Result<&[u8]> {
        if self.buffer.is_none() && self.stream.peek(&mut [0])? == 0 {
            return Ok(&[]); // FIN before any data
        }
        let stream = self.stream;
        self.buffer
            .get_or_insert_with(|| BufReader::with_capacity(READ_BUFFER, stream))
            // On an empty BufReader, one fill_buf() is one read() on the stream.
            .fill_buf()
    }

    /// Marks the bytes of the last `read()` as handled.
    fn consume(&mut self, n: usize) {
        if let Some(buffer) = &mut self.buffer {
            buffer.consume(n);
        }
    }
}

/// `net.connect(addr, listener)`: connects, then runs the read loop on the
/// calling thread until the connection closes, calling `handler` for
/// `'connect'`, `'data'`, `'end'`, `'timeout'`, `'error'` and `'close'`.
///
/// ```no_run
/// use netcourse::tcp::{self, Handler, Socket};
/// use std::io;
///
/// struct Client;
///
/// impl Handler for Client {
///     fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
///         socket.write_all("world!\r\n")
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
    )
}

/// A bound TCP listener, not yet accepting: Node's `net.Server` between
/// `listen()` and the first `'connection'`.
///
/// Configure it, then start its accept loop with [`serve`](Server::serve) or
/// [`spawn`](Server::spawn).
pub struct Server {
    /// The bound socket. The accept loop takes it; dropping it closes the port.
    listener: TcpListener,
    /// What the builder methods set; the accept loop takes it too.
    config: Config,
}

/// A listener for the server's `'error'` event.
type OnError = Box<dyn FnMut(&io::Error) + Send>;
/// A listener for the server's `'drop'` event.
type OnDrop = Box<dyn FnMut(SocketAddr, DropReason) + Send>;
/// A listener for the server's `'close'` event; it runs once, so `FnOnce`.
type OnClose = Box<dyn FnOnce() + Send>;

/// The server's settings and its own event listeners.
struct Config {
    /// Node's `server.maxConnections`; `None` for
    /// [`default_max_connections`], read when the server starts.
    max_connections: Option<usize>,
    /// The most connections one IP address may hold; `None` for an eighth of
    /// `max_connections`.
    max_connections_per_ip: Option<usize>,
    on_error: Option<OnError>,
    on_drop: Option<OnDrop>,
    on_close: Option<OnClose>,
}

/// The listener and the settings; the event listeners, being closures,
/// show only whether they are set.
impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.config;
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("max_connections", &config.max_connections)
            .field("max_connections_per_ip", &config.max_connections_per_ip)
            .field("on_error", &config.on_error.is_some())
            .field("on_drop", &config.on_drop.is_some())
            .field("on_close", &config.on_close.is_some())
            .finish()
    }
}

impl Server {
    /// `server.listen(port, host)`: binds the address. When this returns `Ok`
    /// the port is bound and clients can connect: that is `'listening'`.
    /// Connections queue in the kernel until the accept loop starts.
    ///
    /// # Errors
    /// What Node reports as the server's `'error'` during `listen`:
    /// `AddrInUse` (`EADDRINUSE`; `WSAEADDRINUSE` on Windows),
    /// `PermissionDenied` for a port below 1024 on Linux (macOS since 10.14
    /// and Windows let anyone bind those, but Windows refuses the ports it
    /// has reserved the same way), `AddrNotAvailable` for an address this
    /// machine does not have.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        Ok(Server {
            listener: TcpListener::bind(addr)?,
            config: Config {
                max_connections: None,
                max_connections_per_ip: None,
                on_error: None,
                on_drop: None,
                on_close: None,
            },
        })
    }

    /// `server.address()`: the address really bound, with the port the
    /// kernel chose when you asked for port 0.
    ///
    /// # Errors
    /// As `TcpListener::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// `server.maxConnections`: how many connections may be open at once
    /// (default [`default_max_connections`], what this process can hold).
    /// One more is accepted, closed at once and reported to
    /// [`on_drop`](Server::on_drop) with [`DropReason::ServerFull`]; the open
    /// ones are not affected.
    ///
    /// Each open connection holds a *seat*: a thread, and a descriptor or
    /// two. A seat is taken when `accept` returns and given back when the
    /// connection's stream is dropped, just before its `'close'`.
    pub fn max_connections(mut self, limit: usize) -> Server {
        self.config.max_connections = Some(limit);
        self
    }

    /// How many connections one IP address may hold at once (default: an
    /// eighth of [`max_connections`](Server::max_connections), at least 1).
    /// One more from that address is accepted, closed at once and reported
    /// to [`on_drop`](Server::on_drop) with [`DropReason::AddressFull`],
    /// while the other seats wait for other clients. Node has no such
    /// setting; nginx's `limit_conn` and IRC servers' per-host limits are it.
    ///
    /// Without it, one client that opens connections and never sends a byte
    /// takes every seat, and every other client is turned away. Addresses
    /// are compared whole (an IPv4 client seen by an IPv6 listener, as
    /// `::ffff:a.b.c.d`, counts as its IPv4 address). Clients behind one NAT
    /// share an address, and so share its seats.
    pub fn max_connections_per_ip(mut self, limit: usize) -> Server {
        self.config.max_connections_per_ip = Some(limit);
        self
    }

    /// `server.on('error', f)`: `accept` failed, most often for want of
    /// descriptors (`EMFILE`, `ENFILE`), which no waiting client can fix. The
    /// server goes on accepting, after a pause: 5 ms after the first failure,
    /// twice as long after each further one in a row, at most a second; the
    /// first connection accepted ends the pauses. So a server out of
    /// descriptors calls `f` about once a second, not thousands of times.
    pub fn on_error(mut self, f: impl FnMut(&io::Error) + Send + 'static) -> Server {
        self.config.on_error = Some(Box::new(f));
        self
    }

    /// `server.on('drop', f)`: a connection from this address came in over
    /// a limit and was closed; the [`DropReason`] says which limit.
    pub fn on_drop(mut self, f: impl FnMut(SocketAddr, DropReason) + Send + 'static) -> Server {
        self.config.on_drop = Some(Box::new(f));
        self
    }

    /// `server.on('close', f)`: runs once, after [`ServerHandle::close`],
    /// when the last connection has closed.
    pub fn on_close(mut self, f: impl FnOnce() + Send + 'static) -> Server {
        self.config.on_close = Some(Box::new(f));
        self
    }

    /// Runs the accept loop until the process ends: `new_handler` makes one
    /// [`Handler`] for each connection, which then lives on that connection's
    /// thread. This is `net.createServer(listener)` with `listen()` already
    /// done.
    ///
    /// # Errors
    /// Only if the server's threads cannot be started.
    ///
    /// # Panics
    /// If `new_handler` or one of the server's own listeners panics (see
    /// [`ServerHandle::join`]).
    pub fn serve<H, F>(self, new_handler: F) -> io::Result<()>
    where
        H: Handler + Send + 'static,
        F: FnMut() -> H + Send + 'static,
    {
        self.spawn(new_handler)?.join()
    }

    /// Like [`serve`](Server::serve), but runs the accept loop on a thread of
    /// its own and returns a [`ServerHandle`] to close it with.
    ///
    /// # Errors
    /// If the thread cannot be started, or the listener's address cannot be
    /// read.
    pub fn spawn<H, F>(self, new_handler: F) -> io::Result<ServerHandle>
    where
        H: Handler + Send + 'static,
        F: FnMut() -> H + Send + 'static,
    {
        let local_addr = self.listener.local_addr()?;
        let shared = Arc::new(Shared {
            closing: AtomicBool::new(false),
            listening: Mutex::new(true),
            stopped_listening: Condvar::new(),
            wake_addr: wake_up_addr(local_addr),
            open: Mutex::new(HashMap::new()),
            one_closed: Condvar::new(),
            ending: AtomicBool::new(false),
        });
        let mut handle = ServerHandle {
            local_addr,
            closer: Closer {
                shared: Arc::clone(&shared),
            },
            thread: None,
        };
        // Two threads: one that only accepts, and one that does the rest.
        let (queue, accepted) = mpsc::channel();
        let listening = Listening {
            listener: Some(self.listener),
            shared,
        };
        let shared = Arc::clone(&listening.shared);
        let accept_thread = thread::Builder::new()
            .name(format!("accept {local_addr}"))
            .spawn(move || accept_loop(listening, queue))?;
        let config = self.config;
        let server_thread = thread::Builder::new()
            .name(format!("server {local_addr}"))
            .spawn(move || serve_connections(accepted, accept_thread, shared, config, new_handler));
        match server_thread {
            Ok(thread) => handle.thread = Some(thread),
            // Stop the accept loop that has nobody to hand connections to.
            Err(e) => {
                let _ = handle.close();
                return Err(e);
            }
        }
        Ok(handle)
    }
}

/// Why the server dropped a connection: what its `'drop'` listener
/// ([`Server::on_drop`]) hears besides the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Every seat was taken: [`Server::max_connections`] connections were
    /// open. Node's `maxConnections`, and its only reason.
    ServerFull,
    /// Seats remained, but the peer's IP address held
    /// [`Server::max_connections_per_ip`] connections already.
    AddressFull,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::ServerFull => "the server is full",
            DropReason::AddressFull => "too many connections from this address",
        })
    }
}

/// What the server's threads and every [`Closer`] share.
#[derive(Debug)]
struct Shared {
    /// Set by `close()`; the accept loop checks it after every `accept`.
    closing: AtomicBool,
    /// True until the accept loop has dropped the listener; `close()` waits
    /// on `stopped_listening` for it to turn false.
    listening: Mutex<bool>,
    stopped_listening: Condvar,
    /// Where `close()` connects to wake the accept loop ([`wake_up_addr`]).
    wake_addr: SocketAddr,
    /// The open connections, by number: the same stream their threads read
    /// (an `Arc`, not a second descriptor), so that
    /// [`Closer::end_connections`] can end them. A connection's entry is
    /// removed just before its `'close'`, so this holds only open ones.
    open: Mutex<HashMap<u64, Arc<TcpStream>>>,
    /// Notified each time a connection leaves `open`: what
    /// [`Closer::shutdown`] waits on.
    one_closed: Condvar,
    /// Set by [`Closer::end_connections`]: a connection that was accepted
    /// before `close()` but starts only now is ended at once too.
    ending: AtomicBool,
}

/// A lock that survives a panic elsewhere: the data behind these mutexes is a
/// flag, always valid, so a thread that panicked holding it changes nothing.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The listener while the accept loop runs. Dropping it, on every way out of
/// the loop, closes the port and only then tells `close()`, so that a
/// `connect` after `close()` returns is refused.
struct Listening {
    /// `Some` until dropped: taken in `drop` so the port closes first.
    listener: Option<TcpListener>,
    shared: Arc<Shared>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        drop(self.listener.take());
        *lock(&self.shared.listening) = false;
        self.shared.stopped_listening.notify_all();
    }
}

/// What `accept` returned: a connection and its peer's address, or an error.
type Accepted = io::Result<(TcpStream, SocketAddr)>;

/// The accept loop's pause after its first failed `accept` in a row; each
/// further failure doubles it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(5);

/// The longest pause between two failed `accept`s: how long a server out of
/// descriptors may take to notice that some have been freed.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The one accept loop, on a thread that does nothing else: it hands each
/// connection to [`serve_connections`] and goes straight back to `accept`.
///
/// Why a thread of its own: the kernel finishes handshakes by itself and
/// queues them until `accept` takes them, but that queue is short (`std`
/// asks `listen` for 128; Node asks for 511), and when it is full Linux and
/// macOS drop new handshakes, which the client retries only a second or
/// more later (Windows refuses them). Starting a thread costs tens of
/// microseconds; a burst of a thousand connects fills the queue faster than
/// that. So accepting must not wait for anything, and the work of starting
/// threads happens elsewhere.
fn accept_loop(listening: Listening, queue: Sender<Accepted>) {
    // The pause before the next accept; zero while accepts succeed.
    let mut backoff = Duration::ZERO;
    while let Some(listener) = &listening.listener {
        let accepted = listener.accept();
        if listening.shared.closing.load(Ordering::SeqCst) {
            // server.close(): this was the wake-up call (or a client that
            // came after close); stop accepting.
            break;
        }
        let failed = accepted.is_err();
        if queue.send(accepted).is_err() {
            break; // nobody serves connections any more
        }
        if failed {
            // Out of descriptors (EMFILE), accept fails again at once, and
            // keeps failing until connections close: pause, longer after
            // each failure in a row (as Go's net/http and mini-redis do), so
            // the loop neither spins a core nor floods the 'error' listener.
            backoff = (backoff * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF);
            thread::sleep(backoff);
        } else {
            backoff = Duration::ZERO;
        }
    }
    // `listening` is dropped here: the port closes, close() returns.
}

/// The server's seats: how many connections are open, in all and from each
/// IP address, against the server's two limits. Numbers only, so a test can
/// play any address: the server's thread takes a seat for each connection
/// `accept` returns (or closes it, and says why), and the connection's
/// thread gives it back through its [`Seat`].
#[derive(Debug)]
struct Seats {
    /// [`Server::max_connections`].
    max: usize,
    /// [`Server::max_connections_per_ip`].
    max_per_address: usize,
    /// Connections open now.
    open: usize,
    /// Connections open now from each address. An address whose last one
    /// has closed is removed, so this holds at most `max` entries, however
    /// many addresses come and go.
    by_address: HashMap<IpAddr, usize>,
}

impl Seats {
    fn new(max: usize, max_per_address: usize) -> Seats {
        Seats {
            max,
            max_per_address,
            open: 0,
            by_address: HashMap::new(),
        }
    }

    /// A seat for a connection from `ip`, or why there is none: no seat
    /// at all, or seats, but none for this address.
    fn take(&mut self, ip: IpAddr) -> Result<(), DropReason> {
        let ip = ip.to_canonical();
        if self.open >= self.max {
            return Err(DropReason::ServerFull);
        }
        if self.by_address.get(&ip).copied().unwrap_or(0) >= self.max_per_address {
            return Err(DropReason::AddressFull);
        }
        self.open += 1;
        *self.by_address.entry(ip).or_insert(0) += 1;
        Ok(())
    }

    /// Gives back a seat that [`take`](Seats::take) gave a connection from
    /// `ip`.
    fn release(&mut self, ip: IpAddr) {
        if let Entry::Occupied(mut entry) = self.by_address.entry(ip.to_canonical()) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
            self.open -= 1;
        }
    }
}

/// One connection's seat, held by its thread: dropping it gives the seat
/// back, on every way out of the thread, a panicking handler's too.
#[derive(Debug)]
struct Seat {
    /// The server's seats, shared by the server's thread and every
    /// connection's.
    seats: Arc<Mutex<Seats>>,
    /// The address the seat was taken for.
    ip: IpAddr,
}

impl Seat {
    /// Takes a seat in `seats` for a connection from `ip`, or says why not.
    fn take(seats: &Arc<Mutex<Seats>>, ip: IpAddr) -> Result<Seat, DropReason> {
        lock(seats).take(ip)?;
        Ok(Seat {
            seats: Arc::clone(seats),
            ip,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        lock(&self.seats).release(self.ip);
    }
}

/// A served connection's place in the server, held by its thread: its seat,
/// and its entry in the list of open connections. Dropped just before
/// `'close'` (or with a panicking handler's thread): the entry goes first,
/// then the seat.
struct Admitted {
    shared: Arc<Shared>,
    /// Its key in [`Shared::open`].
    id: u64,
    _seat: Seat,
}

impl Admitted {
    /// Lists `stream` among the open connections, with its `seat`.
    fn new(shared: &Arc<Shared>, id: u64, stream: &Arc<TcpStream>, seat: Seat) -> Admitted {
        lock(&shared.open).insert(id, Arc::clone(stream));
        if shared.ending.load(Ordering::SeqCst) {
            // end_connections() ran before this one was listed.
            let _ = stream.shutdown(Shutdown::Both);
        }
        Admitted {
            shared: Arc::clone(shared),
            id,
            _seat: seat,
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        lock(&self.shared.open).remove(&self.id);
        self.shared.one_closed.notify_all();
    }
}

/// The server's own thread: a thread per connection the accept loop hands
/// over, the seats, the server's `'error'` and `'drop'`, and, once the
/// accept loop has stopped and the last connection has ended, its
/// `'close'`.
fn serve_connections<H, F>(
    accepted: Receiver<Accepted>,
    accept_thread: JoinHandle<()>,
    shared: Arc<Shared>,
    mut config: Config,
    mut new_handler: F,
) where
    H: Handler + Send + 'static,
    F: FnMut() -> H + Send + 'static,
{
    let max = config
        .max_connections
        .unwrap_or_else(default_max_connections);
    let max_per_address = config
        .max_connections_per_ip
        .unwrap_or((max / ADDRESS_SHARE).max(1));
    let seats = Arc::new(Mutex::new(Seats::new(max, max_per_address)));
    // The live connections' threads, kept to be joined before 'close'.
    // Finished ones are swept out before each new one starts.
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    // The queue ends when the accept loop stops and drops its sender.
    for (id, accepted) in (0..).zip(accepted) {
        match accepted {
            // 'connection': the kernel finished a handshake.
            Ok((stream, remote)) => {
                let seat = match Seat::take(&seats, remote.ip()) {
                    Ok(seat) => seat,
                    Err(reason) => {
                        // 'drop': over a limit; close it at once.
                        drop(stream);
                        if let Some(on_drop) = &mut config.on_drop {
                            on_drop(remote, reason);
                        }
                        continue;
                    }
                };
                connections.retain(|thread| !thread.is_finished());
                let stream = Arc::new(stream);
                let admitted = Admitted::new(&shared, id, &stream, seat);
                let mut handler = new_handler();
                let spawned = thread::Builder::new().spawn(move || {
                    // The error was handler.on_error's to report.
                    let _ = run(
                        stream,
                        remote,
                        &mut handler,
                        Opened::Accepted,
                        Some(admitted),
                    );
                });
                match spawned {
                    Ok(thread) => connections.push(thread),
                    // The closure, stream and seat with it, is dropped:
                    // the connection is closed, unlisted, its seat free.
                    Err(e) => config.report(&e),
                }
            }
            // The server's 'error': accept failed, for this connection only
            // (ECONNABORTED) or for now (EMFILE, ENFILE).
            Err(e) => config.report(&e),
        }
    }
    // The server's 'close': after the accept loop and the last connection.
    let _ = accept_thread.join();
    for thread in connections {
        // A handler that panicked has only ended its own connection.
        let _ = thread.join();
    }
    if let Some(on_close) = config.on_close {
        on_close();
    }
}

impl Config {
    /// The server's `'error'`, to its listener if it has one.
    fn report(&mut self, error: &io::Error) {
        if let Some(on_error) = &mut self.on_error {
            on_error(error);
        }
    }
}

/// A running server: Node's `net.Server` after `listen()`.
///
/// Dropping the handle closes the server (as [`close`](ServerHandle::close))
/// without waiting: the server's thread then ends with the last connection,
/// so no thread outlives the connections it serves. To close it from
/// another thread, give that thread a [`Closer`].
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    /// What closes the server; clones of it go to other threads.
    closer: Closer,
    /// The server's thread (`serve_connections`), which joins the accept
    /// loop and every connection before `'close'`; `None` once joined.
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// `server.address()`: the address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `server.close()`: stops accepting. See [`Closer::close`].
    ///
    /// # Errors
    /// If the accept loop could not be woken (see [`Closer::close`]).
    pub fn close(&self) -> io::Result<()> {
        self.closer.close()
    }

    /// Closes, then ends the connections still open after `grace`. See
    /// [`Closer::shutdown`].
    ///
    /// # Errors
    /// As [`close`](ServerHandle::close).
    pub fn shutdown(&self, grace: Duration) -> io::Result<()> {
        self.closer.shutdown(grace)
    }

    /// A [`Closer`] for this server: a handle that another thread can keep,
    /// to close the server while this one waits in
    /// [`join`](ServerHandle::join).
    pub fn closer(&self) -> Closer {
        self.closer.clone()
    }

    /// Waits for the server's `'close'`: returns once the server has been
    /// closed (through a [`Closer`], from another thread) and every
    /// connection has ended.
    ///
    /// # Errors
    /// None today: the server's errors go to [`Server::on_error`]. The
    /// `Result` is the shape every handle of this crate has.
    ///
    /// # Panics
    /// If the server's own thread panicked, in `new_handler` or in one of
    /// the server's listeners: the panic goes on here, as
    /// `std::thread::scope` passes on a scoped thread's. A panic in a
    /// connection's [`Handler`] ends only that connection, and the server
    /// goes on.
    pub fn join(mut self) -> io::Result<()> {
        if let Some(thread) = self.thread.take() {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Ok(())
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            // Nobody can hear an error here; the server stops as it can.
            let _ = self.close();
        }
    }
}

/// What closes a running server, from any thread: clone it, send it, keep
/// it. Made by [`ServerHandle::closer`].
///
/// Node's `server.close()` can be called from any callback, because
/// everything runs on one thread. Here the [`ServerHandle`] usually waits in
/// [`join`](ServerHandle::join) (or [`Server::serve`] never returns), so
/// whoever decides to stop (a signal thread, a handler, a timer) needs a
/// handle of its own.
///
/// ```
/// use netcourse::tcp::{Handler, Server};
/// use std::time::Duration;
///
/// struct Quiet;
/// impl Handler for Quiet {}
///
/// let server = Server::bind("127.0.0.1:0")?.spawn(|| Quiet)?;
/// let closer = server.closer();
/// std::thread::spawn(move || closer.shutdown(Duration::from_secs(1)));
/// server.join()?; // returns once the other thread has shut it down
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Closer {
    shared: Arc<Shared>,
}

/// How long [`Closer::close`] waits for the accept loop to stop, or for its
/// wake-up connection to be answered: long enough for a loop pausing after
/// failed accepts ([`MAX_BACKOFF`]).
const WAKE_UP_WAIT: Duration = Duration::from_secs(5);

impl Closer {
    /// `server.close()`: stops accepting. When this returns `Ok` the port is
    /// closed and a new `connect` is refused; the open connections go on, and
    /// the server's `'close'` ([`Server::on_close`]) follows the last of
    /// them. Calling it again is harmless.
    ///
    /// `std` has no call that interrupts a thread blocked in `accept`. So
    /// `close` sets a flag and then connects to the server itself: `accept`
    /// returns that wake-up connection, the loop sees the flag and stops.
    ///
    /// # Errors
    /// If the wake-up connection fails, or the accept loop has not stopped
    /// within a few seconds of it: the server stops accepting with the next
    /// connection that comes, and `close` does not wait for it.
    pub fn close(&self) -> io::Result<()> {
        close_listener(&self.shared, self.shared.wake_addr)
    }

    /// Ends every open connection now: `shutdown(Shutdown::Both)` on each,
    /// which wakes its thread's blocking `read`, so its handler hears
    /// `'end'` (or `'error'`) and `'close'`. Node's HTTP server calls this
    /// `closeAllConnections()`; a `net.Server` leaves it to you
    /// (`socket.destroy()` on each socket you kept). Connections accepted
    /// before [`close`](Closer::close) that start later are ended too.
    ///
    /// On Linux and macOS the shutdown wakes the blocked `read` at once. On
    /// Windows it does not (Winsock does not promise it): the client is sent
    /// FIN, and the connection's thread ends when the client closes, or when
    /// the connection's idle timeout ([`Socket::set_timeout`]) fires.
    pub fn end_connections(&self) {
        self.shared.ending.store(true, Ordering::SeqCst);
        for stream in lock(&self.shared.open).values() {
            // NotConnected only means it was closing anyway.
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// A graceful shutdown: [`close`](Closer::close), then wait up to
    /// `grace` for the open connections to end by themselves, then
    /// [`end_connections`](Closer::end_connections) for the rest. Returns
    /// when the rest have been told; [`ServerHandle::join`] waits for their
    /// `'close'`.
    ///
    /// # Errors
    /// As [`close`](Closer::close); the connections are ended all the same.
    pub fn shutdown(&self, grace: Duration) -> io::Result<()> {
        let closed = self.close();
        // Wait, without the lock, while connections remain, for `grace` in all.
        drop(
            self.shared
                .one_closed
                .wait_timeout_while(lock(&self.shared.open), grace, |open| !open.is_empty())
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.end_connections();
        closed
    }
}

/// [`Closer::close`], with the address to connect to for the wake-up given:
/// a test can give one where nobody listens.
fn close_listener(shared: &Shared, wake_addr: SocketAddr) -> io::Result<()> {
    shared.closing.store(true, Ordering::SeqCst);
    let listening = lock(&shared.listening);
    if !*listening {
        return Ok(()); // closed already
    }
    if let Err(e) = TcpStream::connect_timeout(&wake_addr, WAKE_UP_WAIT) {
        return Err(io::Error::new(
            e.kind(),
            format!("cannot wake the accept loop at {wake_addr}: {e}"),
        ));
    }
    let (listening, _) = shared
        .stopped_listening
        .wait_timeout_while(listening, WAKE_UP_WAIT, |listening| *listening)
        .unwrap_or_else(PoisonError::into_inner);
    if *listening {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the accept loop did not stop",
        ));
    }
    Ok(())
}

/// Where `close()` connects to wake the accept loop: the server's own
/// address, with a wildcard (`0.0.0.0`, `::`) replaced by loopback, since
/// one cannot connect to "any address". An IPv6 address keeps its scope id
/// (which interface a link-local `fe80::` address is on) and flow info:
/// without the scope id, a link-local address cannot be reached at all. The
/// `udp` module sends its wake-up datagram to the same place, for the same
/// reason.
pub(crate) fn wake_up_addr(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, v4.port()))
        }
        // A wildcard's scope id names no interface that ::1 is on.
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::LOCALHOST,
            v6.port(),
            v6.flowinfo(),
            0,
        )),
        addr => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses no test machine can connect from: the seats are numbers,
    /// and any address will do.
    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn one_address_takes_its_share_and_the_others_the_rest() {
        let mut seats = Seats::new(64, 16);
        let attacker = ip("192.0.2.1");
        for _ in 0..16 {
            seats.take(attacker).unwrap();
        }
        // The 17th from the same address: refused, with seats to spare.
        assert_eq!(seats.take(attacker), Err(DropReason::AddressFull));
        assert_eq!(seats.open, 16);
        // Three more addresses fill the server...
        for n in 2..=4 {
            for _ in 0..16 {
                seats.take(ip(&format!("192.0.2.{n}"))).unwrap();
            }
        }
        // ...and then everyone is refused, for want of any seat.
        assert_eq!(seats.take(ip("198.51.100.7")), Err(DropReason::ServerFull));
        assert_eq!(seats.take(attacker), Err(DropReason::ServerFull));
    }

    #[test]
    fn a_seat_given_back_is_free_again_and_forgotten_at_zero() {
        let mut seats = Seats::new(2, 1);
        let (a, b) = (ip("192.0.2.1"), ip("2001:db8::1"));
        seats.take(a).unwrap();
        seats.take(b).unwrap();
        assert_eq!(seats.take(ip("192.0.2.3")), Err(DropReason::ServerFull));
        seats.release(a);
        assert!(!seats.by_address.contains_key(&a));
        seats.take(ip("192.0.2.3")).unwrap();
        // Giving back a seat that was never taken changes nothing.
        seats.release(ip("203.0.113.9"));
        assert_eq!(seats.open, 2);
    }

    #[test]
    fn an_ipv4_client_of_an_ipv6_listener_counts_as_its_ipv4_address() {
        let mut seats = Seats::new(8, 1);
        seats.take(ip("192.0.2.1")).unwrap();
        assert_eq!(
            seats.take(ip("::ffff:192.0.2.1")),
            Err(DropReason::AddressFull)
        );
        seats.release(ip("::ffff:192.0.2.1"));
        assert_eq!(seats.open, 0);
    }

    #[test]
    fn a_seat_guard_gives_its_seat_back_when_dropped() {
        let seats = Arc::new(Mutex::new(Seats::new(1, 1)));
        let seat = Seat::take(&seats, ip("192.0.2.1")).unwrap();
        assert_eq!(
            Seat::take(&seats, ip("192.0.2.2")).err(),
            Some(DropReason::ServerFull)
        );
        drop(seat);
        assert!(Seat::take(&seats, ip("192.0.2.2")).is_ok());
    }

    /// `/proc/self/limits` as Linux 6 writes it (trimmed).
    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max stack size            8388608              unlimited            bytes     
Max processes             96364                96364                processes 
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
";

    #[test]
    fn limits_are_read_from_the_soft_column() {
        assert_eq!(soft_limit(LIMITS, "Max open files"), Some(1024));
        assert_eq!(soft_limit(LIMITS, "Max cpu time"), Some(u64::MAX));
        assert_eq!(soft_limit(LIMITS, "Max nice priority"), None);
        assert_eq!(soft_limit("Max open files  many", "Max open files"), None);
    }

    #[test]
    fn the_total_leaves_room_and_counts_two_descriptors_a_connection() {
        // (1024 - 32) / 2: the files decide, not the 96,364 processes.
        assert_eq!(max_connections_for(LIMITS), Some(496));
        let few_threads = LIMITS.replace("96364                96364", "200 200");
        assert_eq!(max_connections_for(&few_threads), Some(100));
        let no_thread_limit = LIMITS.replace("96364                96364", "unlimited unlimited");
        assert_eq!(max_connections_for(&no_thread_limit), Some(496));
        // A tiny limit still leaves one seat; no limit line, no answer.
        let tiny = LIMITS.replace("1024  ", "40    ");
        assert_eq!(max_connections_for(&tiny), Some(4));
        let tinier = LIMITS.replace("1024  ", "8     ");
        assert_eq!(max_connections_for(&tinier), Some(1));
        assert_eq!(max_connections_for("Limit Soft Limit\n"), None);
    }

    #[test]
    fn the_wake_up_address_keeps_an_ipv6_scope_id_and_flow_info() {
        // A link-local address means nothing without its interface: the
        // scope id (3 here) must survive, and so must the flow label. No
        // packet is sent: this only builds the address.
        let link_local: SocketAddr =
            SocketAddrV6::new("fe80::1".parse().unwrap(), 8124, 7, 3).into();
        assert_eq!(wake_up_addr(link_local), link_local);
        // A wildcard becomes loopback, of the same family, same port.
        let any_v6: SocketAddr = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 8124, 7, 0).into();
        assert_eq!(
            wake_up_addr(any_v6),
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 8124, 7, 0))
        );
        assert_eq!(
            wake_up_addr("0.0.0.0:8124".parse().unwrap()),
            "127.0.0.1:8124".parse::<SocketAddr>().unwrap()
        );
        let v4: SocketAddr = "127.0.0.2:80".parse().unwrap();
        assert_eq!(wake_up_addr(v4), v4);
    }

    /// A loopback port where nothing listens (it did a moment ago).
    fn closed_port() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }

    #[test]
    fn close_returns_an_error_when_the_accept_loop_cannot_be_woken() {
        struct Quiet;
        impl Handler for Quiet {}
        let server = Server::bind("127.0.0.1:0")
            .unwrap()
            .spawn(|| Quiet)
            .unwrap();
        let shared = &server.closer.shared;
        // The seam: wake a port where nobody listens, as a wrong wake-up
        // address would.
        let started = Instant::now();
        let error = close_listener(shared, closed_port()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
        assert!(started.elapsed() < WAKE_UP_WAIT + Duration::from_secs(1));
        assert!(*lock(&shared.listening), "still listening");
        // The right address still closes it, and then closing is harmless.
        server.close().unwrap();
        assert!(!*lock(&shared.listening));
        server.close().unwrap();
        server.join().unwrap();
    }

    #[test]
    fn the_default_total_is_at_least_one() {
        assert!(default_max_connections() >= 1);
    }
}
