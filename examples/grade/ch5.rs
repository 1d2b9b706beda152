//! Chapter 5's step, the capstone: the chat room, written from an empty
//! file with `std::net`, threads and an `Arc<Mutex<Vec<...>>>`.
//!
//! Each check starts a fresh server, so that one problem shows up in the
//! check about it and not in every check after it. Besides polite clients,
//! the checks bring the abuse that chapter 5 is about: a client that leaves
//! with a reset, a client that never reads, and a line that never ends.

use crate::check::{read_fin, secs, show, End, Failure, Heard, See, PATIENCE, SILENCE};
use crate::program::{NoLine, Program};
use crate::Grader;
use std::fmt::Display;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::mem;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const B3: See = See("docs/05-chat.md", "The server, B3");
const SHARED: See = See("docs/05-chat.md", "Shared state: one list, many threads");
const LINES: See = See("docs/05-chat.md", "Why lines");
const ORDER: See = See("docs/05-chat.md", "One order for everyone, and its price");
const NEVER_READS: See = See("docs/05-chat.md", "The reader that never reads");
const ENDLESS: See = See("docs/05-chat.md", "The endless line");
const LEAVING: See = See("docs/05-chat.md", "Leaving, by id");

/// How long a client may wait for a line while another one misbehaves.
const PROMPT: Duration = Duration::from_secs(2);

/// The line a server prints once a client is in the room (B3's).
const JOINED: &str = "Got a new connection";

pub fn chat(g: &Grader) -> Result<(), Failure> {
    others_only(g)?;
    whole_lines(g)?;
    one_order(g)?;
    leaving(g)?;
    never_reads(g)?;
    endless_line(g)?;
    Ok(())
}

/// Each line goes to every other client, never back to its sender.
fn others_only(g: &Grader) -> Result<(), Failure> {
    let mut room = Room::open(g)?;
    let mut alice = room.join("alice")?;
    let mut bob = room.join("bob")?;
    let mut carol = room.join("carol")?;
    g.ok(format_args!("it prints {JOINED:?} for each client"));

    let did = "alice said \"hello, I am alice\"";
    alice.say(b"hello, I am alice\n", &B3)?;
    bob.hears(b"hello, I am alice\n", PATIENCE, did, &SHARED, "")?;
    carol.hears(b"hello, I am alice\n", PATIENCE, did, &SHARED, "")?;
    let did = "After alice's line, bob said \"hi alice, bob here\"";
    bob.say(b"hi alice, bob here\n", &B3)?;
    alice.hears(
        b"hi alice, bob here\n",
        PATIENCE,
        did,
        &B3,
        "a line goes to every other client, never back to its sender",
    )?;
    carol.hears(b"hi alice, bob here\n", PATIENCE, did, &B3, "")?;
    g.ok("each line goes to every other client, not back to its sender");
    Ok(())
}

/// Lines go out whole, however TCP cut them, and as bytes.
fn whole_lines(g: &Grader) -> Result<(), Failure> {
    let mut room = Room::open(g)?;
    let mut alice = room.join("alice")?;
    let mut bob = room.join("bob")?;
    let mut carol = room.join("carol")?;

    alice.say(b"hel", &LINES)?;
    let did = "alice sent \"hel\" (the start of a line)";
    match carol.hear(SILENCE) {
        Err(Heard {
            bytes,
            end: End::Silent(_),
        }) if bytes.is_empty() => {}
        Ok(line) => return Err(heard_early(did, &line)),
        Err(heard) if !heard.bytes.is_empty() => return Err(heard_early(did, &heard.bytes)),
        Err(heard) => {
            return Err(Failure::new(did, "carol to stay connected", heard, &LINES));
        }
    }
    let did = "alice sent \"hel\", then bob said \"yo\"";
    bob.say(b"yo\n", &LINES)?;
    carol.hears(b"yo\n", PATIENCE, did, &LINES, "")?;
    let did = "alice finished her line with \"lo\\n\"";
    alice.say(b"lo\n", &LINES)?;
    carol.hears(b"hello\n", PATIENCE, did, &LINES, "")?;
    bob.hears(b"hello\n", PATIENCE, did, &LINES, "")?;
    let did = "alice sent two lines in one write, \"one\\ntwo\\n\"";
    alice.say(b"one\ntwo\n", &LINES)?;
    bob.hears(b"one\n", PATIENCE, did, &LINES, "")?;
    bob.hears(b"two\n", PATIENCE, did, &LINES, "")?;
    carol.hears(b"one\n", PATIENCE, did, &LINES, "")?;
    carol.hears(b"two\n", PATIENCE, did, &LINES, "")?;
    g.ok("lines go out whole, however they were cut");

    let line = b"caf\xe9 au lait\n";
    let did = "alice said \"caf\\xe9 au lait\", a line that is not UTF-8";
    alice.say(line, &LINES)?;
    let hint = "a line is the bytes up to \"\\n\"; relay them as they came, \
                with read_until, not lines()";
    bob.hears(line, PATIENCE, did, &LINES, hint)?;
    carol.hears(line, PATIENCE, did, &LINES, hint)?;
    let did = "After the line that is not UTF-8, alice said \"still here\"";
    alice.say(b"still here\n", &LINES)?;
    bob.hears(b"still here\n", PATIENCE, did, &LINES, hint)?;
    g.ok("a line is bytes: one that is not UTF-8 goes out as it came");
    Ok(())
}

