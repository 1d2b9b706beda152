//! UDP as Node's `dgram` module tells it, built on `std::net::UdpSocket`: a
//! bound [`Socket`] that sends with [`Socket::send`], and one receive loop
//! that calls your [`Handler`] with each datagram and where it came from.
//!
//! UDP has no connections, so there is no accept loop and no thread per
//! peer: one socket, one loop, and every datagram from anyone arrives there
//! whole, with its sender's address ([`RemoteInfo`], Node's `rinfo`). As in
//! [`tcp`](crate::tcp), every Node event is a blocking call that returned:
//!
//! | Node                              | here                               | the `std::net` fact behind it                  |
//! |-----------------------------------|------------------------------------|------------------------------------------------|
//! | `dgram.createSocket('udp4')`      | [`Socket::create`]                 | `UdpSocket::bind("0.0.0.0:0")`, as Node binds before its first send |
//! | `socket.bind(port)`/`'listening'` | [`Socket::bind`] returns `Ok`      | `UdpSocket::bind` returned `Ok`                |
//! | `socket.address()`                | [`Socket::local_addr`]             | `UdpSocket::local_addr`                        |
//! | `'message'` (`msg`, `rinfo`)      | [`Handler::on_message`]            | `recv_from` returned `(n, SocketAddr)`         |
//! | `socket.send(buf, offset, length, port, address, cb)` | [`Socket::send`] returns `bytes` | `send_to(&buf[offset..offset + length], (address, port))` |
//! | `socket.close()`                  | [`Socket::close`], [`SocketHandle::close`] | the loop stops and drops the `UdpSocket` |
//! | `'close'`                         | [`Handler::on_close`]              | the loop is over and the port is released      |
//! | `'error'`                         | [`Handler::on_error`]              | `recv_from` (or your handler) returned `Err`   |
//!
//! Doc A's server, which prints every datagram:
//!
//! ```no_run
//! use netcourse::udp::{Handler, RemoteInfo, Socket};
//! use std::io;
//!
//! struct Printer;
//!
//! impl Handler for Printer {
//!     fn on_message(&mut self, _socket: &Socket, msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()> {
//!         let msg = String::from_utf8_lossy(msg);
//!         println!("server got: {msg} from {}:{}", rinfo.address, rinfo.port);
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> io::Result<()> {
//!     let server = Socket::bind("127.0.0.1:41234")?; // 'listening'
//!     server.receive(Printer) // runs until the process ends
//! }
//! ```
//!
//! ## The names
//!
//! [`tcp`](crate::tcp) has a `Handler` and a `Socket` too. The names are
//! Node's, one to one: Node calls both of its sockets `Socket`
//! (`dgram.Socket` here, `net.Socket` there), and the course keeps every
//! Node name. Where both appear, name them by their module, `udp::Socket`
//! and `tcp::Socket`.
//!
//! This file is what chapter 4 teaches: the [`Socket`], its [`Handler`],
//! and the receive loop. `handle.rs` holds [`SocketHandle`], for a loop on
//! a thread of its own, and the state it shares with the loop to close it.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

mod handle;

pub use handle::SocketHandle;
use handle::{MarkClosed, State};

/// The largest datagram UDP can carry, so the size of the one receive
/// buffer: 65,527 bytes.
///
/// UDP's length field is 16 bits and counts its own 8-byte header, so no
/// datagram carries more than 65,535 − 8 = 65,527 bytes; that is the IPv6
/// limit. Over IPv4 the 20-byte IP header also has to fit in 65,535, so the
/// limit there is 65,507. Those are the limits on Linux and Windows; macOS
/// by default sends no datagram larger than 9,216 bytes (its
/// `net.inet.udp.maxdgram`), over either IP.
///
/// A datagram larger than the buffer `recv_from` is given does not arrive
/// whole, and the systems disagree on how it arrives: Linux and macOS cut
/// it to the buffer's size and say nothing; Windows fills the buffer too
/// but fails the call with `WSAEMSGSIZE`, without the sender's address.
/// With this buffer no datagram is larger, so on all three the receive loop
/// delivers every datagram whole.
pub const MAX_DATAGRAM: usize = 65_535 - 8;

/// Node's `family`: which IP version an address is. Displayed as Node
/// spells it, `IPv4` or `IPv6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `'udp4'` sockets, `rinfo.family === 'IPv4'`.
    IPv4,
    /// `'udp6'` sockets, `rinfo.family === 'IPv6'`.
    IPv6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::IPv4,
            SocketAddr::V6(_) => Family::IPv6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::IPv4 => "IPv4",
            Family::IPv6 => "IPv6",
        })
    }
}

