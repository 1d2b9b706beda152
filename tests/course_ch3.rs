//! Solutions to the exercises of chapter 3 (`docs/03-events.md`) that need
//! code: a patient idle kick, a polite connection limit, and a client that
//! closes the server.

mod common;

use common::{connect, read_n, read_to_end, TIMEOUT};
use netcourse::tcp::{Handler, Server, Socket};
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::Duration;

/// Exercise 1: end a connection after its *second* silent period. Node's
/// `'timeout'` fires once per silence; netcourse's `on_timeout` fires again
/// after each further period, so counting them is enough.
struct PatientKick {
    timeouts: u32,
}

const IDLE: Duration = Duration::from_millis(50);

impl Handler for PatientKick {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.set_timeout(Some(IDLE))
    }
    fn on_data(&mut self, _socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        // Activity: the count of silent periods starts again.
        self.timeouts = 0;
        Ok(())
    }
    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.timeouts += 1;
        if self.timeouts == 2 {
            socket.write_all(format!("bye after {} silences\n", self.timeouts).as_bytes())?;
            socket.end()?;
        }
        Ok(())
    }
}

#[test]
fn exercise_1_the_second_timeout_ends_the_connection() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(|| PatientKick { timeouts: 0 })
        .unwrap();
    let mut client = connect(server.local_addr());
    // The cause, in the server's words: the second silence, not the first.
    assert_eq!(read_to_end(&mut client), b"bye after 2 silences\n");
}

/// Exercise 2: a connection limit that says why. Over `max_connections`,
/// Node closes a newcomer without a word and netcourse ends a silent
/// connection to seat it; this handler counts the open connections itself
/// and tells an extra one `busy` before it ends it.
struct Polite {
    open: Arc<AtomicUsize>,
    limit: usize,
    closed: Sender<()>,
}

impl Handler for Polite {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        // fetch_add returns the count before this connection.
        if self.open.fetch_add(1, Ordering::SeqCst) >= self.limit {
            socket.write_all(b"busy\n")?;
            return socket.end();
        }
        socket.write_all(b"welcome\n")
    }
    fn on_close(&mut self, _had_error: bool) {
        // Every connection was counted, the busy ones too.
        self.open.fetch_sub(1, Ordering::SeqCst);
        let _ = self.closed.send(());
    }
}

#[test]
fn exercise_2_over_the_limit_a_client_is_told_busy_and_later_served() {
    let open = Arc::new(AtomicUsize::new(0));
    let (closed, closes) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || Polite {
            open: Arc::clone(&open),
            limit: 1,
            closed: closed.clone(),
        })
        .unwrap();
    let addr = server.local_addr();

    let mut first = connect(addr);
    assert_eq!(read_n(&mut first, 8), b"welcome\n");
    let mut second = connect(addr);
    assert_eq!(read_to_end(&mut second), b"busy\n");
    // Our FIN, so the server's read loop sees 'end' and the busy one closes.
    drop(second);
    closes.recv_timeout(TIMEOUT).unwrap();

    // The first one leaves; then there is room again.
    drop(first);
    closes.recv_timeout(TIMEOUT).unwrap();
    let mut third = connect(addr);
    assert_eq!(read_n(&mut third, 8), b"welcome\n");
}

/// Exercise 3: `server.close()` at a client's request. A handler cannot
/// reach the `ServerHandle` (it exists only once `spawn` has returned, and
/// the handlers are made inside it), so it asks the thread that holds the
/// handle, over a channel.
struct Remote {
    close_requests: Sender<()>,
}

impl Handler for Remote {
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        if String::from_utf8_lossy(data).trim() == "shutdown" {
            let _ = self.close_requests.send(());
            socket.write_all(b"closing\n")?;
        }
        Ok(())
    }
}

#[test]
fn exercise_3_a_client_asks_and_the_server_closes() {
    let (close_requests, requests) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || Remote {
            close_requests: close_requests.clone(),
        })
        .unwrap();
    let addr = server.local_addr();

    let mut admin = connect(addr);
    admin.write_all(b"shutdown\r\n").unwrap();
    // The thread that owns the handle does what the handler asked.
    requests.recv_timeout(TIMEOUT).unwrap();
    server.close().unwrap();

    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    // The connection that asked is still open, as after Node's close().
    assert_eq!(read_n(&mut admin, 8), b"closing\n");
}