/// A failure: carol heard part of a line before it was complete.
fn heard_early(did: &str, bytes: &[u8]) -> Failure {
    Failure::new(
        did,
        "carol to hear nothing until the line is complete",
        format_args!(
            "{}: relay whole lines, not chunks as they came",
            show(bytes)
        ),
        &LINES,
    )
}

/// Two clients talk at once; everyone hears their lines in one order.
fn one_order(g: &Grader) -> Result<(), Failure> {
    const EACH: usize = 100;
    let mut room = Room::open(g)?;
    let alice = room.join("alice")?;
    let bob = room.join("bob")?;
    let mut carol = room.join("carol")?;
    let mut dave = room.join("dave")?;

    // Both talk at the same time, each on a thread of its own.
    let talk = |mut talker: Chatter| {
        thread::spawn(move || {
            for i in 0..EACH {
                let line = format!("{} {i}\n", talker.name);
                if talker.stream.write_all(line.as_bytes()).is_err() {
                    break;
                }
            }
            talker
        })
    };
    let (alice, bob) = (talk(alice), talk(bob));
    let (Ok(mut alice), Ok(mut bob)) = (alice.join(), bob.join()) else {
        return Err(Failure::plain("A thread of the grader failed."));
    };

    let did = format!("alice and bob said {EACH} lines each, at the same time");
    let carols = carol.hears_all(2 * EACH, &did, &ORDER)?;
    let daves = dave.hears_all(2 * EACH, &did, &ORDER)?;
    for (listener, lines) in [("carol", &carols), ("dave", &daves)] {
        for talker in ["alice", "bob"] {
            let said: Vec<String> = (0..EACH).map(|i| format!("{talker} {i}\n")).collect();
            let heard: Vec<&String> = lines.iter().filter(|l| l.starts_with(talker)).collect();
            if heard != said.iter().collect::<Vec<_>>() || lines.len() != 2 * EACH {
                return Err(Failure::new(
                    &did,
                    format_args!(
                        "{listener} to hear all {} lines, each talker's in order",
                        2 * EACH
                    ),
                    format_args!(
                        "{} of {talker}'s lines, in the order {:?}",
                        heard.len(),
                        first(&heard)
                    ),
                    &ORDER,
                ));
            }
        }
    }
    if let Some(i) = (0..carols.len()).find(|&i| carols[i] != daves[i]) {
        return Err(Failure::new(
            &did,
            "carol and dave to hear the lines in one order",
            format_args!(
                "a different line {}: carol heard {}, dave {}",
                i + 1,
                show(carols[i].as_bytes()),
                show(daves[i].as_bytes())
            ),
            &ORDER,
        ));
    }
    for (listener, talker) in [(&mut alice, "bob"), (&mut bob, "alice")] {
        let said: Vec<String> = (0..EACH).map(|i| format!("{talker} {i}\n")).collect();
        let heard = listener.hears_all(EACH, &did, &ORDER)?;
        if heard != said {
            return Err(Failure::new(
                &did,
                format_args!(
                    "{} to hear {talker}'s {EACH} lines in order, and none of its own",
                    listener.name
                ),
                format_args!("{:?}", first(&heard.iter().collect::<Vec<_>>())),
                &ORDER,
            ));
        }
    }
    g.ok("everyone hears the lines in one order");
    Ok(())
}

