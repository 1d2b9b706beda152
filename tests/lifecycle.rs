//! What a Rust user expects of the library's handles and sockets: a socket
//! is an `io::Write` that counts what it sent, a read loop that no knob on
//! the raw stream can make spin, a server that can be closed from anywhere
//! and whose `join` passes a panic on, and every public type `Debug`.

mod common;

use common::{connect, read_n, read_to_end, TIMEOUT};
use netcourse::chat::{Limits, Room};
use netcourse::tcp::{Handler, Server, ServerHandle, Socket};
use std::fmt::Debug;
use std::io::{self, BufWriter, Read, Write};
use std::net::TcpStream;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Duration;

fn spawn<H: Handler + Send + 'static>(
    new_handler: impl FnMut() -> H + Send + 'static,
) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(new_handler)
        .unwrap()
}

#[test]
fn a_socket_is_an_io_write() {
    struct Formats;
    impl Handler for Formats {
        fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
            write!(socket, "hello {}", 42)?;
            let whom = "world";
            writeln!(socket, ", {whom}")?;
            // A BufWriter gathers small writes into one.
            let mut buffered = BufWriter::new(&mut *socket);
            for word in ["one ", "two ", "three\n"] {
                buffered.write_all(word.as_bytes())?;
            }
            buffered.flush()?;
            drop(buffered);
            assert_eq!(socket.bytes_written(), 30);
            socket.end()
        }
    }
    let server = spawn(|| Formats);
    let mut client = connect(server.local_addr());
    assert_eq!(
        read_to_end(&mut client),
        b"hello 42, world\none two three\n"
    );
}

/// A write that waits its whole write timeout ends the connection as an
/// idle read does: `'timeout'`, then `'close'`, and no `'error'`; and
/// `bytes_written` counts what the kernel took before.
#[test]
fn a_write_that_times_out_is_timeout_then_close_and_counts_what_went_out() {
    const SENT: usize = 64 * 1024 * 1024; // far more than any socket buffers
    #[derive(Debug, PartialEq)]
    enum Event {
        Timeout(u64),
        Error(io::ErrorKind),
        Close(bool),
    }
    struct Flood(Sender<Event>);
    impl Handler for Flood {
        fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
            socket.set_write_timeout(Some(Duration::from_millis(200)))?;
            socket.write_all(&vec![b'.'; SENT])
        }
        fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
            let _ = self.0.send(Event::Timeout(socket.bytes_written()));
            Ok(())
        }
        fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
            let _ = self.0.send(Event::Error(error.kind()));
        }
        fn on_close(&mut self, had_error: bool) {
            let _ = self.0.send(Event::Close(had_error));
        }
    }
    let (tx, events) = mpsc::channel();
    let server = spawn(move || Flood(tx.clone()));
    let mut never_reads = connect(server.local_addr());
    let Event::Timeout(written) = events.recv_timeout(TIMEOUT).unwrap() else {
        panic!("not 'timeout' first");
    };
    // The kernel took some (its buffers), and the count says how much.
    assert!(written > 0, "nothing counted");
    assert!(written < SENT as u64, "all counted: {written}");
    assert_eq!(events.recv_timeout(TIMEOUT).unwrap(), Event::Close(false));
    // The connection is closed, though the handler did not close it: the
    // client reads what the kernel holds, then the end (or a reset).
    let mut got = Vec::new();
    let _ = never_reads.read_to_end(&mut got);
    assert!(got.len() as u64 <= written);
}

/// `Socket::stream` lets a handler make the stream non-blocking behind the
/// read loop's back. The loop then gets `WouldBlock` at once, with nothing
/// to read: it must make the stream block again, or it spins, starting its
/// wait anew at every turn, and its idle timeout never goes by. So: a
/// meddled stream still echoes, and still times out after its silence.
#[test]
fn a_stream_made_non_blocking_still_waits_and_times_out() {
    struct Meddles {
        events: Sender<&'static str>,
    }
    impl Handler for Meddles {
        fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
            socket.set_timeout(Some(Duration::from_secs(1)))?;
            // The raw stream's knob, behind the read loop's back.
            socket.stream().set_nonblocking(true)
        }
        fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
            socket.write_all(data)
        }
        fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
            let _ = self.events.send("timeout");
            socket.destroy();
            Ok(())
        }
        fn on_close(&mut self, _had_error: bool) {
            let _ = self.events.send("close");
        }
    }
    let (events, heard) = mpsc::channel();
    let server = spawn(move || Meddles {
        events: events.clone(),
    });
    let mut client = connect(server.local_addr());
    client.write_all(b"still there?").unwrap();
    assert_eq!(read_n(&mut client, 12), b"still there?");
    // Then silence: a loop that waits sees its second go by; a spinning one
    // never does (each turn takes microseconds, and even a loaded machine
    // does not stop a running thread for a second), and this fails at the
    // test's timeout.
    assert_eq!(heard.recv_timeout(TIMEOUT).unwrap(), "timeout");
    assert_eq!(heard.recv_timeout(TIMEOUT).unwrap(), "close");
    assert_eq!(read_to_end(&mut client), b"");
}

