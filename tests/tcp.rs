//! The `tcp` module over real loopback sockets: what goes on the wire, and
//! which events fire in which order.

mod common;

use common::{connect, read_n, read_to_end, with_closed_port, TIMEOUT};
use netcourse::tcp::{self, Handler, Server, ServerHandle, Socket};
use std::io::{self, Write};
use std::net::{Shutdown, TcpListener};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

const GREETING: &str = "hello world：\n";
const REPLY: &str = "你好";

/// Doc A's server: greet, answer each chunk.
struct Greeter;

impl Handler for Greeter {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.write_all(GREETING.as_bytes())
    }
    fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        socket.write_all(REPLY.as_bytes())
    }
}

/// Writes down every event of one connection and sends the whole log when
/// `'close'` fires. Consecutive `data` events are merged: how TCP splits a
/// byte stream into reads is not something to assert.
struct Recorder {
    greeting: &'static str,
    log: Vec<String>,
    done: Sender<Vec<String>>,
}

impl Recorder {
    /// A factory of recorders for a server, and the channel their logs arrive on.
    fn factory(
        greeting: &'static str,
    ) -> (
        impl FnMut() -> Recorder + Send + 'static,
        Receiver<Vec<String>>,
    ) {
        let (done, logs) = mpsc::channel();
        let factory = move || Recorder {
            greeting,
            log: Vec::new(),
            done: done.clone(),
        };
        (factory, logs)
    }
}

impl Handler for Recorder {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.log.push("connection".into());
        socket.write_all(self.greeting.as_bytes())
    }
    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.log.push("connect".into());
        socket.write_all(self.greeting.as_bytes())
    }
    fn on_data(&mut self, _socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        let data = String::from_utf8_lossy(data);
        match self.log.last_mut() {
            Some(last) if last.starts_with("data ") => last.push_str(&data),
            _ => self.log.push(format!("data {data}")),
        }
        Ok(())
    }
    fn on_end(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.log.push(format!(
            "end read={} written={}",
            socket.bytes_read(),
            socket.bytes_written()
        ));
        Ok(())
    }
    fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
        self.log.push(format!("error {:?}", error.kind()));
    }
    fn on_close(&mut self, had_error: bool) {
        self.log.push(format!("close {had_error}"));
        let _ = self.done.send(std::mem::take(&mut self.log));
    }
}

fn spawn<H: Handler + Send + 'static>(
    new_handler: impl FnMut() -> H + Send + 'static,
) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .unwrap()
        // Every test client comes from 127.0.0.1: no share per address.
        .max_connections_per_ip(usize::MAX)
        .spawn(new_handler)
        .unwrap()
}

#[test]
fn greeting_and_reply_bytes() {
    let server = spawn(|| Greeter);
    let mut client = connect(server.local_addr());
    assert_eq!(read_n(&mut client, GREETING.len()), GREETING.as_bytes());
    client.write_all(b"world!\r\n").unwrap();
    assert_eq!(read_n(&mut client, REPLY.len()), REPLY.as_bytes());
}

#[test]
fn end_on_fin_then_close_and_byte_counters() {
    let (factory, logs) = Recorder::factory(GREETING);
    let server = spawn(factory);
    let mut client = connect(server.local_addr());
    client.write_all(b"world!").unwrap();
    // Our FIN: the server's 'end', after which it ends too (Node's default),
    // so read_to_end below sees its FIN.
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), GREETING.as_bytes());
    let log = logs.recv_timeout(TIMEOUT).unwrap();
    let end = format!("end read=6 written={}", GREETING.len());
    assert_eq!(log, ["connection", "data world!", &end, "close false"]);
}

#[test]
fn error_then_close_on_reset() {
    let (factory, logs) = Recorder::factory(GREETING);
    let server = spawn(factory);
    let client = connect(server.local_addr());
    // Wait until the greeting has arrived, without reading it: closing a
    // socket with unread data makes the kernel send RST instead of FIN.
    client.peek(&mut [0; 1]).unwrap();
    drop(client);
    let log = logs.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(log, ["connection", "error ConnectionReset", "close true"]);
}

