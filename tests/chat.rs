//! The `chat` module over real loopback sockets: what every client receives,
//! in which order, and what happens to the clients that misbehave.
//!
//! Every test client reads on a thread of its own while it sends: a client
//! blocked writing to the server while the server is blocked writing to it
//! would deadlock (the room would evict it, which is not what these tests are
//! about).

mod common;

use common::room::{
    closed, closed_addr, end_and_expect_nothing_more, joined, next, read_lines, serve, Event,
};
use common::{connect, read_n, read_to_end, TIMEOUT};
use netcourse::chat::{Limits, Room};
use netcourse::tcp::{Handler, Server, Socket};
use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn fifty_clients_get_every_other_line_whole_and_in_one_order() {
    const CLIENTS: usize = 50;
    const LINES: usize = 100;
    let room = Room::new();
    let (server, events) = serve(&room);
    let clients: Vec<TcpStream> = (0..CLIENTS).map(|_| connect(server.local_addr())).collect();
    joined(&events, CLIENTS);
    assert_eq!(room.len(), CLIENTS);

    let readers: Vec<_> = clients
        .iter()
        .map(|client| read_lines(client, (CLIENTS - 1) * LINES))
        .collect();
    // All at once: each writer waits for the others before its first line.
    let start = Arc::new(Barrier::new(CLIENTS));
    let writers: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(me, client)| {
            let mut client = client.try_clone().unwrap();
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                for seq in 0..LINES {
                    // Padded so that the lines are not all one size.
                    let line = format!("{me} {seq} {}\n", "=".repeat(seq % 7));
                    client.write_all(line.as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }

    // Each line as (sender, sequence number).
    let received: Vec<Vec<(usize, usize)>> = readers
        .into_iter()
        .map(|reader| {
            let lines = reader.join().unwrap();
            lines
                .iter()
                .map(|line| {
                    let line = std::str::from_utf8(line).unwrap();
                    let mut words = line.split(' ');
                    let sender = words.next().unwrap().parse().unwrap();
                    let seq: usize = words.next().unwrap().parse().unwrap();
                    assert_eq!(line, format!("{sender} {seq} {}\n", "=".repeat(seq % 7)));
                    (sender, seq)
                })
                .collect()
        })
        .collect();

    for (me, lines) in received.iter().enumerate() {
        // Exactly the others' lines, once each, none of its own...
        let expected: HashSet<_> = (0..CLIENTS)
            .filter(|&sender| sender != me)
            .flat_map(|sender| (0..LINES).map(move |seq| (sender, seq)))
            .collect();
        assert_eq!(lines.iter().copied().collect::<HashSet<_>>(), expected);
        assert_eq!(lines.len(), expected.len(), "client {me} got a line twice");
        // ... each sender's in the order it sent them ...
        for sender in (0..CLIENTS).filter(|&sender| sender != me) {
            let seqs: Vec<usize> = lines
                .iter()
                .filter(|line| line.0 == sender)
                .map(|line| line.1)
                .collect();
            assert_eq!(seqs, (0..LINES).collect::<Vec<_>>());
        }
    }
    // ... and the room's order is the same for everyone: any two clients
    // agree on the order of the lines both received.
    for a in 0..CLIENTS {
        for b in a + 1..CLIENTS {
            let seen_by = |who: usize, other: usize| -> Vec<(usize, usize)> {
                received[who]
                    .iter()
                    .copied()
                    .filter(|line| line.0 != other)
                    .collect()
            };
            assert!(seen_by(a, b) == seen_by(b, a), "{a} and {b} disagree");
        }
    }

    for client in clients {
        end_and_expect_nothing_more(client);
    }
}

#[test]
fn a_client_that_never_reads_is_evicted_and_the_others_go_on() {
    const LINE: usize = 1000;
    const LINES: usize = 5_000; // 5 MB from each of two talkers

    // Only the SendQ cap can evict here (the write timeout is too long to
    // matter), and flood control keeps the talkers to a pace the test's
    // readers keep up with.
    let room = Room::with_limits(
        Limits::default()
            .max_sendq(256 * 1024)
            .write_timeout(Duration::from_secs(600))
            .flood_rate(Some(16 * 1024 * 1024)),
    );
    let (server, events) = serve(&room);
    let stuck = connect(server.local_addr());
    let talkers = [connect(server.local_addr()), connect(server.local_addr())];
    joined(&events, 3);

    let readers: Vec<_> = talkers
        .iter()
        .map(|talker| read_lines(talker, LINES))
        .collect();
    let writers: Vec<_> = talkers
        .iter()
        .enumerate()
        .map(|(me, talker)| {
            let mut talker = talker.try_clone().unwrap();
            thread::spawn(move || {
                for seq in 0..LINES {
                    let line = format!("{me} {seq:05} {}\n", "x".repeat(LINE - 9));
                    talker.write_all(line.as_bytes()).unwrap();
                }
            })
        })
        .collect();

    // The stuck client is evicted: its connection closes, and the room has
    // one member less.
    closed(&events, &stuck);
    assert_eq!(room.len(), 2);

    // The others' traffic all arrives, whole and in order.
    for writer in writers {
        writer.join().unwrap();
    }
    for (me, reader) in readers.into_iter().enumerate() {
        let lines = reader.join().unwrap();
        let other = 1 - me;
        for (seq, line) in lines.iter().enumerate() {
            assert_eq!(line.len(), LINE);
            assert!(line.starts_with(format!("{other} {seq:05} ").as_bytes()));
        }
    }

    // The stuck client finds its connection closed once it reads what was
    // queued for it.
    let mut stuck = stuck;
    read_to_end(&mut stuck);
    for talker in talkers {
        end_and_expect_nothing_more(talker);
    }
}

#[test]
fn two_thousand_clients_come_and_go_and_every_thread_ends() {
    const THREADS: usize = 4;
    const CYCLES: usize = 500; // per thread: 2,000 in all
    let room = Room::with_limits(Limits::default().write_timeout(Duration::from_millis(200)));
    let (server, events) = serve(&room);
    let addr = server.local_addr();

    // One client stays for the whole churn and checks that only whole
    // lines reach it: a relayed fragment would merge with the next line.
    // It says when it has every clean line: a client that ends its side
    // leaves the room, and what the room still held for it is dropped.
    let watcher = connect(addr);
    joined(&events, 1);
    let (heard_all, all_heard) = mpsc::channel();
    let watching = {
        let mut reader = BufReader::new(watcher.try_clone().unwrap());
        thread::spawn(move || {
            let mut count = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).expect("a line") > 0 {
                assert!(
                    line.starts_with("clean ") && line.ends_with('\n'),
                    "{line:?}"
                );
                assert_eq!(line.matches("clean").count(), 1, "{line:?}");
                count += 1;
                if count == THREADS * CYCLES / 4 {
                    let _ = heard_all.send(());
                }
                line.clear();
            }
            count
        })
    };

    let churners: Vec<_> = (0..THREADS)
        .map(|t| {
            thread::spawn(move || {
                for i in 0..CYCLES {
                    let mut client = connect(addr);
                    match i % 4 {
                        // Clean: a line, FIN, and wait for the server's FIN.
                        0 => {
                            writeln!(client, "clean {t} {i}").unwrap();
                            client.shutdown(Shutdown::Write).unwrap();
                            read_to_end(&mut client);
                        }
                        // Dropped mid-line.
                        1 => client.write_all(b"partial ").unwrap(),
                        // A line, then dropped mid-line.
                        2 => client.write_all(b"clean and then partial").unwrap(),
                        // Dropped at once.
                        _ => {}
                    }
                    drop(client);
                }
            })
        })
        .collect();
    for churner in churners {
        churner.join().unwrap();
    }

    // Every churner's connection closes on the server, and leaves the room.
    let mut closes = 0;
    while closes < THREADS * CYCLES {
        if let Event::Closed(..) = next(&events) {
            closes += 1;
        }
    }
    assert_eq!(room.len(), 1);
    all_heard
        .recv_timeout(TIMEOUT)
        .expect("the watcher heard every clean line");
    watcher.shutdown(Shutdown::Write).unwrap();
    assert_eq!(watching.join().unwrap(), THREADS * CYCLES / 4);
    closed(&events, &watcher);
    assert_eq!(room.len(), 0);

    // server.close(), then its 'close': join() returns only once every
    // connection's thread has ended.
    server.close().unwrap();
    let (done, joined) = mpsc::channel();
    thread::spawn(move || {
        server.join();
        let _ = done.send(());
    });
    joined
        .recv_timeout(TIMEOUT)
        .expect("every connection thread ended");
}

#[test]
fn a_too_long_line_is_an_error_for_its_client_only() {
    let room = Room::with_limits(
        Limits::default()
            .max_line(1024)
            .write_timeout(Duration::from_millis(200)),
    );
    let (server, events) = serve(&room);
    let mut long = connect(server.local_addr());
    let mut others = [connect(server.local_addr()), connect(server.local_addr())];
    joined(&events, 3);

    // One byte over the limit, and no `\n`: the client is told, then FIN.
    long.write_all(&[b'y'; 1025]).unwrap();
    let told = read_to_end(&mut long);
    assert_eq!(told, b"error: line longer than 1024 bytes\n");
    let addr = long.local_addr().unwrap();
    drop(long);
    assert_eq!(closed_addr(&events, addr), Some(io::ErrorKind::InvalidData));
    // The others never saw a byte of it, and go on.
    others[0].write_all(b"still here\n").unwrap();
    let got = read_lines(&others[1], 1).join().unwrap();
    assert_eq!(got, [b"still here\n"]);
    assert_eq!(room.len(), 2);
    for client in others {
        end_and_expect_nothing_more(client);
    }
}

#[test]
fn an_endless_line_is_cut_off_without_the_server_buffering_it() {
    const MAX_SENT: usize = 64 * 1024 * 1024;
    let room = Room::with_limits(
        Limits::default()
            .max_line(1024)
            .write_timeout(Duration::from_millis(200)),
    );
    let (server, events) = serve(&room);
    let endless = connect(server.local_addr());
    let mut others = [connect(server.local_addr()), connect(server.local_addr())];
    joined(&events, 3);

    // The endless client reads too (whatever comes: the error, or a reset).
    let mut reader = endless.try_clone().unwrap();
    let reading = thread::spawn(move || {
        let _ = reader.read_to_end(&mut Vec::new());
    });
    let mut writer = endless.try_clone().unwrap();
    let writing = thread::spawn(move || {
        let chunk = [b'z'; 64 * 1024];
        let mut sent = 0;
        while sent < MAX_SENT {
            match writer.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => return sent,
            }
        }
        sent
    });
    assert_eq!(closed(&events, &endless), Some(io::ErrorKind::InvalidData));
    // Cut off long before 64 MB: a server buffering the line would take it all.
    let sent = writing.join().unwrap();
    assert!(sent < MAX_SENT, "sent {sent} bytes without being cut off");
    reading.join().unwrap();

    others[0].write_all(b"still chatting\n").unwrap();
    assert_eq!(
        read_lines(&others[1], 1).join().unwrap(),
        [b"still chatting\n"]
    );
    assert_eq!(room.len(), 2);
    for client in others {
        end_and_expect_nothing_more(client);
    }
}