#[test]
fn a_closer_closes_the_server_from_another_thread() {
    struct Quiet;
    impl Handler for Quiet {}
    let server = spawn(|| Quiet);
    let addr = server.local_addr();
    let closer = server.closer();
    let open = connect(addr);
    let closing = thread::spawn(move || closer.shutdown(Duration::from_millis(50)));
    // join() waits for 'close': the closer ends the open connection too.
    server.join();
    closing.join().unwrap().unwrap();
    assert_eq!(
        TcpStream::connect(addr).unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused
    );
    let mut open = open;
    assert_eq!(read_to_end(&mut open), b"");
}

#[test]
fn join_passes_on_a_panic_of_the_servers_own_thread() {
    struct Quiet;
    impl Handler for Quiet {}
    let server = spawn(|| -> Quiet { panic!("a bug in new_handler") });
    let client = connect(server.local_addr());
    let joined = panic::catch_unwind(AssertUnwindSafe(|| server.join()));
    assert!(joined.is_err(), "the panic was swallowed");
    drop(client);
}

#[test]
fn a_handlers_panic_ends_its_connection_only() {
    struct Fragile;
    impl Handler for Fragile {
        fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
            if data == b"boom" {
                panic!("a bug met by one client");
            }
            socket.write_all(data)
        }
    }
    let server = spawn(|| Fragile);
    let mut victim = connect(server.local_addr());
    victim.write_all(b"boom").unwrap();
    let mut rest = Vec::new();
    let _ = victim.read_to_end(&mut rest); // closed (FIN or reset)
    let mut other = connect(server.local_addr());
    other.write_all(b"fine").unwrap();
    assert_eq!(read_n(&mut other, 4), b"fine");
    drop(other);
    server.shutdown(Duration::ZERO).unwrap();
    server.join();
}

#[test]
fn every_handle_is_debug_and_a_rooms_limits_are_every_clones() {
    fn debug(value: &impl Debug) -> String {
        format!("{value:?}")
    }
    struct Quiet;
    impl Handler for Quiet {}
    let server = Server::bind("127.0.0.1:0").unwrap();
    assert!(debug(&server).starts_with("Server"));
    let server = server.spawn(|| Quiet).unwrap();
    assert!(debug(&server).starts_with("ServerHandle"));
    assert!(debug(&server.closer()).starts_with("Closer"));
    let udp = netcourse::udp::Socket::bind("127.0.0.1:0").unwrap();
    assert!(debug(&udp).starts_with("Socket"));

    // Limits are the room's, not the clone's; a zero write timeout is a
    // choice (no patience at all), not a panic.
    let room = Room::with_limits(Limits::default().write_timeout(Duration::ZERO));
    assert_eq!(room.clone().limits(), room.limits());
    assert!(debug(&room).starts_with("Room"));
}

#[test]
fn the_udp_handle_has_the_tcp_handles_shape() {
    use netcourse::udp::{Handler as UdpHandler, RemoteInfo, Socket as UdpSocket};
    struct Quiet;
    impl UdpHandler for Quiet {
        fn on_message(&mut self, _: &UdpSocket, _: &[u8], _: &RemoteInfo) -> io::Result<()> {
            Ok(())
        }
    }
    struct Fragile;
    impl UdpHandler for Fragile {
        fn on_message(&mut self, _: &UdpSocket, _: &[u8], _: &RemoteInfo) -> io::Result<()> {
            panic!("a bug met by one datagram");
        }
    }
    // close(&self) -> io::Result<()>, harmless twice; join(self) -> io::Result<()>.
    let socket = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .spawn(Quiet)
        .unwrap();
    socket.close().unwrap();
    socket.close().unwrap();
    socket.join().unwrap();
    // join passes a handler's panic on, as the TCP handle's does for its
    // own thread.
    let socket = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .spawn(Fragile)
        .unwrap();
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"boom", socket.local_addr())
        .unwrap();
    let joined = panic::catch_unwind(AssertUnwindSafe(|| socket.join()));
    assert!(joined.is_err(), "the panic was swallowed");
}

