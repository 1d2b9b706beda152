//! Closing a running server: [`ServerHandle`] and [`Closer`], Node's
//! `server.close()`, and what Node leaves to you (ending the connections
//! still open, a graceful shutdown). Chapter 3 teaches `close` and chapter
//! 6 the graceful shutdown.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server's threads and every [`Closer`] share.
#[derive(Debug)]
pub(super) struct Shared {
    /// Set by `close()`; the accept loop checks it after every `accept`.
    pub(super) closing: AtomicBool,
    /// True until the accept loop has dropped the listener; `close()` waits
    /// on `stopped_listening` for it to turn false.
    pub(super) listening: Mutex<bool>,
    pub(super) stopped_listening: Condvar,
    /// Where `close()` connects to wake the accept loop ([`wake_up_addr`](crate::wake::wake_up_addr)).
    pub(super) wake_addr: SocketAddr,
    /// The open connections, by number: the same stream their threads read
    /// (an `Arc`, not a second descriptor), so that
    /// [`Closer::end_connections`] can end them. A connection's entry is
    /// removed just before its `'close'`, so this holds only open ones.
    pub(super) open: Mutex<HashMap<u64, Arc<TcpStream>>>,
    /// Notified each time a connection leaves `open`: what
    /// [`Closer::shutdown`] waits on.
    pub(super) one_closed: Condvar,
    /// How many connections `accept` has returned: the number the next one
    /// gets.
    pub(super) accepted: AtomicU64,
    /// Set by [`Closer::end_connections`] to `accepted` as it was then: a
    /// connection numbered below it was accepted before, so it is ended even
    /// if it is listed in `open` only later. Those accepted after are served.
    pub(super) ended_before: AtomicU64,
}

/// A lock that survives a panic elsewhere: the data behind these mutexes is a
/// flag, always valid, so a thread that panicked holding it changes nothing.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The listener while the accept loop runs. Dropping it, on every way out of
/// the loop, closes the port and only then tells `close()`, so that a
/// `connect` after `close()` returns is refused. It holds the `listening`
/// lock while it closes the port: a second `close()` then sees either the
/// port open (and its wake-up connects) or the flag cleared, never a closed
/// port with the flag still set (its wake-up would be refused).
pub(super) struct Listening {
    /// `Some` until dropped: taken in `drop` so the port closes first.
    pub(super) listener: Option<TcpListener>,
    pub(super) shared: Arc<Shared>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let mut listening = lock(&self.shared.listening);
        drop(self.listener.take());
        *listening = false;
        self.shared.stopped_listening.notify_all();
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
    pub(super) local_addr: SocketAddr,
    /// What closes the server; clones of it go to other threads.
    pub(super) closer: Closer,
    /// The server's thread (`serve_connections`), which joins the accept
    /// loop and every connection before `'close'`; `None` once joined.
    pub(super) thread: Option<JoinHandle<()>>,
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

    /// Waits for the server's `'close'`. When it returns, the server has
    /// been closed (through a [`Closer`], from another thread), and these
    /// have ended: the accept loop (the port is closed), every connection's
    /// thread (each handler has heard its `'close'`), and the server's own
    /// thread, after its [`on_close`](super::Server::on_close) listener ran.
    /// No thread the server started is left.
    ///
    /// Threads that a handler starts are its own: a
    /// [`chat::Room`](crate::chat::Room)'s writer threads are the room's,
    /// and its docs say when they end.
    ///
    /// It returns no `Result`: nothing here can fail. The server's errors
    /// go to its [`on_error`](super::Server::on_error) listener as they
    /// happen, and each connection's to its handler's
    /// [`on_error`](super::Handler::on_error).
    ///
    /// # Panics
    /// If the server's own thread panicked, in `new_handler` or in one of
    /// the server's listeners: the panic goes on here, as
    /// `std::thread::scope` passes on a scoped thread's. A panic in a
    /// connection's [`Handler`](super::Handler) ends only that connection,
    /// and the server goes on.
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
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
/// [`join`](ServerHandle::join) (or [`Server::serve`](super::Server::serve) never returns), so
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
/// server.join(); // returns once the other thread has shut it down
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Closer {
    pub(super) shared: Arc<Shared>,
}

/// How long [`Closer::close`] waits for the accept loop to stop, or for its
/// wake-up connection to be answered: long enough for a loop pausing after
/// failed accepts (`MAX_BACKOFF` in `server.rs`).
pub(super) const WAKE_UP_WAIT: Duration = Duration::from_secs(5);

impl Closer {
    /// `server.close()`: stops accepting. When this returns `Ok` the port is
    /// closed and a new `connect` is refused; the open connections go on, and
    /// the server's `'close'` ([`Server::on_close`](super::Server::on_close)) follows the last of
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
    /// (`socket.destroy()` on each socket you kept). It ends every
    /// connection `accept` has returned so far, those not started yet too;
    /// it does not close the server, which goes on serving the clients that
    /// come after (call [`close`](Closer::close) first for that).
    ///
    /// On Linux and macOS the shutdown wakes the blocked `read` at once. On
    /// Windows it does not (Winsock does not promise it): the client is sent
    /// FIN, and the connection's thread ends when the client closes, or when
    /// the connection's idle timeout ([`Socket::set_timeout`](super::Socket::set_timeout)) fires.
    pub fn end_connections(&self) {
        let accepted = self.shared.accepted.load(Ordering::SeqCst);
        self.shared
            .ended_before
            .fetch_max(accepted, Ordering::SeqCst);
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
pub(super) fn close_listener(shared: &Shared, wake_addr: SocketAddr) -> io::Result<()> {
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