#[test]
fn lines_are_relayed_byte_for_byte_and_never_in_pieces() {
    let room = Room::new();
    let (server, events) = serve(&room);
    let mut a = connect(server.local_addr());
    let mut b = connect(server.local_addr());
    let c = connect(server.local_addr());
    joined(&events, 3);

    // Invalid UTF-8, and a `\r\n` ending: relayed as they are.
    let odd = b"\xff\xfe caf\xc3\xa9 \xc3\x28 end\r\n";
    a.write_all(odd).unwrap();
    assert_eq!(read_lines(&c, 1).join().unwrap(), [odd]);

    // Half a line, a whole line from someone else, the other half: the half
    // waits for its `\n` whatever order the server reads them in.
    let reading = read_lines(&c, 2);
    a.write_all(b"first half, ").unwrap();
    b.write_all(b"from b\n").unwrap();
    a.write_all(b"second half\n").unwrap();
    let got = reading.join().unwrap();
    let got: HashSet<&[u8]> = got.iter().map(Vec::as_slice).collect();
    let expected: HashSet<&[u8]> = [&b"from b\n"[..], b"first half, second half\n"].into();
    assert_eq!(got, expected);
    // a and b heard each other; c heard nothing more.
    for mut client in [a, b] {
        client.shutdown(Shutdown::Write).unwrap();
        read_to_end(&mut client);
    }
    end_and_expect_nothing_more(c);
}