/// Issue 22, bug 1: `end_connections` ended the open connections, and then
/// every connection after them too, for as long as the server ran.
#[test]
fn a_server_serves_new_clients_after_end_connections() {
    struct Greets;
    impl Handler for Greets {
        fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
            socket.write_all(b"hi\n")
        }
    }
    let server = spawn(|| Greets);
    let mut before = connect(server.local_addr());
    assert_eq!(read_n(&mut before, 3), b"hi\n");
    server.closer().end_connections();
    assert_eq!(read_to_end(&mut before), b"", "the open one is ended");
    // The server was not closed: a new client is served as before.
    let mut after = connect(server.local_addr());
    assert_eq!(read_n(&mut after, 3), b"hi\n");
    drop(after);
    server.shutdown(Duration::ZERO).unwrap();
    server.join();
}

/// Issue 22, bug 2: two threads calling `close()` at once. The accept loop
/// closed the port before saying it had stopped, so the second caller's
/// wake-up could be refused and reported as an error, though the server
/// closed fine (54 of 500 trials).
#[test]
fn two_threads_closing_at_once_both_succeed_500_times() {
    use std::sync::{Arc, Barrier};
    struct Quiet;
    impl Handler for Quiet {}
    for trial in 0..500 {
        let server = spawn(|| Quiet);
        let start = Arc::new(Barrier::new(2));
        let closers: Vec<_> = (0..2)
            .map(|_| {
                let closer = server.closer();
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    start.wait();
                    closer.close()
                })
            })
            .collect();
        for closer in closers {
            if let Err(e) = closer.join().unwrap() {
                panic!("trial {trial}: a false error: {e}");
            }
        }
        server.join();
    }
}

/// `shutdown(grace)`: close, then let the open connections end by
/// themselves for up to `grace`, and only then end the rest. A connection
/// that talks during the grace is served, and `shutdown` waits for it.
#[test]
fn shutdown_serves_open_connections_through_the_grace() {
    struct Echo;
    impl Handler for Echo {
        fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
            socket.write_all(data)
        }
    }
    let server = spawn(|| Echo);
    let addr = server.local_addr();
    let mut client = connect(addr);
    client.write_all(b"before").unwrap();
    assert_eq!(read_n(&mut client, 6), b"before");

    let closer = server.closer();
    let shutting = thread::spawn(move || closer.shutdown(TIMEOUT));
    // Wait for the port to close: close() has run, the grace has begun.
    while TcpStream::connect(addr).is_ok() {
        thread::yield_now();
    }
    for _ in 0..3 {
        client.write_all(b"during").unwrap();
        assert_eq!(read_n(&mut client, 6), b"during");
    }
    assert!(!shutting.is_finished(), "shutdown did not wait");
    // The client leaves by itself; then shutdown returns, and join.
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"");
    shutting.join().unwrap().unwrap();
    server.join();
}

/// Only a write that waited its write timeout is `'timeout'`: an error of
/// the same kind that the handler makes itself is its `'error'`.
#[test]
fn a_handlers_own_timed_out_error_is_error_not_timeout() {
    struct Gives(Sender<String>);
    impl Handler for Gives {
        fn on_data(&mut self, _socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
            Err(io::Error::new(io::ErrorKind::TimedOut, "my own deadline"))
        }
        fn on_timeout(&mut self, _socket: &mut Socket) -> io::Result<()> {
            let _ = self.0.send("timeout".into());
            Ok(())
        }
        fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
            let _ = self.0.send(format!("error {error}"));
        }
        fn on_close(&mut self, had_error: bool) {
            let _ = self.0.send(format!("close {had_error}"));
        }
    }
    let (tx, events) = mpsc::channel();
    let server = spawn(move || Gives(tx.clone()));
    let mut client = connect(server.local_addr());
    client.write_all(b"x").unwrap();
    assert_eq!(
        events.recv_timeout(TIMEOUT).unwrap(),
        "error my own deadline"
    );
    assert_eq!(events.recv_timeout(TIMEOUT).unwrap(), "close true");
    assert_eq!(read_to_end(&mut client), b"");
}
