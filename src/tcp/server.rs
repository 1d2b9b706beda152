//! The server's machinery: bind, the accept loop, and the thread that
//! seats each connection and starts its read loop ([`Server::serve`],
//! [`Server::spawn`]). What each connection's thread runs is in the
//! [`tcp`](super) module itself; the seats' rules are in `seats`, and
//! closing a running server in `close`.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::close::{lock, Closer, Listening, ServerHandle, Shared};
use super::seats::{
    default_max_connections, Activity, DropReason, Reclaimed, Seats, ACCEPT_QUEUE, ADDRESS_SHARE,
};
use super::{run, Handler, Opened};
use crate::wake::wake_up_addr;

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
    /// Descriptors each connection holds, for the default `max_connections`.
    descriptors_per_connection: usize,
    /// `SO_SNDTIMEO` on every accepted socket, set before `'connection'`.
    write_timeout: Option<Duration>,
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
            .field(
                "descriptors_per_connection",
                &config.descriptors_per_connection,
            )
            .field("write_timeout", &config.write_timeout)
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
                descriptors_per_connection: 1,
                write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
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
    ///
    /// Each open connection holds a *seat*: a thread, and its descriptors.
    /// A seat is taken when `accept` returns and given back when the
    /// connection's stream is dropped, just before its `'close'`.
    ///
    /// Node refuses one more connection. This server gives it the seat of
    /// the open connection heard from least recently, so that silent
    /// connections, however many and from however many addresses, cannot
    /// lock out a client that talks: that connection is ended (its handler
    /// hears `'error'`, `ConnectionAborted`, then `'close'`) and reported to
    /// [`on_drop`](Server::on_drop) with [`DropReason::Reclaimed`]. Only if
    /// many seats are being given up at once is the newcomer closed instead,
    /// with [`DropReason::ServerFull`].
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
    /// takes every seat (and then, as they are reclaimed, the seats of
    /// everyone else). An IPv4 address is one address, but an IPv6 /64
    /// counts as one: it is the block one network is given, and one machine
    /// may use any address in it. An IPv4 client seen by an IPv6 listener,
    /// as `::ffff:a.b.c.d`, counts as its IPv4 address. Clients behind one
    /// NAT share an address, and so share its seats.
    pub fn max_connections_per_ip(mut self, limit: usize) -> Server {
        self.config.max_connections_per_ip = Some(limit);
        self
    }

    /// How many descriptors each connection holds, for the default
    /// [`max_connections`](Server::max_connections): 1 (its socket) unless
    /// told otherwise. A handler that keeps a clone of each connection's
    /// stream (`try_clone`) holds 2: a [`chat::Room`](crate::chat::Room)
    /// does, for its members.
    pub fn descriptors_per_connection(mut self, descriptors: usize) -> Server {
        self.config.descriptors_per_connection = descriptors;
        self
    }

    /// How long one write to a client may wait for the client to take bytes
    /// (`SO_SNDTIMEO`), set on every accepted socket before its
    /// `'connection'`: [`DEFAULT_WRITE_TIMEOUT`] unless told otherwise,
    /// `None` for no limit. A handler may set another on its socket
    /// ([`Socket::set_write_timeout`](super::Socket::set_write_timeout)); a
    /// chat room sets its own on every member it joins.
    ///
    /// A write that waited this long ends the connection as an idle read
    /// does: the handler hears `'timeout'`, then `'close'` (see
    /// [`Handler::on_timeout`](super::Handler::on_timeout)). Without it, a
    /// client that sends but never reads fills the server's send buffer, and
    /// the connection's thread waits in `write` for ever, holding its seat.
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Server {
        self.config.write_timeout = timeout;
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
    /// a limit and was closed, or an open one gave its seat to a newcomer
    /// and is being ended; the [`DropReason`] says which.
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
        self.spawn(new_handler)?.join();
        Ok(())
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
            accepted: AtomicU64::new(0),
            ended_before: AtomicU64::new(0),
        });
        let mut handle = ServerHandle {
            local_addr,
            closer: Closer {
                shared: Arc::clone(&shared),
            },
            thread: None,
        };
        // Two threads: one that only accepts, and one that does the rest.
        // Bounded: see ACCEPT_QUEUE.
        let (queue, accepted) = mpsc::sync_channel(ACCEPT_QUEUE);
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

/// What [`Server::write_timeout`] is unless told otherwise: two minutes,
/// the socket timeout Node's `http.Server` had by default until Node 13, and
/// the examples' `--idle`.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(120);

