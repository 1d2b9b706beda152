//! # netcourse
//!
//! Network programming with nothing but `std::net`: two short notes on
//! Node.js networking (a TCP server and client, the events of a server and of
//! a connection, UDP, a chat room), ported to synchronous Rust so that every
//! Node event maps to a plain blocking call you can point at.
//!
//! - [`tcp`]: Node's `net` — a server with one thread per connection, a
//!   client, and a [`tcp::Handler`] with one method per event.
//! - [`udp`]: Node's `dgram` — a bound [`udp::Socket`] that sends, and one
//!   receive loop that hands a [`udp::Handler`] each datagram with its
//!   sender ([`udp::RemoteInfo`], Node's `rinfo`).
//!
//!   Both modules keep Node's names, so each has a `Handler` and a `Socket`
//!   (Node's `net.Socket` and `dgram.Socket`): where both appear, write
//!   [`tcp::Socket`] and [`udp::Socket`].
//! - [`chat`]: doc B's chat room — a shared `Arc<Mutex<Vec<...>>>` of peers
//!   that relays every complete line to every other client, as a
//!   [`tcp::Handler`] for the same server.
//!
//! The library never prints and never panics on network input: it returns
//! `io::Result` and calls your code. The programs that print are the
//! examples, one per snippet of the documents (`cargo run --example
//! tcp_server`).
//!
//! ## The course
//!
//! The crate is half of a course; the other half is `docs/` (start at its
//! `README.md`), one chapter per section of the two documents. Each chapter
//! is compiled into [`course`] so that `cargo test` runs its Rust code:
//!
//! 1. [Sockets and the layers](course::ch1_sockets): OSI's 7 layers and
//!    TCP/IP's 4, what a socket is, one connection seen from both ends.
//! 2. [A TCP server and client](course::ch2_tcp): doc A's and doc B's
//!    servers and clients, one connection from SYN to FIN, bytes not
//!    messages, and the same pair with nothing but `std::net`.
//! 3. [The events of a server and of a connection](course::ch3_events):
//!    all eleven of doc A's events in one run, then `close`, `timeout`,
//!    `drain`, half-close, `error` and the connection limit one by one.
//! 4. [UDP](course::ch4_udp): doc A's UDP server and client, no connection
//!    and no delivery promise, datagram boundaries and sizes, `rinfo`, and
//!    how `close` wakes a blocked receive loop.
//! 5. [The chat room](course::ch5_chat): doc B's room, one list behind an
//!    `Arc<Mutex<..>>` and what the compiler says without it, lines, one
//!    order for everyone, SendQs, eviction and flood control, the endless
//!    line, poisoning.
//! 6. [Beyond the documents](course::ch6_beyond): what a thread per
//!    connection costs, measured against Node and a plain `std::net` floor;
//!    when to use async Rust; `127.0.0.1` or `0.0.0.0`; graceful shutdown.
//!
//! Appendices: [errata](course::errata), every bug of the documents'
//! snippets, what Node does with it, and what the Rust compiler says about
//! its twin; [sources](course::sources), the two documents' snippets
//! exactly as they print them.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod chat;
pub mod course;
pub mod tcp;
pub mod udp;
mod wake;