/// Line `seq` of [`fill_sendq`]: its number, then filler, 1,000 bytes.
fn numbered(seq: usize) -> Vec<u8> {
    let mut line = format!("{seq:05} ").into_bytes();
    line.resize(999, b'x');
    line.push(b'\n');
    line
}

/// The rooms of the rule 7 tests: SendQs that hold everything, a write
/// timeout too long to matter.
fn patient_room() -> Room {
    Room::with_limits(
        Limits::default()
            .max_sendq(64 * 1024 * 1024)
            .write_timeout(Duration::from_secs(600)),
    )
}

/// How many lines [`fill_sendq`] sends: 6 MB, more than the kernel
/// buffers of a client that does not read hold.
const FILL: usize = 6_000;

/// Fills the SendQ of every client of the room that is not reading: the
/// talker sends [`FILL`] numbered lines, one at a time, each once the
/// witness has it, so that each is a queued line of its own (thousands of
/// them, more than one write of the room's writer takes). When this
/// returns, every line is in every SendQ.
fn fill_sendq(talker: &mut TcpStream, witness: &TcpStream) {
    let mut witness = BufReader::new(witness.try_clone().unwrap());
    let mut got = Vec::new();
    for seq in 0..FILL {
        talker.write_all(&numbered(seq)).unwrap();
        got.clear();
        witness.read_until(b'\n', &mut got).unwrap();
        assert!(got == numbered(seq), "the witness heard {got:?}");
    }
}

