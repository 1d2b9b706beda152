//! Solutions to the exercises of chapter 6 (`docs/06-beyond.md`) that need
//! code.
//!
//! One test only: it counts the process's open descriptors, and another
//! test running beside it in this process would change the count.

use netcourse::chat::Room;
use netcourse::tcp::{Handler, Server, ServerHandle, Socket};
use std::io::{self, BufRead, BufReader, Cursor};
use std::net::TcpStream;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

/// A listener beside the room's handler that says when a client has
/// joined.
struct Joined(Sender<()>);

impl Handler for Joined {
    fn on_connection(&mut self, _socket: &mut Socket) -> io::Result<()> {
        let _ = self.0.send(());
        Ok(())
    }
}

/// The graceful shutdown: stop accepting, tell everyone, give them `grace`
/// to leave, end whoever is left. (Then `join` waits for `'close'`.)
fn shut_down(server: &ServerHandle, room: &Room, grace: Duration) -> io::Result<()> {
    room.broadcast(b"server closing\n");
    server.shutdown(grace)
}

/// How many descriptors this process has open (Linux: `/proc/self/fd`).
#[cfg(target_os = "linux")]
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Exercise 4: `chat_server` stops gracefully when its operator types
/// `quit`, and a server that has served 2,000 connections holds no more
/// descriptors than before it started.
#[test]
fn the_chat_server_stops_when_its_operator_types_quit_and_leaks_nothing() {
    #[cfg(target_os = "linux")]
    let before = open_descriptors();
    let (joined, has_joined) = mpsc::channel();
    let room = Room::new();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .max_connections_per_ip(usize::MAX)
        .spawn({
            let room = room.clone();
            move || room.handler_with(Joined(joined.clone()))
        })
        .unwrap();
    let connect = || {
        let client = TcpStream::connect(server.local_addr()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        has_joined.recv_timeout(Duration::from_secs(20)).unwrap();
        client
    };

    // 2,000 clients come and go, one after another.
    for _ in 0..2_000 {
        drop(connect());
    }
    let clients = [connect(), connect()];

    // The operator's terminal; in chat_server this is io::stdin().lock().
    let stdin = Cursor::new("who is here?\nquit\n");
    for line in stdin.lines() {
        if line.unwrap() == "quit" {
            break;
        }
    }
    shut_down(&server, &room, Duration::from_millis(100)).unwrap();

    // The clients hear why, then the end, and leave; then 'close'. (On
    // Windows a shutdown does not wake a read already blocked on another
    // thread: there the server's threads end when their clients leave.)
    for client in clients {
        let mut lines = BufReader::new(client).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "server closing");
        assert!(lines.next().is_none(), "the connection has ended");
    }
    server.join();
    assert!(room.is_empty());

    // Every descriptor the server opened is closed again: each connection's
    // socket, and the room's clone of it. (The room's writer threads end
    // just after their peer leaves: wait for that.)
    #[cfg(target_os = "linux")]
    {
        let deadline = Instant::now() + Duration::from_secs(20);
        while open_descriptors() > before {
            assert!(
                Instant::now() < deadline,
                "{} descriptors open, {before} before the server started",
                open_descriptors()
            );
            std::thread::yield_now();
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = Instant::now();
}
