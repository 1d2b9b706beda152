//! Solutions to the exercises of chapter 6 (`docs/06-beyond.md`) that need
//! code.

use netcourse::chat::Room;
use netcourse::tcp::{Handler, Server, ServerHandle, Socket};
use std::io::{self, BufRead, BufReader, Cursor, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// Every client's stream, kept so that a shutdown can reach them all.
type Open = Arc<Mutex<Vec<TcpStream>>>;

/// A listener beside the room's handler: keeps each client's stream, and
/// says when it has joined.
struct Keep {
    open: Open,
    joined: Sender<()>,
}

impl Handler for Keep {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        let stream = socket.stream().try_clone()?;
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(stream);
        let _ = self.joined.send(());
        Ok(())
    }
}

/// The graceful shutdown: stop accepting, tell everyone, give them `grace`
/// to leave, end whoever is left, wait for `'close'`.
fn shut_down(server: ServerHandle, open: &Open, grace: Duration) {
    server.close();
    let open = std::mem::take(&mut *open.lock().unwrap_or_else(PoisonError::into_inner));
    for mut stream in &open {
        let _ = stream.write_all(b"server closing\n");
    }
    // The grace period is the point here, not a way to wait for something.
    thread::sleep(grace);
    for stream in &open {
        let _ = stream.shutdown(Shutdown::Both);
    }
    server.join();
}

/// Exercise 4: `chat_server` stops gracefully when its operator types `quit`.
#[test]
fn the_chat_server_stops_when_its_operator_types_quit() {
    let open = Open::default();
    let (joined, has_joined) = mpsc::channel();
    let room = Room::new();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn({
            let open = Arc::clone(&open);
            move || {
                room.handler_with(Keep {
                    open: Arc::clone(&open),
                    joined: joined.clone(),
                })
            }
        })
        .unwrap();

    let clients: Vec<TcpStream> = (0..2)
        .map(|_| {
            let client = TcpStream::connect(server.local_addr()).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            client
        })
        .collect();
    for _ in &clients {
        has_joined.recv_timeout(Duration::from_secs(20)).unwrap();
    }

    // The operator's terminal; in chat_server this is io::stdin().lock().
    let stdin = Cursor::new("who is here?\nquit\n");
    for line in stdin.lines() {
        if line.unwrap() == "quit" {
            break;
        }
    }
    shut_down(server, &open, Duration::from_millis(100));

    for client in clients {
        let mut lines = BufReader::new(client).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "server closing");
        assert!(lines.next().is_none(), "the connection has ended");
    }
}