/// The first few lines of `lines`, for a sentence.
fn first(lines: &[&String]) -> Vec<String> {
    let mut few: Vec<String> = lines
        .iter()
        .take(3)
        .map(|l| l.trim_end().to_string())
        .collect();
    if lines.len() > 3 {
        few.push("...".to_string());
    }
    few
}

/// Clients that leave, with FIN or with a reset, are gone, and nobody else
/// notices.
fn leaving(g: &Grader) -> Result<(), Failure> {
    let mut room = Room::open(g)?;
    let mut alice = room.join("alice")?;
    let mut bob = room.join("bob")?;
    let carol = room.join("carol")?;
    let mut dave = room.join("dave")?;

    // dave leaves politely: his FIN, and the server's FIN back.
    let _ = dave.stream.shutdown(Shutdown::Write);
    read_fin(&mut dave.stream).map_err(|heard| {
        let hint = match heard.end {
            End::Silent(_) => {
                ": the connection stayed open; take a client out of the room \
                               when its reader sees the end, and let its streams go"
            }
            _ => "",
        };
        Failure::new(
            "dave sent FIN to leave",
            "the server to end his connection too (FIN)",
            format_args!("{heard}{hint}"),
            &LEAVING,
        )
    })?;
    drop(dave);

    // carol leaves rudely: she closes with a line unread, which sends RST.
    let did = "alice said \"one\"";
    alice.say(b"one\n", &LEAVING)?;
    bob.hears(b"one\n", PATIENCE, did, &LEAVING, "")?;
    let _ = carol.stream.set_read_timeout(Some(PATIENCE));
    let _ = carol.stream.peek(&mut [0]);
    drop(carol);

    let hint = "a write that fails for a client that left must not end anyone else's thread";
    let did = "After carol left with a reset (RST) and dave with FIN, alice said \"two\"";
    alice.say(b"two\n", &LEAVING)?;
    bob.hears(b"two\n", PATIENCE, did, &LEAVING, hint)?;
    let did = "After carol and dave left, bob said \"three\"";
    bob.say(b"three\n", &LEAVING)?;
    alice.hears(b"three\n", PATIENCE, did, &LEAVING, hint)?;
    let did = "After carol and dave left, alice said \"four\"";
    alice.say(b"four\n", &LEAVING)?;
    bob.hears(b"four\n", PATIENCE, did, &LEAVING, hint)?;
    let mut erin = room.join("erin")?;
    let did = "erin joined, and alice said \"five\"";
    alice.say(b"five\n", &LEAVING)?;
    bob.hears(b"five\n", PATIENCE, did, &LEAVING, "")?;
    erin.hears(b"five\n", PATIENCE, did, &LEAVING, "")?;
    g.ok("clients that leave, with FIN or with a reset, hurt nobody");
    Ok(())
}

