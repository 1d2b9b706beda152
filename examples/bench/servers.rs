//! The servers the benchmark measures, each run as a child process of the
//! benchmark (`bench --serve KIND`), so that every server, netcourse's,
//! plain std's and Node's, is a process of its own driven by the same
//! client, and its memory can be read from `/proc/PID/status`.
//!
//! Each one speaks the protocol of the matching Node server in `docs/node/`:
//! doc A's TCP server (greet, then `你好` for each chunk), doc B's chat
//! relay, doc A's UDP server (counting datagrams).

use netcourse::chat::{Limits, Room};
use netcourse::tcp::{self, Server, Socket};
use netcourse::udp::{self, RemoteInfo};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// What doc A's server sends each new client.
pub const GREETING: &[u8] = "hello world：\n".as_bytes();
/// What it answers to every chunk.
pub const REPLY: &[u8] = "你好".as_bytes();

/// Runs the server `kind` until the process is killed. It prints
/// `listening on ADDR` on stderr once bound, and the UDP servers print
/// `received N` on stdout every 100 ms. `limits` is the netcourse chat
/// room's: the library's defaults unless a scenario changes them.
pub fn serve(kind: &str, chat: ChatOptions) -> io::Result<()> {
    match kind {
        "echo-netcourse" => {
            let server = one_address(Server::bind("127.0.0.1:0")?);
            eprintln!("listening on {}", server.local_addr()?);
            server.serve(|| Greeter)
        }
        "echo-raw" => raw_echo(),
        "chat-netcourse" => {
            let room = Room::with_limits(chat.limits);
            let server = one_address(Server::bind("127.0.0.1:0")?);
            eprintln!("listening on {}", server.local_addr()?);
            if chat.report_closes {
                server.serve(move || room.handler_with(ReportClose(None)))
            } else {
                server.serve(move || room.handler())
            }
        }
        "chat-raw" => raw_chat(),
        "udp-netcourse" => {
            let socket = udp::Socket::bind("127.0.0.1:0")?;
            eprintln!("listening on {}", socket.local_addr());
            let count = report_every_100ms();
            socket.receive(Counter(count))
        }
        "udp-raw" => raw_udp(),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no server called {kind}"),
        )),
    }
}

/// Doc A's server as a netcourse handler, as in `examples/tcp_server.rs`.
struct Greeter;

impl tcp::Handler for Greeter {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.write_all(GREETING)
    }
    fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        socket.write_all(REPLY)
    }
}

/// Doc A's server in plain std: the floor under `echo-netcourse`.
fn raw_echo() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    eprintln!("listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        let mut stream = stream?;
        thread::spawn(move || -> io::Result<()> {
            stream.write_all(GREETING)?;
            let mut buf = [0; 64 * 1024];
            while stream.read(&mut buf)? > 0 {
                stream.write_all(REPLY)?;
            }
            Ok(())
        });
    }
    Ok(())
}

/// Doc B's chat relay in plain std, as the Node anchor does it: each chunk
/// read, as it is, to every other client, under one lock. No lines, no
/// timeouts, no limits: the floor under `chat-netcourse`.
fn raw_chat() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    eprintln!("listening on {}", listener.local_addr()?);
    let peers: Arc<Mutex<Vec<(u64, TcpStream)>>> = Arc::default();
    for (id, stream) in (0u64..).zip(listener.incoming()) {
        let mut stream = stream?;
        peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((id, stream.try_clone()?));
        let peers = Arc::clone(&peers);
        thread::spawn(move || {
            let mut buf = [0; 64 * 1024];
            while let Ok(n @ 1..) = stream.read(&mut buf) {
                let mut peers = peers.lock().unwrap_or_else(PoisonError::into_inner);
                // Every other client; one that cannot take the chunk is dropped.
                peers.retain(|(other, peer)| *other == id || (&*peer).write_all(&buf[..n]).is_ok());
            }
            let mut peers = peers.lock().unwrap_or_else(PoisonError::into_inner);
            peers.retain(|(other, _)| *other != id);
        });
    }
    Ok(())
}

/// Every client of the benchmark comes from 127.0.0.1, up to a thousand at
/// once (`conns`): no cap per address, only the server's total.
fn one_address(server: Server) -> Server {
    server.max_connections_per_ip(usize::MAX)
}

/// Counts datagrams for the netcourse UDP server.
struct Counter(Arc<AtomicU64>);

impl udp::Handler for Counter {
    fn on_message(
        &mut self,
        _socket: &udp::Socket,
        _msg: &[u8],
        _rinfo: &RemoteInfo,
    ) -> io::Result<()> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Doc A's UDP server in plain std, counting: the floor under `udp-netcourse`.
fn raw_udp() -> io::Result<()> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    eprintln!("listening on {}", socket.local_addr()?);
    let count = report_every_100ms();
    let mut buf = [0; 64 * 1024];
    loop {
        socket.recv_from(&mut buf)?;
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// A counter, and a thread that prints it as `received N` every 100 ms, as
/// the Node anchor does every second.
fn report_every_100ms() -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    let reported = Arc::clone(&count);
    thread::spawn(move || loop {
        thread::sleep(Duration::from_millis(100));
        println!("received {}", reported.load(Ordering::Relaxed));
    });
    count
}

/// How a scenario wants netcourse's chat server: the room's limits (the
/// library's defaults unless changed), and whether to print each
/// connection's close.
pub struct ChatOptions {
    pub limits: Limits,
    pub report_closes: bool,
}

/// The chat server's options from the flags after `--serve KIND`:
/// `--flood-rate BYTES|off`, `--max-room-sendq BYTES`, `--report-closes`.
pub fn chat_options(flags: &[String]) -> io::Result<ChatOptions> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("bad {what}"));
    let mut options = ChatOptions {
        limits: Limits::default(),
        report_closes: false,
    };
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        if flag == "--report-closes" {
            options.report_closes = true;
            continue;
        }
        let value = flags.next().ok_or_else(|| bad(flag))?;
        let limits = options.limits;
        options.limits = match (flag.as_str(), value.as_str()) {
            ("--flood-rate", "off") => limits.flood_rate(None),
            ("--flood-rate", rate) => limits.flood_rate(Some(rate.parse().map_err(|_| bad(flag))?)),
            ("--max-room-sendq", bytes) => {
                limits.max_room_sendq(bytes.parse().map_err(|_| bad(flag))?)
            }
            _ => return Err(bad(flag)),
        };
    }
    Ok(options)
}

/// A listener that prints `closed ADDR MICROS` on stdout when a chat
/// connection closes (MICROS: the wall clock, in microseconds since the
/// Unix epoch, which the benchmark's client shares), so that a scenario
/// knows when each client was evicted.
struct ReportClose(Option<std::net::SocketAddr>);

impl tcp::Handler for ReportClose {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        self.0 = Some(socket.remote_addr());
        Ok(())
    }
    fn on_close(&mut self, _had_error: bool) {
        if let Some(addr) = self.0 {
            println!("closed {addr} {}", unix_micros());
        }
    }
}

/// The wall clock in microseconds since the Unix epoch: the one clock the
/// benchmark and its servers, separate processes, both read.
pub fn unix_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_micros())
}