#[test]
fn writing_to_a_vanished_peer_is_an_error_not_a_panic() {
    /// Writes until the write fails: the peer has gone.
    struct Flooder(Sender<io::ErrorKind>);
    impl Handler for Flooder {
        fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
            loop {
                socket.write_all(&[0; 64 * 1024])?;
            }
        }
        fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
            let _ = self.0.send(error.kind());
        }
    }
    let (tx, errors) = mpsc::channel();
    let server = spawn(move || Flooder(tx.clone()));
    let mut client = connect(server.local_addr());
    client.write_all(b"go").unwrap();
    read_n(&mut client, 1);
    drop(client);
    let kind = errors.recv_timeout(TIMEOUT).unwrap();
    // Linux and macOS say EPIPE or ECONNRESET. Windows says WSAECONNRESET,
    // or WSAECONNABORTED once its own stack has given the connection up.
    #[cfg(not(windows))]
    let expected = [io::ErrorKind::BrokenPipe, io::ErrorKind::ConnectionReset];
    #[cfg(windows)]
    let expected = [
        io::ErrorKind::ConnectionReset,
        io::ErrorKind::ConnectionAborted,
    ];
    assert!(expected.contains(&kind), "{kind:?}");
}

#[test]
fn byte_counters_across_many_chunks() {
    let (factory, logs) = Recorder::factory("");
    let server = spawn(factory);
    let mut client = connect(server.local_addr());
    let sent = vec![b'x'; 3 * 1024 * 1024 + 17];
    // The server reads while we write; nothing to read back, so no deadlock.
    client.write_all(&sent).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_end(&mut client).is_empty());
    let log = logs.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(log[2], format!("end read={} written=0", sent.len()));
}

#[test]
fn many_concurrent_clients_each_get_their_own_replies() {
    /// Echoes every chunk back.
    struct Echo;
    impl Handler for Echo {
        fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
            socket.write_all(data)
        }
    }
    let server = spawn(|| Echo);
    let addr = server.local_addr();
    let clients: Vec<_> = (0..64)
        .map(|i| {
            thread::spawn(move || {
                let mut client = connect(addr);
                for round in 0..20 {
                    let message = format!("client {i} round {round}\n");
                    client.write_all(message.as_bytes()).unwrap();
                    assert_eq!(read_n(&mut client, message.len()), message.as_bytes());
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

#[test]
fn client_events_against_a_plain_std_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let greeting = read_n(&mut stream, 6);
        stream.write_all(b"hi").unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        // The client ends after our FIN (Node's default), so this returns.
        read_to_end(&mut stream);
        greeting
    });
    let (mut new_recorder, logs) = Recorder::factory("hello!");
    tcp::connect(addr, new_recorder()).unwrap();
    assert_eq!(server.join().unwrap(), b"hello!");
    let log = logs.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(
        log,
        ["connect", "data hi", "end read=2 written=6", "close false"]
    );
}

#[test]
fn connect_to_nothing_is_connection_refused() {
    let error = with_closed_port(|port| {
        let error = tcp::connect(("127.0.0.1", port), Greeter).err()?;
        (error.kind() == io::ErrorKind::ConnectionRefused).then_some(error)
    });
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn write_after_end_is_an_error() {
    let (tx, errors) = mpsc::channel();
    struct EndTwice(Sender<String>);
    impl Handler for EndTwice {
        fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
            socket.end()?;
            socket.end()?; // harmless
            socket.write_all(b"too late")
        }
        fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
            let _ = self.0.send(error.to_string());
        }
    }
    let server = spawn(move || EndTwice(tx.clone()));
    let mut client = connect(server.local_addr());
    assert!(read_to_end(&mut client).is_empty());
    assert_eq!(errors.recv_timeout(TIMEOUT).unwrap(), "write after end()");
}

#[test]
fn a_lent_handler_is_still_the_callers_after_the_connection() {
    /// Collects what the server sends.
    #[derive(Default)]
    struct Collect(Vec<u8>);
    impl Handler for Collect {
        fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
            self.0.extend_from_slice(data);
            socket.end()
        }
    }
    let server = spawn(|| Greeter);
    let mut client = Collect::default();
    tcp::connect(server.local_addr(), &mut client).unwrap();
    assert_eq!(client.0, GREETING.as_bytes());
}