/// A client that never reads holds nobody up, and does not make the server
/// keep every line for it.
fn never_reads(g: &Grader) -> Result<(), Failure> {
    const COUNT: usize = 16_000;
    let mut room = Room::open(g)?;
    let mut stuck = room.join("stuck")?;
    let talker = room.join("talker")?;
    let mut listener = room.join("listener")?;

    // 1,000-byte lines: "00042 xxx...x\n".
    let filler = "x".repeat(993);
    let line = move |i: usize| format!("{i:05} {filler}\n");
    // The listener tells the talker how far it has heard, and the talker
    // stays at most WINDOW lines ahead: a client that reads is never far
    // behind, while the one that never reads falls further behind with
    // every line.
    const WINDOW: usize = 256;
    let (heard_up_to, acks) = mpsc::channel();
    let listening = {
        let line = line.clone();
        thread::spawn(move || -> Result<(), (usize, String)> {
            for i in 0..COUNT {
                match listener.hear(PROMPT) {
                    Ok(heard) if heard == line(i).as_bytes() => {}
                    Ok(heard) => return Err((i, show(&heard))),
                    Err(heard) => return Err((i, heard.to_string())),
                }
                if i % 16 == 15 {
                    let _ = heard_up_to.send(i + 1);
                }
            }
            Ok(())
        })
    };
    let talking = thread::spawn(move || {
        let mut talker = talker;
        let _ = talker
            .stream
            .set_write_timeout(Some(Duration::from_secs(10)));
        let mut heard = 0;
        // Sixteen lines per write, so that the talker is never the slow one.
        for first in (0..COUNT).step_by(16) {
            while first >= heard + WINDOW {
                match acks.recv_timeout(PROMPT) {
                    Ok(up_to) => heard = up_to,
                    // The listener has stopped: it says why.
                    Err(_) => return talker,
                }
            }
            let lines: String = (first..COUNT.min(first + 16)).map(&line).collect();
            if talker.stream.write_all(lines.as_bytes()).is_err() {
                break;
            }
        }
        talker
    });

    let did = "While a client that never reads sat in the room, talker said 16,000 lines \
               of 1,000 bytes";
    let heard = listening
        .join()
        .unwrap_or_else(|_| Err((0, "a panic".to_string())));
    if let Err((i, got)) = heard {
        let hint = if got.contains("nothing") {
            ": one full socket must not hold up the room; a write that blocks under the \
             room's lock stalls everyone"
        } else {
            ""
        };
        return Err(Failure::new(
            did,
            format_args!("listener to hear each of them within {} s", secs(PROMPT)),
            format_args!("{got} at line {}{hint}", i + 1),
            &NEVER_READS,
        ));
    }
    // The talker is done too (its deadline bounds the wait).
    let _talker = talking.join();

    // What did the server keep for the stuck client? It reads now.
    let _ = stuck.stream.set_read_timeout(Some(PROMPT));
    let mut lines = 0;
    let mut buf = vec![0; 256 * 1024];
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match stuck.stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
        }
    }
    if lines >= COUNT {
        return Err(Failure::new(
            did,
            "the server to cut off the client that never read, once it was far behind",
            format_args!(
                "all 16,000 lines for it when it finally read: the server kept every line for \
                 a client that does not read, 16 MB here and without end in general; give each \
                 client a bounded outbox, and cut off a client that lets it fill"
            ),
            &NEVER_READS,
        ));
    }
    drop(stuck);
    g.ok("a client that never reads holds nobody up, and is cut off");
    Ok(())
}

/// One client sends a line that never ends: the others go on talking, and
/// the server survives.
fn endless_line(g: &Grader) -> Result<(), Failure> {
    const ENOUGH: usize = 16 * 1024 * 1024;
    let mut room = Room::open(g)?;
    let offender = room.join("offender")?;
    let mut bob = room.join("bob")?;
    let mut carol = room.join("carol")?;

    // Up to 16 MiB without a "\n", until the server cuts it off.
    let (progress, sent) = mpsc::channel();
    let sending = thread::spawn(move || {
        let mut offender = offender;
        let _ = offender.stream.set_write_timeout(Some(PROMPT));
        let chunk = vec![b'x'; 64 * 1024];
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut total = 0;
        while total < ENOUGH && Instant::now() < deadline {
            if offender.stream.write_all(&chunk).is_err() {
                break;
            }
            total += chunk.len();
            let _ = progress.send(total);
        }
        offender
    });
    // Wait until the line is well under way (or cut off already).
    while let Ok(total) = sent.recv_timeout(PATIENCE) {
        if total >= 1024 * 1024 {
            break;
        }
    }

    let did = "While another client was sending one line without end (1 MiB and counting, \
               no \"\\n\"), bob said \"still here\"";
    bob.say(b"still here\n", &ENDLESS)?;
    carol.hears(b"still here\n", PROMPT, did, &ENDLESS, "")?;
    let _offender = sending.join();
    if room.server.exited().is_some() {
        return Err(Failure::new(
            "A client sent a line of 16 MiB without \"\\n\"",
            "the server to survive it",
            format_args!("an exit: {}", room.server.how_it_ended()),
            &ENDLESS,
        ));
    }
    let mut erin = room.join("erin")?;
    let did = "After the endless line, erin joined and bob said \"and now?\"";
    bob.say(b"and now?\n", &ENDLESS)?;
    carol.hears(b"and now?\n", PATIENCE, did, &ENDLESS, "")?;
    erin.hears(b"and now?\n", PATIENCE, did, &ENDLESS, "")?;
    g.ok("a line without end hurts nobody else");
    Ok(())
}

/// The learner's server, and how to join it.
struct Room {
    server: Program,
    addr: SocketAddr,
}

