//! B4, doc B's chat room client, for the server on port 8080 (`chat_server`).
//!
//! Prints `input:` once connected, then sends each line typed on stdin
//! (printing `input：` for the next one, as the snippet does); the line
//! `close` is sent too and ends the connection, and so does the end of stdin
//! (Ctrl-D, or the end of a pipe: `echo hi | chat_client`). Each line from the
//! room is printed as `Other user's input LINE`. When the server ends the
//! connection it prints `Disconnected from server` and exits 0.
//!
//! Run: `cargo run --example chat_client [-- --host HOST --port PORT]`.

mod common;

use common::{Args, OrExit};
use netcourse::chat::{self, LineBuffer, DEFAULT_MAX_LINE};
use netcourse::tcp::{self, Handler, Socket};
use std::io::{self, BufRead, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

struct Client {
    /// The room sends whole lines, but TCP may still split them across reads.
    lines: LineBuffer,
}

impl Handler for Client {
    // 'connect': from now on, stdin goes to the server, on a thread of its
    // own (process.stdin.on('data')), while this one reads the room.
    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        println!("input:");
        // Our side's FIN is the stdin thread's to send (`client.end()`), so
        // the read loop must not send it again after the server's.
        socket.set_allow_half_open(true);
        let stream = socket.stream().try_clone()?;
        thread::spawn(move || type_lines(stream));
        Ok(())
    }

    // 'data': print each line from the room.
    fn on_data(&mut self, _socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        self.lines.push(data, |complete| {
            for line in chat::lines(complete) {
                println!("Other user's input {}", String::from_utf8_lossy(line));
            }
        })?;
        Ok(())
    }

    // 'end': the server has closed; tcp::connect returns and main exits.
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        println!("Disconnected from server");
        Ok(())
    }
}

/// Sends each stdin line as typed, byte for byte. After `close`, or at the
/// end of stdin, sends FIN (`client.end()`); the server then ends too.
fn type_lines(mut stream: TcpStream) {
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    while matches!(stdin.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        println!("input：");
        // The last line of a pipe may lack its `\n`; the room relays only
        // complete lines.
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        if stream.write_all(&line).is_err() {
            return; // the connection is gone; the read loop reports why
        }
        // data === 'close\n', and 'close\r\n' too (the line, trimmed).
        if line.trim_ascii() == b"close" {
            break;
        }
        line.clear();
    }
    // client.end()
    let _ = stream.shutdown(Shutdown::Write);
}

fn main() {
    let args = Args::parse(8080);
    let client = Client {
        lines: LineBuffer::new(DEFAULT_MAX_LINE),
    };
    tcp::connect(args.addr(), client).or_exit(format_args!("{}:{}", args.host, args.port));
}
