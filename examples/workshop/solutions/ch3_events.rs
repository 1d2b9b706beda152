//! A solution to the workshop's ch3-events step: a server that prints each
//! event of each connection, with nothing but `std::net`. Try your own
//! first.

#[path = "../../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// How long a connection may stay silent before 'timeout'.
const IDLE: Duration = Duration::from_millis(1000);

fn main() {
    let args = Args::parse(8124);
    let listener = TcpListener::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    let addr = listener.local_addr().or_exit("local address");
    println!("server: listening {addr}");
    eprintln!("listening on {addr}");

    for socket in listener.incoming() {
        let Ok(socket) = socket else { continue };
        thread::spawn(move || connection(socket));
    }
}

/// One connection's events, from 'connection' to 'close'.
fn connection(mut socket: TcpStream) {
    match socket.peer_addr() {
        Ok(peer) => println!("server: connection from {peer}"),
        Err(_) => println!("server: connection from an unknown address"),
    }
    let mut counts = Counts {
        read: 0,
        written: 0,
    };
    let had_error = match events(&mut socket, &mut counts) {
        Ok(()) => false,
        Err(error) => {
            println!("socket: error {error}");
            true
        }
    };
    // 'close': `socket` is dropped when this function returns.
    println!("socket: close, had_error {had_error}");
}

/// Node's `socket.bytesRead` and `socket.bytesWritten`.
struct Counts {
    read: usize,
    written: usize,
}

/// The read loop; an `Err` is the connection's 'error'.
fn events(socket: &mut TcpStream, counts: &mut Counts) -> io::Result<()> {
    socket.write_all(b"hi")?;
    counts.written += 2;
    socket.set_read_timeout(Some(IDLE))?;
    let mut buf = [0; 64 * 1024];
    loop {
        match socket.read(&mut buf) {
            // 'end': the client's FIN; ours follows.
            Ok(0) => {
                println!(
                    "socket: end, {} bytes read, {} written",
                    counts.read, counts.written
                );
                // It may fail if we ended already ('timeout'): no matter.
                let _ = socket.shutdown(Shutdown::Write);
                return Ok(());
            }
            // 'data'
            Ok(n) => {
                counts.read += n;
                println!("socket: data {n} bytes");
            }
            // 'timeout': end the connection, and stop the timer.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                println!("socket: timeout, nothing for {} ms", IDLE.as_millis());
                socket.set_read_timeout(None)?;
                socket.shutdown(Shutdown::Write)?;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // 'error'
            Err(e) => return Err(e),
        }
    }
}