/// `serve` is `spawn` and `join` on the calling thread: it runs the accept
/// loop until the process ends. Here on a thread of the test's, which the
/// test leaves serving when it ends.
#[test]
fn serve_runs_the_accept_loop_on_the_calling_thread() {
    let server = Server::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let serving = std::thread::spawn(move || server.serve(|| Greeter));
    let mut client = connect(addr);
    assert_eq!(read_n(&mut client, GREETING.len()), GREETING.as_bytes());
    assert!(!serving.is_finished(), "serve returned");
}

/// A handler lent with `&mut` hears every event it would hear if given:
/// the forwarding impl passes each one on.
#[test]
fn a_lent_handler_hears_every_event() {
    #[derive(Default)]
    struct Record(Vec<String>);
    impl Record {
        /// Notes `event`, once for a run of the same (chunks, timeouts).
        fn note(&mut self, event: String) {
            if self.0.last() != Some(&event) {
                self.0.push(event);
            }
        }
    }
    impl Handler for Record {
        fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
            self.note("connect".into());
            socket.set_timeout(Some(std::time::Duration::from_millis(50)))
        }
        fn on_data(&mut self, _socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
            self.note("data".into());
            Ok(())
        }
        fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
            self.note("timeout".into());
            socket.end()
        }
        fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
            self.note("end".into());
            Ok(())
        }
        fn on_error(&mut self, _socket: &Socket, error: &io::Error) {
            self.note(format!("error {:?}", error.kind()));
        }
        fn on_close(&mut self, had_error: bool) {
            self.note(format!("close {had_error}"));
        }
    }
    // A greeting, then our silence: 'timeout', we end, the server's FIN
    // answers ours.
    let server = spawn(|| Greeter);
    let mut client = Record::default();
    tcp::connect(server.local_addr(), &mut client).unwrap();
    assert_eq!(
        client.0,
        ["connect", "data", "timeout", "end", "close false"]
    );

    // A server that resets the connection: 'error', then 'close'.
    struct Says(Record);
    impl Handler for Says {
        fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
            self.0.note("connect".into());
            socket.write_all(b"unread")
        }
        fn on_error(&mut self, socket: &Socket, error: &io::Error) {
            self.0.on_error(socket, error);
        }
        fn on_close(&mut self, had_error: bool) {
            self.0.on_close(had_error);
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let rude = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        // Wait for the client's bytes, then close with them unread: RST.
        stream.peek(&mut [0]).unwrap();
    });
    let mut client = Says(Record::default());
    let result = tcp::connect(addr, &mut client);
    rude.join().unwrap();
    assert_eq!(result.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(
        client.0 .0,
        ["connect", "error ConnectionReset", "close true"]
    );
}

/// `end()` on a connection the peer has reset is harmless, as Node's
/// `end()` on a destroyed socket: `shutdown` says `NotConnected`, and
/// `end` says nothing.
#[test]
fn end_after_the_peer_reset_is_harmless() {
    struct EndsLate(Sender<Result<(), io::ErrorKind>>);
    impl Handler for EndsLate {
        fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
            socket.write_all(b"unread")?;
            // Returns once the client's reset has come (it sends nothing).
            let _ = socket.stream().peek(&mut [0]);
            let _ = self.0.send(socket.end().map_err(|e| e.kind()));
            socket.destroy();
            Ok(())
        }
    }
    let (tx, ended) = mpsc::channel();
    let server = spawn(move || EndsLate(tx.clone()));
    let client = connect(server.local_addr());
    // The greeting has come and stays unread: closing now sends RST.
    client.peek(&mut [0]).unwrap();
    drop(client);
    assert_eq!(ended.recv_timeout(TIMEOUT).unwrap(), Ok(()));
}