impl Room {
    /// A fresh server.
    fn open(g: &Grader) -> Result<Room, Failure> {
        let (server, addr) = g.server(&B3)?;
        Ok(Room { server, addr })
    }

    /// A new client, once the server says it is in the room.
    fn join(&mut self, name: &'static str) -> Result<Chatter, Failure> {
        let connected = TcpStream::connect_timeout(&self.addr, PATIENCE)
            .and_then(|stream| Ok((stream.try_clone()?, stream)));
        let (stream, reader) = connected.map_err(|e| {
            Failure::new(
                format_args!("Connected {name} to {}", self.addr),
                "a connection",
                format_args!("an error ({e})"),
                &B3,
            )
        })?;
        let _ = stream.set_write_timeout(Some(PATIENCE));
        let deadline = Instant::now() + PATIENCE;
        let mut other = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = match self.server.line(left) {
                Ok(line) if line == JOINED => break,
                // "A client connection closed", or the learner's own lines.
                Ok(line) => {
                    other.push(line);
                    continue;
                }
                Err(NoLine::Silent) if other.is_empty() => {
                    format!("nothing within {} s", secs(PATIENCE))
                }
                Err(NoLine::Silent) => format!("only {other:?}"),
                Err(NoLine::Exited(how)) => format!("nothing: {how}"),
            };
            return Err(Failure::new(
                format_args!("Connected {name}"),
                format_args!("the server to print {JOINED:?} once {name} is in the room"),
                got,
                &SHARED,
            ));
        }
        Ok(Chatter {
            name,
            stream,
            reader: BufReader::new(reader),
            partial: Vec::new(),
            patience: None,
        })
    }
}

/// One client of the room.
struct Chatter {
    name: &'static str,
    /// For writing (and for the socket's options).
    stream: TcpStream,
    /// The same connection, for reading lines.
    reader: BufReader<TcpStream>,
    /// The start of a line whose "\n" has not come yet.
    partial: Vec<u8>,
    /// The read timeout set on the socket last.
    patience: Option<Duration>,
}

impl Chatter {
    /// Sends `bytes`.
    fn say(&mut self, bytes: &[u8], see: &See) -> Result<(), Failure> {
        self.stream.write_all(bytes).map_err(|e| {
            Failure::new(
                format_args!("{} sent {}", self.name, show(bytes)),
                "the server to take it",
                format_args!("an error ({e})"),
                see,
            )
        })
    }

    /// The next line, "\n" included, or what came instead within `patience`.
    fn hear(&mut self, patience: Duration) -> Result<Vec<u8>, Heard> {
        if self.patience != Some(patience) {
            let _ = self.stream.set_read_timeout(Some(patience));
            self.patience = Some(patience);
        }
        let end = match self.reader.read_until(b'\n', &mut self.partial) {
            Ok(_) if self.partial.ends_with(b"\n") => return Ok(mem::take(&mut self.partial)),
            Ok(_) => End::Fin,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                End::Silent(patience)
            }
            Err(e) => End::Failed(e),
        };
        Err(Heard {
            bytes: mem::take(&mut self.partial),
            end,
        })
    }

    /// The next line must be `want`; `hint` is added when it is not.
    fn hears(
        &mut self,
        want: &[u8],
        patience: Duration,
        did: impl Display,
        see: &See,
        hint: &str,
    ) -> Result<(), Failure> {
        let got = match self.hear(patience) {
            Ok(line) if line == want => return Ok(()),
            Ok(line) => show(&line),
            Err(heard) => heard.to_string(),
        };
        let hint = if hint.is_empty() {
            String::new()
        } else {
            format!(": {hint}")
        };
        Err(Failure::new(
            did,
            format_args!("{} to hear {}", self.name, show(want)),
            format_args!("{got}{hint}"),
            see,
        ))
    }

    /// The next `count` lines.
    fn hears_all(&mut self, count: usize, did: &str, see: &See) -> Result<Vec<String>, Failure> {
        let mut lines = Vec::new();
        while lines.len() < count {
            match self.hear(PATIENCE) {
                Ok(line) => lines.push(String::from_utf8_lossy(&line).into_owned()),
                Err(heard) => {
                    return Err(Failure::new(
                        did,
                        format_args!("{} to hear {count} lines", self.name),
                        format_args!("{} of them, then {heard}", lines.len()),
                        see,
                    ))
                }
            }
        }
        Ok(lines)
    }
}