/// What `accept` returned: a connection, numbered in the order accepted,
/// and its peer's address; or an error.
type Accepted = io::Result<(u64, TcpStream, SocketAddr)>;

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
/// that. So accepting must not wait for the work of starting threads,
/// which happens elsewhere. It waits only when [`ACCEPT_QUEUE`] connections
/// are waiting to be seated: then new clients wait in the kernel's queue,
/// where they hold no descriptor of ours.
fn accept_loop(listening: Listening, queue: SyncSender<Accepted>) {
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
        let accepted = accepted.map(|(stream, remote)| {
            let id = listening.shared.accepted.fetch_add(1, Ordering::SeqCst);
            (id, stream, remote)
        });
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

/// One connection's seat, held by its thread: dropping it gives the seat
/// back, on every way out of the thread, a panicking handler's too.
#[derive(Debug)]
struct Seat {
    /// The server's seats, shared by the server's thread and every
    /// connection's.
    seats: Arc<Mutex<Seats>>,
    /// The connection's number.
    id: u64,
    /// When it was last heard from, and whether a newcomer took its seat.
    activity: Arc<Activity>,
}

impl Seat {
    /// Takes a seat in `seats` for connection `id` from `remote`, with the
    /// connection that gave its seat up for it, if one did; or says why
    /// there is none.
    fn take(
        seats: &Arc<Mutex<Seats>>,
        id: u64,
        remote: SocketAddr,
    ) -> Result<(Seat, Option<Reclaimed>), DropReason> {
        let (activity, reclaimed) = lock(seats).take(id, remote)?;
        let seat = Seat {
            seats: Arc::clone(seats),
            id,
            activity,
        };
        Ok((seat, reclaimed))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        lock(&self.seats).release(self.id);
    }
}

/// A served connection's place in the server, held by its thread: its seat,
/// and its entry in the list of open connections. Dropped just before
/// `'close'` (or with a panicking handler's thread): the entry goes first,
/// then the seat.
struct Admitted {
    shared: Arc<Shared>,
    seat: Seat,
}

impl Admitted {
    /// Lists `stream` among the open connections, with its `seat`.
    fn new(shared: &Arc<Shared>, stream: &Arc<TcpStream>, seat: Seat) -> Admitted {
        let id = seat.id;
        lock(&shared.open).insert(id, Arc::clone(stream));
        if id < shared.ended_before.load(Ordering::SeqCst) {
            // end_connections() ran after accept returned this one, and
            // before it was listed.
            let _ = stream.shutdown(Shutdown::Both);
        }
        Admitted {
            shared: Arc::clone(shared),
            seat,
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        lock(&self.shared.open).remove(&self.seat.id);
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
        .unwrap_or_else(|| default_max_connections(config.descriptors_per_connection));
    let max_per_address = config
        .max_connections_per_ip
        .unwrap_or((max / ADDRESS_SHARE).max(1));
    let seats = Arc::new(Mutex::new(Seats::new(max, max_per_address)));
    // The live connections' threads, kept to be joined before 'close'.
    // Finished ones are swept out before each new one starts.
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    // The queue ends when the accept loop stops and drops its sender.
    for accepted in accepted {
        match accepted {
            // 'connection': the kernel finished a handshake.
            Ok((id, stream, remote)) => {
                let (seat, reclaimed) = match Seat::take(&seats, id, remote) {
                    Ok(seated) => seated,
                    Err(reason) => {
                        // 'drop': over a limit; close it at once.
                        drop(stream);
                        config.dropped(remote, reason);
                        continue;
                    }
                };
                if let Some(reclaimed) = reclaimed {
                    // Its read loop wakes up, sees the seat taken, and ends.
                    if let Some(stream) = lock(&shared.open).get(&reclaimed.id) {
                        let _ = stream.shutdown(Shutdown::Both);
                    }
                    config.dropped(reclaimed.remote, DropReason::Reclaimed);
                }
                // Before 'connection', so that a handler's own setting wins.
                if let Err(e) = stream.set_write_timeout(config.write_timeout) {
                    config.report(&e);
                    continue; // the stream is closed, the seat given back
                }
                connections.retain(|thread| !thread.is_finished());
                let stream = Arc::new(stream);
                let admitted = Admitted::new(&shared, &stream, seat);
                let mut handler = new_handler();
                let spawned = thread::Builder::new().spawn(move || {
                    let activity = Arc::clone(&admitted.seat.activity);
                    // The error was handler.on_error's to report.
                    let _ = run(
                        stream,
                        remote,
                        &mut handler,
                        Opened::Accepted,
                        Some(&activity),
                        admitted,
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
    /// The server's `'drop'`, to its listener if it has one.
    fn dropped(&mut self, remote: SocketAddr, reason: DropReason) {
        if let Some(on_drop) = &mut self.on_drop {
            on_drop(remote, reason);
        }
    }

    /// The server's `'error'`, to its listener if it has one.
    fn report(&mut self, error: &io::Error) {
        if let Some(on_error) = &mut self.on_error {
            on_error(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::close::{close_listener, WAKE_UP_WAIT};
    use std::time::Instant;

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
        server.join();
    }

    #[test]
    fn a_seat_guard_gives_its_seat_back_when_dropped() {
        let seats = Arc::new(Mutex::new(Seats::new(1, 1)));
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 40_000);
        let (first, _) = Seat::take(&seats, 0, at("192.0.2.1")).unwrap();
        // The second takes the first's seat: the first is still closing.
        let (second, reclaimed) = Seat::take(&seats, 1, at("192.0.2.2")).unwrap();
        assert_eq!(reclaimed.map(|r| r.id), Some(0));
        assert!(first.activity.is_reclaimed());
        drop(first);
        drop(second);
        // Both gave their seats back: a newcomer reclaims nothing.
        let (_, reclaimed) = Seat::take(&seats, 2, at("192.0.2.3")).unwrap();
        assert_eq!(reclaimed, None);
    }
}