/// Checks that `heard` is every [`fill_sendq`] line, whole and in order,
/// then `last`.
fn every_line_then(heard: &[u8], last: &[u8]) {
    let lines = heard.strip_suffix(last).unwrap_or_else(|| {
        let last = String::from_utf8_lossy(last);
        panic!("{last:?} is not at the end of {} bytes", heard.len())
    });
    assert_eq!(lines.len(), FILL * 1000, "lines were cut or lost");
    for (seq, got) in lines.chunks(1000).enumerate() {
        assert!(got == numbered(seq), "line {seq} cut or out of order");
    }
}

#[test]
fn the_too_long_notice_comes_after_whole_lines_then_fin() {
    // Rule 7: what the room says to one client goes through its SendQ.
    // The client reads nothing until it has sent its too-long line, so
    // that its SendQ holds lines and its writer is inside them when the
    // notice is queued: a notice written past the queue would come before
    // some of them, or inside one, or not at all.
    let room = patient_room();
    let (server, events) = serve(&room);
    let mut told = connect(server.local_addr());
    let witness = connect(server.local_addr());
    let mut talker = connect(server.local_addr());
    joined(&events, 3);
    fill_sendq(&mut talker, &witness);

    told.write_all(&[b'y'; 64 * 1024 + 1]).unwrap();
    // Every line, then the notice, then FIN (read_to_end returned).
    every_line_then(
        &read_to_end(&mut told),
        b"error: line longer than 65536 bytes\n",
    );
    let addr = told.local_addr().unwrap();
    drop(told);
    assert_eq!(closed_addr(&events, addr), Some(io::ErrorKind::InvalidData));
    assert_eq!(room.len(), 2);
}

/// A listener that answers every chunk its client sends with `ack`, as a
/// program adds its own listener with `handler_with`, and tells the test
/// once its write has returned.
struct Ack(mpsc::Sender<()>);

impl Handler for Ack {
    fn on_data(&mut self, socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        socket.write_all(b"ack\n")?;
        let _ = self.0.send(());
        Ok(())
    }
}

#[test]
fn a_listeners_writes_go_through_the_sendq_behind_the_rooms_lines() {
    // Rule 7, for what a program writes: the room and the listener write
    // to the same socket, and only the room's writer may. As in the test
    // above, the client's SendQ holds lines when the listener writes.
    let room = patient_room();
    let (ack, acks) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .max_connections_per_ip(usize::MAX)
        .spawn({
            let room = room.clone();
            move || room.handler_with(Ack(ack.clone()))
        })
        .unwrap();
    let mut acked = connect(server.local_addr());
    let witness = connect(server.local_addr());
    let mut talker = connect(server.local_addr());
    while room.len() < 3 {
        thread::yield_now();
    }
    fill_sendq(&mut talker, &witness);

    // One chunk: the room relays it, and the listener answers it. The
    // answer joins the SendQ: the listener's write returns while the client
    // still reads nothing (written past the queue, it would wait for the
    // client, whose socket is full).
    acked.write_all(b"hi\n").unwrap();
    acks.recv_timeout(TIMEOUT)
        .expect("the listener's write returned without waiting for the client");
    every_line_then(&read_n(&mut acked, FILL * 1000 + 4), b"ack\n");
    end_and_expect_nothing_more(acked);
}