/// Node's `rinfo`: who sent a datagram, and how big it was.
///
/// Built from what `recv_from` returned, on the loop's stack: reading it
/// costs no allocation. To answer the sender, hand `port` and `address` to
/// [`Socket::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteInfo {
    /// The sender's IP address. On an IPv6 socket bound to `::`, an IPv4
    /// sender shows as `::ffff:a.b.c.d`, as in Node; such a socket hears
    /// IPv4 senders on Linux and macOS only (see [`Socket::bind`]).
    pub address: IpAddr,
    /// [`Family::IPv4`] or [`Family::IPv6`], from `address`.
    pub family: Family,
    /// The port the sender sent from: where a reply goes.
    pub port: u16,
    /// The datagram's size in bytes: the length of `msg`.
    pub size: usize,
}

impl RemoteInfo {
    fn new(from: SocketAddr, size: usize) -> RemoteInfo {
        RemoteInfo {
            address: from.ip(),
            family: Family::of(from),
            port: from.port(),
            size,
        }
    }
}

/// Your code for a socket's events: Node's `'message'`, `'error'` and
/// `'close'` listeners, called one at a time from the thread that runs the
/// receive loop.
///
/// `'listening'` has no method: [`Socket::bind`] returning `Ok` is that
/// event, as [`tcp::Server::bind`](crate::tcp::Server::bind) is for TCP, so
/// the code after `bind` is the `'listening'` listener.
pub trait Handler {
    /// `'message'`: `recv_from` returned a datagram. `msg` is all of it
    /// (UDP delivers datagrams whole or not at all), `rinfo` says who sent
    /// it. `socket` is the receiving socket, to answer with
    /// [`send`](Socket::send) or stop with [`close`](Socket::close).
    ///
    /// `msg` borrows the loop's one buffer, which the next datagram
    /// overwrites: copy what you keep.
    ///
    /// # Errors
    /// An `Err` stops the loop, like an exception thrown in a Node listener:
    /// [`on_error`](Handler::on_error), then [`on_close`](Handler::on_close),
    /// and [`Socket::receive`] returns it. So `?` works here; to go on after
    /// a failed reply, handle that error in place instead.
    fn on_message(&mut self, socket: &Socket, msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()>;

    /// `'error'`: `recv_from` failed, or [`on_message`](Handler::on_message)
    /// returned `Err`. The loop has stopped; [`on_close`](Handler::on_close)
    /// follows.
    fn on_error(&mut self, error: &io::Error) {
        let _ = error;
    }

    /// `'close'`: the loop is over and the socket has been dropped, so its
    /// port is free again.
    fn on_close(&mut self) {}
}

/// A bound UDP socket: Node's `dgram.Socket` after `bind`.
///
/// It can [`send`](Socket::send) at once; to receive, hand it a [`Handler`]
/// with [`receive`](Socket::receive) (on this thread) or
/// [`spawn`](Socket::spawn) (on a thread of its own). Dropping it closes it.
#[derive(Debug)]
pub struct Socket {
    /// The socket itself. The receive loop owns it and drops it before
    /// `'close'`, which is what releases the port.
    socket: UdpSocket,
    /// The address really bound (with the kernel's port for port 0), read
    /// once at bind: `send` needs its family, `spawn` its address.
    local_addr: SocketAddr,
    /// What the receive loop and a [`SocketHandle`] share: the flag that
    /// stops the loop, and whether the socket is still open.
    state: Arc<State>,
}

impl Socket {
    /// `socket.bind(port, address)`: binds the address. When this returns
    /// `Ok`, datagrams sent to it are kept by the kernel until the receive
    /// loop reads them: that is `'listening'`.
    ///
    /// ```
    /// use netcourse::udp::Socket;
    ///
    /// let server = Socket::bind("127.0.0.1:0")?; // port 0: the kernel picks one
    /// println!("server listening {}", server.local_addr()); // 'listening'
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// Bound to `::`, every IPv6 address, a socket hears IPv6 senders and,
    /// on Linux and macOS, IPv4 senders too. On Windows it hears IPv6 only:
    /// there every IPv6 socket is IPv6-only (`IPV6_V6ONLY`) unless told
    /// otherwise before `bind`, which `std` cannot do (libuv, under Node,
    /// does). To hear both families on Windows, bind one socket for each.
    ///
    /// # Errors
    /// What Node reports as `'error'` during `bind`: `AddrInUse`
    /// (`EADDRINUSE`; `WSAEADDRINUSE` on Windows), `PermissionDenied` for a
    /// port below 1024 on Linux (macOS since 10.14 and Windows let anyone
    /// bind those, but Windows refuses the ports it has reserved the same
    /// way), `AddrNotAvailable` for an address this machine does not have.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Socket> {
        let socket = UdpSocket::bind(addr)?;
        Ok(Socket {
            local_addr: socket.local_addr()?,
            socket,
            state: Arc::new(State {
                closing: AtomicBool::new(false),
                open: Mutex::new(true),
                closed: Condvar::new(),
            }),
        })
    }

