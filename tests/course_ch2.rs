//! Solutions to the exercises of chapter 2 (`docs/02-tcp.md`) that need
//! code: an echo server, the byte counters, and a client that reads a whole
//! reply before it decodes it.

mod common;

use common::{connect, read_n, TIMEOUT};
use netcourse::tcp::{self, Handler, Server, Socket};
use std::io::{self, Write};
use std::net::Shutdown;
use std::sync::mpsc::{self, Sender};

/// Exercise 1: A1 answering each chunk with itself.
struct Echo;

impl Handler for Echo {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.write_all("hello world：\n".as_bytes())
    }
    fn on_data(&mut self, socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        socket.write_all(data)
    }
}

#[test]
fn exercise_1_the_echo_server_answers_each_line_with_itself() {
    let server = Server::bind("127.0.0.1:0").unwrap().spawn(|| Echo).unwrap();
    let mut client = connect(server.local_addr());
    assert_eq!(read_n(&mut client, 15), "hello world：\n".as_bytes());
    for line in ["hi\n", "你好\n"] {
        client.write_all(line.as_bytes()).unwrap();
        assert_eq!(read_n(&mut client, line.len()), line.as_bytes());
    }
}

/// Exercise 2: A1 reporting Node's `bytesRead` and `bytesWritten` at `'end'`
/// (on a channel rather than stdout, so the test can check them).
struct Counting(Sender<(u64, u64)>);

impl Handler for Counting {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.write_all("hello world：\n".as_bytes())
    }
    fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        socket.write_all("你好".as_bytes())
    }
    fn on_end(&mut self, socket: &mut Socket) -> io::Result<()> {
        let _ = self.0.send((socket.bytes_read(), socket.bytes_written()));
        Ok(())
    }
}

#[test]
fn exercise_2_one_tcp_client_run_is_8_bytes_read_and_21_written() {
    let (counts, received) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || Counting(counts.clone()))
        .unwrap();
    // What tcp_client does: send world!\r\n, read the greeting, end.
    let mut client = connect(server.local_addr());
    client.write_all(b"world!\r\n").unwrap();
    read_n(&mut client, 15 + 6); // the greeting and one 你好
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(received.recv_timeout(TIMEOUT).unwrap(), (8, 21));
}

/// Exercise 3: a client that decodes the reply once, whole, at `'end'`.
struct WholeReply<'a> {
    bytes: Vec<u8>,
    reply: &'a mut String,
}

impl Handler for WholeReply<'_> {
    fn on_connect(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.set_timeout(Some(TIMEOUT))?;
        socket.write_all(b"world!\r\n")?;
        socket.end()
    }
    fn on_data(&mut self, _socket: &mut Socket, data: &[u8]) -> io::Result<()> {
        self.bytes.extend_from_slice(data);
        Ok(())
    }
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        *self.reply = String::from_utf8(std::mem::take(&mut self.bytes))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(())
    }
    fn on_timeout(&mut self, _socket: &mut Socket) -> io::Result<()> {
        Err(io::ErrorKind::TimedOut.into())
    }
}

/// A server that sends `你好` one byte at a time, the worst case for a
/// client that decodes each chunk on its own.
struct Dribble;

impl Handler for Dribble {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.stream().set_nodelay(true)?;
        for byte in "你好".as_bytes() {
            // With Nagle off, each byte is likely a segment of its own; the
            // test passes however the client's reads cut them.
            socket.write_all(&[*byte])?;
        }
        Ok(())
    }
}

#[test]
fn exercise_3_a_reply_cut_inside_a_character_still_decodes_whole() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(|| Dribble)
        .unwrap();
    let mut reply = String::new();
    let client = WholeReply {
        bytes: Vec::new(),
        reply: &mut reply,
    };
    tcp::connect(server.local_addr(), client).unwrap();
    assert_eq!(reply, "你好");
}
