//! A5, doc A's two lists of events: a server and a client in one process
//! that make every event happen and print one line for each, in the order
//! they happen.
//!
//! Doc A lists the server's events (listening, connection, close, error)
//! and a connection's (data, end, connect, drain, close, error, timeout) but
//! shows none of them. The lines say which object heard the event, as a Node
//! program would name it: `server`, the server's `socket` for one
//! connection, and the `client`.
//!
//! Run: `cargo run --example tcp_events` (it picks a free port and exits by
//! itself).

mod common;

use common::{Args, OrExit};
use netcourse::tcp::{self, Handler, Server, Socket};
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Duration;

/// How long the server's socket waits in silence before `'timeout'`.
const IDLE: Duration = Duration::from_millis(50);

/// What the server sends after the timeout: more than the kernel's socket
/// buffers usually hold, so `write` really has to wait for the client to
/// read, which is when Node would buffer it and emit `'drain'` later.
const BIG: usize = 4 * 1024 * 1024;

/// The server's side of each connection.
struct ServerSocket {
    /// Told when this connection is over, so `main` can start the next act.
    closed: Sender<()>,
}

impl Handler for ServerSocket {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        println!("server: connection from {}", socket.remote_addr());
        // Say hello; the second client resets on it.
        socket.write_all(b"hi")
    }

    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        println!("socket: data {} bytes", data.len());
        // Now wait for silence.
        socket.set_timeout(Some(IDLE))
    }

    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        println!("socket: timeout, nothing for {} ms", IDLE.as_millis());
        socket.set_timeout(None)?;
        socket.write_all(&vec![b'.'; BIG])?;
        // 'drain': write() blocked until the kernel had taken every byte.
        println!("socket: drain, the kernel took all {BIG} bytes");
        socket.end()
    }

    fn on_end(&mut self, socket: &mut Socket) -> io::Result<()> {
        println!(
            "socket: end, {} bytes read, {} written",
            socket.bytes_read(),
            socket.bytes_written()
        );
        Ok(())
    }

    fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
        println!("socket: error {error}");
    }

    fn on_close(&mut self, had_error: bool) {
        println!("socket: close, had_error {had_error}");
        let _ = self.closed.send(());
    }
}

/// The client of the first connection. It prints only `'connect'`; its other
/// events would race with the server's lines.
struct Client {
    /// Tells `main` that the handshake is done.
    connected: Sender<()>,
}

impl Handler for Client {
    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        println!("client: connect");
        let _ = self.connected.send(());
        socket.write_all(b"hello!")
        // Then silence, until the server's timeout fires.
    }
    // The server's FIN: our FIN follows (Node's default), the server's 'end'.
}

fn main() {
    let args = Args::parse(0);
    let server = Server::bind(args.addr()).or_exit("cannot listen");
    let addr = server.local_addr().or_exit("local address");
    println!("server: listening {addr}");

    // The server's 'error': a second server on the same port (EADDRINUSE).
    if let Err(error) = Server::bind(addr) {
        println!("server: error {error}");
    }

    // Connect before the accept loop runs: the kernel completes the
    // handshake on its own and queues the connection (the listen backlog),
    // so 'connect' comes first and 'connection' when accept() takes it.
    let (connected, handshake_done) = mpsc::channel();
    let client = thread::spawn(move || tcp::connect(addr, Client { connected }));
    handshake_done.recv().or_exit("the client did not connect");

    let (closed, connection_over) = mpsc::channel();
    let server = server
        .on_close(|| println!("server: close"))
        .spawn(move || ServerSocket {
            closed: closed.clone(),
        })
        .or_exit("cannot start the server");
    match client.join() {
        Ok(result) => result.or_exit("client"),
        Err(_) => common::fail("the client thread panicked"),
    }
    connection_over
        .recv()
        .or_exit("the first connection did not close");

    // A connection's 'error': a client that closes while the server's
    // greeting sits unread in its buffer makes the kernel send RST.
    let peer = TcpStream::connect(addr).or_exit("second connection");
    peer.set_read_timeout(Some(Duration::from_secs(5)))
        .or_exit("timeout");
    peer.peek(&mut [0]).or_exit("the greeting did not come");
    drop(peer);
    connection_over
        .recv()
        .or_exit("the second connection did not close");

    // server.close(): no new connections; 'close' when the last one is gone.
    server.close().or_exit("close");
    server.join();
}