#[test]
fn a_client_cut_off_mid_paste_is_drained_and_closed_with_fin_not_rst() {
    // The line-too-long path drains what the client still sends before it
    // closes: closing a socket with unread input sends RST, which a client
    // sees as an error (and, still writing, as a failed write).
    let room = Room::with_limits(Limits::default().max_line(1024));
    let (server, events) = serve(&room);
    let mut paster = connect(server.local_addr());
    joined(&events, 1);
    // 200 KB without a `\n`: the room reads a little past 1 KB, cuts the
    // client off, and must drain the rest.
    paster.write_all(&[b'y'; 200 * 1024]).unwrap();
    assert_eq!(
        read_to_end(&mut paster),
        b"error: line longer than 1024 bytes\n"
    );
    paster.shutdown(Shutdown::Write).unwrap();
    assert_eq!(closed(&events, &paster), Some(io::ErrorKind::InvalidData));
    // The server closed once it had read everything: FIN, no reset.
    assert!(
        paster.take_error().unwrap().is_none(),
        "the server reset the connection"
    );
}

/// A listener that tells the test each event it hears, by name.
struct Recorder(mpsc::Sender<&'static str>);

impl Handler for Recorder {
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        let _ = self.0.send("connection");
        socket.set_timeout(Some(Duration::from_millis(50)))
    }
    fn on_connect(&mut self, _socket: &mut Socket) -> io::Result<()> {
        let _ = self.0.send("connect");
        Ok(())
    }
    fn on_data(&mut self, _socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        let _ = self.0.send("data");
        Ok(())
    }
    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        let _ = self.0.send("timeout");
        socket.set_timeout(None)
    }
    fn on_end(&mut self, _socket: &mut Socket) -> io::Result<()> {
        let _ = self.0.send("end");
        Ok(())
    }
    fn on_close(&mut self, _had_error: bool) {
        let _ = self.0.send("close");
    }
}

#[test]
fn every_event_reaches_the_listener_after_the_rooms_work() {
    let room = Room::new();
    let (tx, heard) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn({
            let room = room.clone();
            move || room.handler_with(Recorder(tx.clone()))
        })
        .unwrap();
    let next = || heard.recv_timeout(TIMEOUT).expect("an event");
    let mut client = connect(server.local_addr());
    assert_eq!(next(), "connection");
    assert_eq!(room.len(), 1); // joined before the listener heard of it
    assert_eq!(next(), "timeout"); // the client is quiet for 50 ms
    client.write_all(b"hi\n").unwrap();
    assert_eq!(next(), "data");
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(next(), "end");
    assert_eq!(next(), "close");
    assert!(room.is_empty());

    // On the client side of a connection, 'connect' reaches it too.
    let (tx, heard) = mpsc::channel();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client =
        thread::spawn(move || netcourse::tcp::connect(addr, room.handler_with(Recorder(tx))));
    drop(listener.accept().unwrap()); // and closed at once
    assert_eq!(heard.recv_timeout(TIMEOUT).unwrap(), "connect");
    client.join().unwrap().unwrap();
}

/// A listener whose `'data'` has a bug.
struct Panics;

impl Handler for Panics {
    fn on_data(&mut self, _socket: &mut Socket, _data: &[u8]) -> io::Result<()> {
        panic!("a bug in the listener");
    }
}

#[test]
fn a_listeners_panic_takes_its_client_out_of_the_room() {
    let room = Room::new();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn({
            let room = room.clone();
            move || room.handler_with(Panics)
        })
        .unwrap();
    let mut doomed = connect(server.local_addr());
    let _other = connect(server.local_addr());
    let waiting = std::time::Instant::now();
    while room.len() < 2 {
        assert!(waiting.elapsed() < TIMEOUT, "the clients never joined");
        thread::yield_now();
    }
    // The panic unwinds the connection's thread; dropping the handler on
    // the way is what makes it leave.
    doomed.write_all(b"boom\n").unwrap();
    read_to_end(&mut doomed);
    while room.len() > 1 {
        assert!(
            waiting.elapsed() < TIMEOUT,
            "the client never left the room"
        );
        thread::yield_now();
    }
}