    /// `dgram.createSocket('udp4')` (or `'udp6'`): a socket to send from.
    ///
    /// Node binds such a socket just before its first send, to every address
    /// (`0.0.0.0` or `::`) and a port the kernel picks; this binds it the same
    /// way, at once. Replies to what it sends come back to that port.
    ///
    /// # Errors
    /// As [`bind`](Socket::bind); in practice only when the machine has no
    /// IPv6 (for [`Family::IPv6`]) or no free port.
    pub fn create(family: Family) -> io::Result<Socket> {
        match family {
            Family::IPv4 => Socket::bind((Ipv4Addr::UNSPECIFIED, 0)),
            Family::IPv6 => Socket::bind((Ipv6Addr::UNSPECIFIED, 0)),
        }
    }

    /// `socket.address()`: the address really bound, with the port the
    /// kernel chose when you asked for port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `socket.send(buf, offset, length, port, address)`: sends
    /// `buf[offset..offset + length]` as one datagram to `address:port` and
    /// returns how many bytes went (the `bytes` of Node's callback).
    ///
    /// `address` is anything `std` pairs with a port: a host name (`"localhost"`),
    /// an IP address as text, or an [`IpAddr`] such as [`RemoteInfo::address`].
    /// A name is looked up as Node's `udp4`/`udp6` socket does: the first
    /// address of the socket's own family, so `localhost` from an IPv4 socket
    /// is `127.0.0.1` even where it also means `::1`.
    ///
    /// UDP has no connection: `Ok` means the kernel took the datagram, not
    /// that anyone received it. Sending to a port where nothing listens
    /// succeeds.
    ///
    /// ```
    /// use netcourse::udp::{Family, Socket};
    /// use std::net::UdpSocket;
    /// # use std::time::Duration;
    ///
    /// let server = UdpSocket::bind("127.0.0.1:0")?;
    /// # server.set_read_timeout(Some(Duration::from_secs(20)))?;
    /// let port = server.local_addr()?.port();
    ///
    /// let client = Socket::create(Family::IPv4)?;
    /// let message = b"hello world";
    /// let bytes = client.send(message, 0, message.len(), port, "localhost")?;
    /// assert_eq!(bytes, 11);
    ///
    /// let mut buf = [0; 64];
    /// let (n, _) = server.recv_from(&mut buf)?;
    /// assert_eq!(&buf[..n], b"hello world");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` when `offset` and `length` do not lie inside `buf`
    /// (Node throws `ERR_BUFFER_OUT_OF_BOUNDS`); nothing is sent then. A host name
    /// that does not resolve fails as the lookup failed. The kernel refuses a
    /// datagram larger than it sends (see [`MAX_DATAGRAM`]: 65,507 bytes over
    /// IPv4, 9,216 on macOS) with `EMSGSIZE` (`WSAEMSGSIZE` on Windows)
    /// instead of cutting it. Every system refuses a port of 0, each with an
    /// error of its own (Linux's is `EINVAL`). On Windows, a socket bound to
    /// `::` cannot send to an IPv4 address (see [`bind`](Socket::bind)).
    pub fn send<A>(
        &self,
        buf: &[u8],
        offset: usize,
        length: usize,
        port: u16,
        address: A,
    ) -> io::Result<usize>
    where
        (A, u16): ToSocketAddrs,
    {
        // `get` returns None instead of panicking when the range is outside
        // `buf`, and `checked_add` catches an `offset + length` that would
        // overflow before the range is even built.
        let msg = offset
            .checked_add(length)
            .and_then(|end| buf.get(offset..end))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "offset {offset} and length {length} are outside the {}-byte buffer",
                        buf.len()
                    ),
                )
            })?;
        let to = self.resolve((address, port))?;
        self.socket.send_to(msg, to)
    }

    /// The address `send` sends to: the first one of this socket's family,
    /// else the first one (a `::` socket reaches an IPv4 address on Linux and
    /// macOS; on Windows that send fails).
    fn resolve(&self, addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
        let family = Family::of(self.local_addr);
        let mut first = None;
        for candidate in addr.to_socket_addrs()? {
            if Family::of(candidate) == family {
                return Ok(candidate);
            }
            first.get_or_insert(candidate);
        }
        first.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any addresses",
            )
        })
    }

    /// `socket.close()`, from inside your [`Handler`]: the loop stops before
    /// it receives again, then `'close'` fires. Outside a handler, drop the
    /// socket, or use [`SocketHandle::close`] for one that
    /// [`spawn`](Socket::spawn) started.
    pub fn close(&self) {
        self.state.closing.store(true, Ordering::SeqCst);
    }

    /// Runs the receive loop on this thread: `handler` hears each
    /// `'message'` until the loop stops, then `'close'`. This is what Node's
    /// event loop does for a bound `dgram` socket.
    ///
    /// # Errors
    /// The error that stopped the loop, after [`Handler::on_error`] has seen
    /// it: a failed `recv_from`, or an `Err` from your
    /// [`Handler::on_message`]. `Ok` means [`close`](Socket::close) stopped it.
    pub fn receive<H: Handler>(self, mut handler: H) -> io::Result<()> {
        // Made before `socket`, so dropped after it, on every way out.
        let _closed = MarkClosed(Arc::clone(&self.state));
        let socket = self;
        let result = socket.receive_loop(&mut handler);
        if let Err(error) = &result {
            // 'error': recv_from or the handler failed.
            handler.on_error(error);
        }
        // 'close': drop the socket first, so the port really is free when
        // the handler hears of it; then `_closed` lets a
        // SocketHandle::close return.
        drop(socket);
        handler.on_close();
        result
    }

    /// The one receive loop. It allocates nothing per datagram: one buffer
    /// for the socket's whole life, and the `RemoteInfo` lives on the stack.
    fn receive_loop<H: Handler>(&self, handler: &mut H) -> io::Result<()> {
        // On the heap, once: 64 KiB is a lot to ask of a thread's stack.
        let mut buf = vec![0; MAX_DATAGRAM];
        // Checked before each receive, for a close() from inside the handler.
        while !self.state.closing.load(Ordering::SeqCst) {
            let received = self.socket.recv_from(&mut buf);
            // Checked after it too: a SocketHandle::close() from another
            // thread sends a datagram to wake this recv_from; whatever woke
            // it, after close() nothing more is delivered.
            if self.state.closing.load(Ordering::SeqCst) {
                break;
            }
            match received {
                // 'message': recv_from returned a whole datagram and its
                // sender. `size` is at most `buf.len()`, so the slice is safe.
                Ok((size, from)) => {
                    handler.on_message(self, &buf[..size], &RemoteInfo::new(from, size))?;
                }
                // A signal interrupted the wait; nothing arrived, wait again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Windows reports here, as WSAECONNRESET, that an earlier
                // *send* met a closed port (ICMP "port unreachable"); Linux
                // and macOS do so only for a connected socket, which this is
                // not. That says nothing about this socket, which still
                // receives, so the loop goes on; libuv, under Node, ignores
                // it the same way on Windows.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
                    ) => {}
                // 'error': the socket itself failed.
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Like [`receive`](Socket::receive), but runs the loop on a thread of
    /// its own and returns a [`SocketHandle`] to close it with.
    ///
    /// An echo server, and a client that hears its own words back:
    ///
    /// ```
    /// use netcourse::udp::{Handler, RemoteInfo, Socket};
    /// use std::io;
    /// use std::net::UdpSocket;
    /// # use std::time::Duration;
    ///
    /// struct Echo;
    ///
    /// impl Handler for Echo {
    ///     fn on_message(&mut self, socket: &Socket, msg: &[u8], rinfo: &RemoteInfo) -> io::Result<()> {
    ///         socket.send(msg, 0, msg.len(), rinfo.port, rinfo.address)?;
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let server = Socket::bind("127.0.0.1:0")?.spawn(Echo)?;
    ///
    /// let client = UdpSocket::bind("127.0.0.1:0")?;
    /// # client.set_read_timeout(Some(Duration::from_secs(20)))?;
    /// client.send_to(b"ping", server.local_addr())?;
    /// let mut buf = [0; 16];
    /// let (n, _) = client.recv_from(&mut buf)?;
    /// assert_eq!(&buf[..n], b"ping");
    ///
    /// server.close()?; // socket.close(): the port is free
    /// server.join()?; // 'close', and how the loop ended
    /// # Ok::<(), io::Error>(())
    /// ```
    ///
    /// # Errors
    /// Only if the thread cannot be started.
    pub fn spawn<H>(self, handler: H) -> io::Result<SocketHandle>
    where
        H: Handler + Send + 'static,
    {
        let local_addr = self.local_addr;
        let state = Arc::clone(&self.state);
        let thread = thread::Builder::new()
            .name(format!("udp {local_addr}"))
            .spawn(move || self.receive(handler))?;
        Ok(SocketHandle {
            local_addr,
            state,
            thread: Some(thread),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name is looked up as a `udp4` or `udp6` socket does: the first
    /// address of the socket's own family, wherever it comes in the list.
    #[test]
    fn send_resolves_to_the_sockets_own_family() {
        let v4 = Socket::bind("127.0.0.1:0").unwrap();
        let v6: SocketAddr = "[::1]:9".parse().unwrap();
        let also_v4: SocketAddr = "127.0.0.2:9".parse().unwrap();
        assert_eq!(v4.resolve(&[v6, also_v4][..]).unwrap(), also_v4);
        // None of its family: the first, whatever it is.
        assert_eq!(v4.resolve(&[v6][..]).unwrap(), v6);
    }
}
