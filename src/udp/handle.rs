//! A socket whose receive loop runs on a thread of its own
//! ([`SocketHandle`]), and what that loop shares with whoever closes it:
//! `socket.close()` from another thread, and the wake-up it needs.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::wake::wake_up_addr;

/// The receive loop's state, shared by its socket and its handle.
#[derive(Debug)]
pub(super) struct State {
    /// Set by [`Socket::close`](super::Socket::close) and [`SocketHandle::close`]; the receive loop
    /// checks it before and after every `recv_from`.
    pub(super) closing: AtomicBool,
    /// True until the receive loop has dropped the socket (the port is
    /// free); [`SocketHandle::close`] waits on `closed` for it to turn false.
    pub(super) open: Mutex<bool>,
    pub(super) closed: Condvar,
}

/// Held by the receive loop's thread: when it is dropped, the loop has
/// dropped its socket (the port is free), and whoever waits in
/// [`SocketHandle::close`] is told. A guard, so that this happens on every
/// way out of the loop, a panicking handler's too: `close` then returns at
/// once, and [`SocketHandle::join`] passes the panic on.
pub(super) struct MarkClosed(pub(super) Arc<State>);

impl Drop for MarkClosed {
    fn drop(&mut self) {
        *self.0.open.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.0.closed.notify_all();
    }
}

/// A socket whose receive loop runs on its own thread, from
/// [`Socket::spawn`](super::Socket::spawn). Its shape is [`tcp::ServerHandle`]'s:
/// [`close`](SocketHandle::close) stops it, [`join`](SocketHandle::join)
/// waits for `'close'` and says how the loop ended.
///
/// Dropping the handle closes the socket (as [`close`](SocketHandle::close))
/// without waiting for `'close'`.
///
/// [`tcp::ServerHandle`]: crate::tcp::ServerHandle
#[derive(Debug)]
pub struct SocketHandle {
    /// The socket's address: where the wake-up datagram goes.
    pub(super) local_addr: SocketAddr,
    /// The loop's state: its `closing` flag, and whether the port is free.
    pub(super) state: Arc<State>,
    /// The loop's thread; `None` once joined.
    pub(super) thread: Option<JoinHandle<io::Result<()>>>,
}

/// How long [`SocketHandle::close`] waits for the loop to stop: the time
/// your handler may take over the datagram it is handling, and `'close'`.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

impl SocketHandle {
    /// `socket.address()`: the address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `socket.close()`: stops the receive loop. When this returns `Ok`,
    /// `'close'` has happened: the loop has dropped the socket, the port is
    /// free, and your handler's [`on_close`](super::Handler::on_close) has run.
    /// Datagrams that arrive from now on, or that were waiting unread, are
    /// not delivered (as in Node). Calling it again is harmless.
    /// [`join`](SocketHandle::join) then says how the loop ended.
    ///
    /// `std` has no call that interrupts a thread blocked in `recv_from`, and
    /// a read timeout would make the loop wake up for nothing, over and over.
    /// So `close` sets a flag and then sends the socket an empty datagram:
    /// `recv_from` returns, the loop sees the flag and stops. (This is how
    /// [`tcp::Closer::close`](crate::tcp::Closer::close) wakes its
    /// `accept`, with a connection.) The wake-up is not lost under load: on
    /// loopback, Linux, macOS and Windows drop a datagram only when the
    /// socket's queue is full, and a full queue wakes the loop just as well.
    ///
    /// # Errors
    /// If the wake-up datagram cannot be sent, or the loop has not stopped
    /// within a few seconds (your handler is still busy with a datagram, or
    /// with `'close'`): it stops once the handler returns, and `close` does
    /// not wait for it. The error that stopped the loop, if one did, is
    /// [`join`](SocketHandle::join)'s to report.
    pub fn close(&self) -> io::Result<()> {
        self.stop()?;
        let open = self
            .state
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (open, _) = self
            .state
            .closed
            .wait_timeout_while(open, CLOSE_WAIT, |open| *open)
            .unwrap_or_else(PoisonError::into_inner);
        if *open {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the receive loop did not stop",
            ));
        }
        Ok(())
    }

    /// Waits for `'close'`: returns once the loop has stopped, because
    /// [`close`](SocketHandle::close) was called, or your handler called
    /// [`Socket::close`](super::Socket::close) or returned `Err`.
    ///
    /// # Errors
    /// As [`Socket::receive`](super::Socket::receive): the error that stopped the loop, if one did.
    ///
    /// # Panics
    /// If your handler panicked, its panic goes on here, as
    /// `std::thread::scope` passes on a scoped thread's.
    pub fn join(mut self) -> io::Result<()> {
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|e| panic::resume_unwind(e)),
            None => Ok(()),
        }
    }

    /// Sets the flag, then wakes the loop with an empty datagram sent from a
    /// socket of our own (a clone of the loop's socket would keep the port
    /// bound after the loop drops it).
    fn stop(&self) -> io::Result<()> {
        self.state.closing.store(true, Ordering::SeqCst);
        if !*self
            .state
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            return Ok(()); // closed already
        }
        let to = wake_up_addr(self.local_addr);
        let from = match to {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        };
        // Binding a free port and sending to ourselves fail only when the
        // machine is out of ports or memory.
        UdpSocket::bind(from)?.send_to(&[], to)?;
        Ok(())
    }
}

impl Drop for SocketHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            // Nobody can hear an error here; the loop stops as it can.
            let _ = self.stop();
        }
    }
}
