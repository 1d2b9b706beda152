//! Chapter 5's step, the capstone: the chat room, written from an empty
//! file with `std::net`, threads and an `Arc<Mutex<Vec<...>>>`.
//!
//! Each check starts a fresh server, so that one problem shows up in the
//! check about it and not in every check after it. Besides polite clients,
//! the checks bring the abuse that chapter 5 is about: a client that leaves
//! with a reset, a client that never reads, a line that never ends, many
//! clients halfway through a line, and a client that reads, but slowly.
//!
//! The room's rule, which the course's own room follows too: no client ever
//! waits for another. Each client gets a bounded queue of what the room has
//! for it; one whose queue passes the cap is cut off, and so is one whose
//! socket takes no byte for a while. A sender never waits for a reader.
//!
//! Where the OS tells (Linux's `/proc`), the grader also watches the
//! server's memory: its peak resident size must not grow with a line.

use crate::check::{read_fin, secs, show, End, Failure, Heard, See, PATIENCE, SILENCE};
use crate::lang::t;
use crate::proc;
use crate::program::{NoLine, Program};
use crate::Grader;
use std::fmt::Display;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::mem;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

const B3: See = See("05-chat.md", "The server, B3", "服务器 B3");
const SHARED: See = See(
    "05-chat.md",
    "Shared state: one list, many threads",
    "共享状态：一个列表，多个线程",
);
const LINES: See = See("05-chat.md", "Why lines", "为什么要按行");
const ORDER: See = See(
    "05-chat.md",
    "One order for everyone, and its price",
    "同一个顺序，以及它的代价",
);
const NEVER_READS: See = See(
    "05-chat.md",
    "The reader that never reads",
    "永远不读的读者",
);
const ENDLESS: See = See("05-chat.md", "The endless line", "没有尽头的一行");
const LEAVING: See = See("05-chat.md", "Leaving, by id", "按 id 离开");

/// How long a client may wait for a line while another one misbehaves.
const PROMPT: Duration = Duration::from_secs(2);

/// The line a server prints once a client is in the room (B3's).
const JOINED: &str = "Got a new connection";

/// One MiB.
const MIB: usize = 1024 * 1024;

/// The endless line: this many bytes without a `"\n"`, at most.
const ENDLESS_LINE: usize = 32 * MIB;
/// How much the server's peak memory may grow while the endless line
/// comes. The course's room and the solution keep at most 64 KiB of a line:
/// they grew by 0.1 to 0.3 MiB. A server that keeps the whole line grows by
/// the whole line, 32 MiB.
const ENDLESS_GROWTH: u64 = 8 * MIB as u64;

/// Many clients halfway through a line: this many of them, ...
const HALFWAY_CLIENTS: usize = 32;
/// ... each this far into its line.
const HALFWAY_LINE: usize = 2 * MIB;
/// How much the server's peak memory may grow while they are. The course's
/// room and the solution cut each of them off at 64 KiB: they grew by 0.4
/// to 1.5 MiB. A server that keeps 2 MiB of each client's line grows by
/// 64 MiB.
const HALFWAY_GROWTH: u64 = 16 * MIB as u64;

/// Each line the talkers say is this long: "000042 xxx...x\n".
const LINE_BYTES: usize = 1_000;
/// They send this many lines per write, ...
const BATCH: usize = 16;
/// ... stay at most this many lines ahead of the listener, ...
const WINDOW: usize = 256;
/// ... and each talker says this many lines (240 KB) before it leaves and
/// the next one joins: less than what a room with flood control lets one
/// client send at full speed (the course's room: 256 KiB).
const EACH_TALKER: usize = 240;
/// The longest any relay of lines may take.
const RELAY_DEADLINE: Duration = Duration::from_secs(120);
/// The lines the talkers say while a client never reads: 8 MB, more than
/// the kernel's buffers can hide.
const NEVER_READS_LINES: usize = 8_000;
/// The lines they say with and without the slow reader: 16 MB.
const SLOW_LINES: usize = 16_000;
/// The slow reader reads this much ...
const SLOW_READ: usize = 16 * 1024;
/// ... this often: 273 KB a second, steadily. (The kernel tells the server
/// that the reader's socket takes bytes again only once the reader has
/// freed a segment or two of its buffer, 64 KiB each on loopback: every
/// half second or so, at this pace; up to a second beside two CPU hogs.)
const SLOW_EVERY: Duration = Duration::from_millis(60);
/// With the slow reader in the room, the listener may take this many times
/// as long as without it to hear the same lines, ...
const SLOWER: u32 = 10;
/// ... and at least this long. The course's room and the solution took
/// 0.2 to 0.4 s, with the slow reader or without (0.5 to 1.6 s beside two
/// CPU hogs, 1.4 to 3.9 s at a load of 11 to 17 on two cores); a room
/// that waits for its slowest reader takes 45 s or more (the socket
/// buffers hide the first 4 MB or so, then it goes at 273 KB a second, at
/// most: the reader's sleeps set that pace, and load only slows it).
const SLOW_FLOOR: Duration = Duration::from_secs(2);
/// ... and at most this long: under half what a waiting room needs,
/// whatever the machine. Without it, a loaded machine that took 4.5 s
/// without the slow reader allowed 45 s with it, and a waiting room
/// passed (1 run of 20 beside two CPU hogs and other work).
const SLOW_CEILING: Duration = Duration::from_secs(20);

pub fn chat(g: &Grader) -> Result<(), Failure> {
    others_only(g)?;
    whole_lines(g)?;
    one_order(g)?;
    leaving(g)?;
    never_reads(g)?;
    endless_line(g)?;
    halfway(g)?;
    slow_reader(g)?;
    Ok(())
}

/// Each line goes to every other client, never back to its sender.
fn others_only(g: &Grader) -> Result<(), Failure> {
    g.check(t!(
        "it prints {JOINED:?} for each client",
        "每个客户端进来时它打印 {JOINED:?}"
    ));
    let mut room = Room::open(g)?;
    let mut alice = room.join("alice")?;
    let mut bob = room.join("bob")?;
    let mut carol = room.join("carol")?;
    g.ok();

    g.check(t!(
        "each line goes to every other client, not back to its sender",
        "每一行都发给其他每个客户端，不发回给它的发送者"
    ));
    let did = t!(
        "alice said \"hello, I am alice\"",
        "alice 说了 \"hello, I am alice\""
    );
    alice.say(b"hello, I am alice\n", &B3)?;
    bob.hears(b"hello, I am alice\n", PATIENCE, &did, &SHARED, "")?;
    carol.hears(b"hello, I am alice\n", PATIENCE, &did, &SHARED, "")?;
    let did = t!(
        "After alice's line, bob said \"hi alice, bob here\"",
        "在 alice 那一行之后，bob 说了 \"hi alice, bob here\""
    );
    bob.say(b"hi alice, bob here\n", &B3)?;
    let hint = t!(
        "a line goes to every other client, never back to its sender",
        "一行要发给其他每个客户端，绝不发回给它的发送者"
    );
    alice.hears(b"hi alice, bob here\n", PATIENCE, &did, &B3, &hint)?;
    carol.hears(b"hi alice, bob here\n", PATIENCE, &did, &B3, "")?;
    g.ok();
    Ok(())
}

/// Lines go out whole, however TCP cut them, and as bytes.
fn whole_lines(g: &Grader) -> Result<(), Failure> {
    g.check(t!(
        "lines go out whole, however they were cut",
        "不管被切成什么样，行都整行发出"
    ));
    let mut room = Room::open(g)?;
    let mut alice = room.join("alice")?;
    let mut bob = room.join("bob")?;
    let mut carol = room.join("carol")?;

    alice.say(b"hel", &LINES)?;
    let did = t!(
        "alice sent \"hel\" (the start of a line)",
        "alice 发送了 \"hel\"（一行的开头）"
    );
    match carol.hear(SILENCE) {
        Err(Heard {
            bytes,
            end: End::Silent(_),
        }) if bytes.is_empty() => {}
        Ok(line) => return Err(heard_early(&did, &line)),
        Err(heard) if !heard.bytes.is_empty() => return Err(heard_early(&did, &heard.bytes)),
        Err(heard) => {
            return Err(Failure::new(
                did,
                t!("carol to stay connected", "carol 保持连接"),
                heard,
                &LINES,
            ));
        }
    }
    let did = t!(
        "alice sent \"hel\", then bob said \"yo\"",
        "alice 发送了 \"hel\"，然后 bob 说了 \"yo\""
    );
    bob.say(b"yo\n", &LINES)?;
    carol.hears(b"yo\n", PATIENCE, &did, &LINES, "")?;
    let did = t!(
        "alice finished her line with \"lo\\n\"",
        "alice 用 \"lo\\n\" 把她那一行写完"
    );
    alice.say(b"lo\n", &LINES)?;
    carol.hears(b"hello\n", PATIENCE, &did, &LINES, "")?;
    bob.hears(b"hello\n", PATIENCE, &did, &LINES, "")?;
    let did = t!(
        "alice sent two lines in one write, \"one\\ntwo\\n\"",
        "alice 在一次写里发送了两行 \"one\\ntwo\\n\""
    );
    alice.say(b"one\ntwo\n", &LINES)?;
    bob.hears(b"one\n", PATIENCE, &did, &LINES, "")?;
    bob.hears(b"two\n", PATIENCE, &did, &LINES, "")?;
    carol.hears(b"one\n", PATIENCE, &did, &LINES, "")?;
    carol.hears(b"two\n", PATIENCE, &did, &LINES, "")?;
    g.ok();

    g.check(t!(
        "a line is bytes: one that is not UTF-8 goes out as it came",
        "一行就是一串字节：不是 UTF-8 的行原样发出"
    ));
    let line = b"caf\xe9 au lait\n";
    let did = t!(
        "alice said \"caf\\xe9 au lait\", a line that is not UTF-8",
        "alice 说了 \"caf\\xe9 au lait\"，这一行不是 UTF-8"
    );
    alice.say(line, &LINES)?;
    let hint = t!(
        "a line is the bytes up to \"\\n\"; relay them as they came, with read_until, \
         not lines()",
        "一行就是直到 \"\\n\" 为止的字节；按收到的样子转发它们，用 read_until，不要用 lines()"
    );
    bob.hears(line, PATIENCE, &did, &LINES, &hint)?;
    carol.hears(line, PATIENCE, &did, &LINES, &hint)?;
    let did = t!(
        "After the line that is not UTF-8, alice said \"still here\"",
        "在那行不是 UTF-8 的之后，alice 说了 \"still here\""
    );
    alice.say(b"still here\n", &LINES)?;
    bob.hears(b"still here\n", PATIENCE, &did, &LINES, &hint)?;
    g.ok();
    Ok(())
}

/// A failure: carol heard part of a line before it was complete.
fn heard_early(did: &str, bytes: &[u8]) -> Failure {
    let shown = show(bytes);
    Failure::new(
        did,
        t!(
            "carol to receive nothing until the line is complete",
            "在这一行完整之前，carol 什么也收不到"
        ),
        t!(
            "{shown}: relay whole lines, not chunks as they came",
            "{shown}：要转发整行，而不是按收到的样子转发数据块"
        ),
        &LINES,
    )
}

/// Two clients talk at once; everyone hears their lines in one order.
fn one_order(g: &Grader) -> Result<(), Failure> {
    const EACH: usize = 100;
    g.check(t!(
        "everyone receives the lines in one order",
        "每个人收到的行顺序都相同"
    ));
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
        return Err(Failure::plain(t!(
            "A thread of the grader failed.",
            "评分器的一个线程失败了。"
        )));
    };

    let did = t!(
        "alice and bob said {EACH} lines each, at the same time",
        "alice 和 bob 同时各说了 {EACH} 行"
    );
    let carols = carol.hears_all(2 * EACH, &did, &ORDER)?;
    let daves = dave.hears_all(2 * EACH, &did, &ORDER)?;
    for (listener, lines) in [("carol", &carols), ("dave", &daves)] {
        for talker in ["alice", "bob"] {
            let said: Vec<String> = (0..EACH).map(|i| format!("{talker} {i}\n")).collect();
            let heard: Vec<&String> = lines.iter().filter(|l| l.starts_with(talker)).collect();
            if heard != said.iter().collect::<Vec<_>>() || lines.len() != 2 * EACH {
                let (all, count, order) = (2 * EACH, heard.len(), first(&heard));
                return Err(Failure::new(
                    &did,
                    t!(
                        "{listener} to receive all {all} lines, each talker's in order",
                        "{listener} 收到全部 {all} 行，每个说话者的行都按顺序"
                    ),
                    t!(
                        "{count} of {talker}'s lines, in the order {order:?}",
                        "{talker} 的 {count} 行，顺序是 {order:?}"
                    ),
                    &ORDER,
                ));
            }
        }
    }
    if let Some(i) = (0..carols.len()).find(|&i| carols[i] != daves[i]) {
        let (n, c, d) = (i + 1, show(carols[i].as_bytes()), show(daves[i].as_bytes()));
        return Err(Failure::new(
            &did,
            t!(
                "carol and dave to receive the lines in one order",
                "carol 和 dave 收到的行顺序相同"
            ),
            t!(
                "a different line {n}: carol received {c}, dave {d}",
                "第 {n} 行不同：carol 收到的是 {c}，dave 收到的是 {d}"
            ),
            &ORDER,
        ));
    }
    for (listener, talker) in [(&mut alice, "bob"), (&mut bob, "alice")] {
        let said: Vec<String> = (0..EACH).map(|i| format!("{talker} {i}\n")).collect();
        let heard = listener.hears_all(EACH, &did, &ORDER)?;
        if heard != said {
            let (name, order) = (&listener.name, first(&heard.iter().collect::<Vec<_>>()));
            return Err(Failure::new(
                &did,
                t!(
                    "{name} to receive {talker}'s {EACH} lines in order, and none of its own",
                    "{name} 按顺序收到 {talker} 的 {EACH} 行，而收不到自己的任何一行"
                ),
                format!("{order:?}"),
                &ORDER,
            ));
        }
    }
    g.ok();
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
    g.check(t!(
        "clients that leave, with FIN or with a reset, hurt nobody",
        "用 FIN 或重置离开的客户端，不会伤到任何人"
    ));
    let mut room = Room::open(g)?;
    let mut alice = room.join("alice")?;
    let mut bob = room.join("bob")?;
    let carol = room.join("carol")?;
    let mut dave = room.join("dave")?;

    // dave leaves politely: his FIN, and the server's FIN back.
    let _ = dave.stream.shutdown(Shutdown::Write);
    read_fin(&mut dave.stream).map_err(|heard| {
        let hint = match heard.end {
            End::Silent(_) => t!(
                ": the connection stayed open; take a client out of the room when its \
                 reader sees the end, and let its streams go",
                "：连接一直开着；客户端的读取方看到结束时，就把它移出聊天室，并放掉它的流"
            ),
            _ => String::new(),
        };
        Failure::new(
            t!("dave sent FIN to leave", "dave 发送 FIN 离开"),
            t!(
                "the server to end his connection too (FIN)",
                "服务器也结束他的连接（FIN）"
            ),
            format!("{heard}{hint}"),
            &LEAVING,
        )
    })?;
    drop(dave);

    // carol leaves rudely: she closes with a line unread, which sends RST.
    let did = t!("alice said \"one\"", "alice 说了 \"one\"");
    alice.say(b"one\n", &LEAVING)?;
    bob.hears(b"one\n", PATIENCE, &did, &LEAVING, "")?;
    let _ = carol.stream.set_read_timeout(Some(PATIENCE));
    let _ = carol.stream.peek(&mut [0]);
    drop(carol);

    let hint = t!(
        "a write that fails for a client that left must not end anyone else's thread",
        "写给一个已经离开的客户端失败了，不能因此结束别人的线程"
    );
    let did = t!(
        "After carol left with a reset (RST) and dave with FIN, alice said \"two\"",
        "在 carol 以重置（RST）离开、dave 以 FIN 离开之后，alice 说了 \"two\""
    );
    alice.say(b"two\n", &LEAVING)?;
    bob.hears(b"two\n", PATIENCE, &did, &LEAVING, &hint)?;
    let did = t!(
        "After carol and dave left, bob said \"three\"",
        "在 carol 和 dave 离开之后，bob 说了 \"three\""
    );
    bob.say(b"three\n", &LEAVING)?;
    alice.hears(b"three\n", PATIENCE, &did, &LEAVING, &hint)?;
    let did = t!(
        "After carol and dave left, alice said \"four\"",
        "在 carol 和 dave 离开之后，alice 说了 \"four\""
    );
    alice.say(b"four\n", &LEAVING)?;
    bob.hears(b"four\n", PATIENCE, &did, &LEAVING, &hint)?;
    let mut erin = room.join("erin")?;
    let did = t!(
        "erin joined, and alice said \"five\"",
        "erin 加入，然后 alice 说了 \"five\""
    );
    alice.say(b"five\n", &LEAVING)?;
    bob.hears(b"five\n", PATIENCE, &did, &LEAVING, "")?;
    erin.hears(b"five\n", PATIENCE, &did, &LEAVING, "")?;
    g.ok();
    Ok(())
}

/// A client that never reads holds nobody up, and does not make the server
/// keep every line for it.
fn never_reads(g: &Grader) -> Result<(), Failure> {
    g.check(t!(
        "a client that never reads holds nobody up, and is cut off",
        "从不读取的客户端拖不住任何人，并且会被断开"
    ));
    let mut room = Room::open(g)?;
    let mut stuck = room.join("stuck")?;
    let listener = room.join("listener")?;

    let (count, bytes) = (NEVER_READS_LINES, LINE_BYTES);
    let did = t!(
        "While a client that never reads sat in the room, talkers said {count} lines of \
         {bytes} bytes",
        "在一个从不读取的客户端待在聊天室里时，说话者们说了 {count} 行、每行 {bytes} 字节"
    );
    let deadline = Instant::now() + RELAY_DEADLINE;
    let relayed = relay(&mut room, listener, 0, NEVER_READS_LINES, deadline)?.1;
    if let Err(stall) = relayed {
        return Err(stalled(&did, stall));
    }

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
    if lines >= NEVER_READS_LINES {
        let megabytes = NEVER_READS_LINES * LINE_BYTES / 1_000_000;
        return Err(Failure::new(
            did,
            t!(
                "the server to cut off the client that never read, once it was far behind",
                "服务器在那个从不读取的客户端落后很多时断开它"
            ),
            t!(
                "all {count} lines for it when it finally read: the server kept every line \
                 for a client that does not read, {megabytes} MB here and without end in \
                 general; give each client a bounded queue, and cut off a client that lets it \
                 fill",
                "它终于读取时，全部 {count} 行都在：服务器为一个不读取的客户端留着每一行，\
                 这里是 {megabytes} MB，一般来说没有上限；给每个客户端一个有界的队列，\
                 谁让它满了就断开谁"
            ),
            &NEVER_READS,
        ));
    }
    drop(stuck);
    g.ok();
    Ok(())
}

/// Why the listener did not hear every line the talkers said.
struct Stall {
    /// How many lines it heard.
    heard: usize,
    /// Why it stopped: "nothing within 2 s", a line out of place, ...
    why: String,
    /// Whether nothing came at all.
    silent: bool,
    /// Whether it was the deadline of the whole relay that passed (rather
    /// than one line's wait).
    deadline: bool,
}

/// The failure of a relay whose listener stalled.
fn stalled(did: &str, stall: Stall) -> Failure {
    let (at, patience) = (stall.heard + 1, secs(PATIENCE));
    let why = &stall.why;
    let hint = if stall.silent {
        t!(
            ": one full socket must not hold up the room; a write that blocks under the \
             room's lock stalls everyone",
            "：一个满了的套接字不能拖住整个聊天室；在聊天室的锁下阻塞的写会让所有人都停住"
        )
    } else {
        String::new()
    };
    Failure::new(
        did,
        t!(
            "listener to receive each of them within {patience} s",
            "listener 在 {patience} 秒内收到其中的每一行"
        ),
        t!("{why} at line {at}{hint}", "第 {at} 行：{why}{hint}"),
        &NEVER_READS,
    )
}

/// Line `i` that the talkers say, [`LINE_BYTES`] long: "000042 xxx...x\n".
fn numbered(i: usize) -> Vec<u8> {
    let mut line = vec![b'x'; LINE_BYTES];
    line[..7].copy_from_slice(format!("{i:06} ").as_bytes());
    line[LINE_BYTES - 1] = b'\n';
    line
}

/// The number of a line that [`numbered`] made, if it is one.
fn number(line: &[u8], filler: &[u8]) -> Option<usize> {
    if line.len() != LINE_BYTES || line[7..] != *filler {
        return None;
    }
    std::str::from_utf8(&line[..6]).ok()?.parse().ok()
}

/// Talkers say `count` lines, numbered from `first`, and the listener must
/// hear each talker's lines whole and in order, each within [`PATIENCE`], and
/// all of them before `deadline`. The talkers stay at most [`WINDOW`] lines
/// ahead of what the listener has heard: a client that reads is never far
/// behind, while one that does not read falls further behind with every
/// line.
///
/// Each talker says [`EACH_TALKER`] lines and leaves, and the next one
/// joins: a room with flood control lets a client send that much at full
/// speed (and slows it down after), so such a room is as quick here as one
/// without. Returns how long the listener took.
fn relay(
    room: &mut Room,
    mut listener: Chatter,
    first: usize,
    count: usize,
    deadline: Instant,
) -> Result<(Chatter, Result<Duration, Stall>), Failure> {
    let (heard_up_to, acks) = mpsc::channel();
    let start = Instant::now();
    let listening = thread::spawn(move || {
        // The next line of each talker: two of them may overlap, one
        // leaving while the next talks.
        let mut next: Vec<usize> = (0..count.div_ceil(EACH_TALKER))
            .map(|t| first + t * EACH_TALKER)
            .collect();
        // The end of every line, the same for all: compared at once.
        let filler = numbered(0)[7..].to_vec();
        let mut result = Ok(());
        for heard in 0..count {
            let patience = PATIENCE.min(deadline.saturating_duration_since(Instant::now()));
            let stall = |why: String, silent: bool, deadline: bool| Stall {
                heard,
                why,
                silent,
                deadline,
            };
            if patience.is_zero() {
                result = Err(stall(String::new(), true, true));
                break;
            }
            let line = match listener.hear(patience) {
                Ok(line) => line,
                Err(heard) => {
                    let silent = matches!(heard.end, End::Silent(_)) && heard.bytes.is_empty();
                    let at_deadline = silent && patience < PATIENCE;
                    result = Err(stall(heard.to_string(), silent, at_deadline));
                    break;
                }
            };
            // Its number says whose it is, and it must be that talker's next.
            let number =
                number(&line, &filler).filter(|&number| number >= first && number < first + count);
            match number.map(|number| (number, (number - first) / EACH_TALKER)) {
                Some((number, t)) if number == next[t] => next[t] += 1,
                _ => {
                    result = Err(stall(show(&line), false, false));
                    break;
                }
            }
            if heard % BATCH == BATCH - 1 {
                let _ = heard_up_to.send(heard + 1);
            }
        }
        (listener, result.map(|()| start.elapsed()))
    });
    let mut heard = 0;
    let mut talker: Option<Chatter> = None;
    let mut leaving = Vec::new();
    'talking: for at in (0..count).step_by(BATCH) {
        while at >= heard + WINDOW {
            match acks.recv_timeout(PATIENCE) {
                Ok(up_to) => heard = up_to,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // The listener has stopped: it says why.
                Err(mpsc::RecvTimeoutError::Disconnected) => break 'talking,
            }
        }
        if at % EACH_TALKER == 0 {
            if let Some(talker) = talker.take() {
                leaving.push(thread::spawn(move || talker.leave()));
            }
            let next = room.join(format!("talker {}", at / EACH_TALKER + 1))?;
            let _ = next.stream.set_write_timeout(Some(PATIENCE));
            talker = Some(next);
        }
        let lines: Vec<u8> = (at..count.min(at + BATCH))
            .flat_map(|i| numbered(first + i))
            .collect();
        let Some(talking) = talker.as_mut() else {
            break;
        };
        if talking.stream.write_all(&lines).is_err() {
            break;
        }
    }
    if let Some(talker) = talker {
        leaving.push(thread::spawn(move || talker.leave()));
    }
    // The listener's deadline bounds this wait, and PROMPT each leave.
    let listened = listening.join().expect("the listener's thread");
    for leaving in leaving {
        let _ = leaving.join();
    }
    Ok(listened)
}

/// One client sends a line that never ends: the others go on talking, and
/// the server survives, and does not keep the line.
fn endless_line(g: &Grader) -> Result<(), Failure> {
    g.check(t!(
        "a line without end hurts nobody else",
        "一行没有尽头的数据不会伤到别人"
    ));
    let mut room = Room::open(g)?;
    let offender = room.join("offender")?;
    let mut bob = room.join("bob")?;
    let mut carol = room.join("carol")?;
    let before = room.peak_memory();

    // Up to 32 MiB without a "\n", until the server cuts it off.
    let (progress, sent) = mpsc::channel();
    let sending = thread::spawn(move || {
        let mut offender = offender;
        let _ = offender.stream.set_write_timeout(Some(PROMPT));
        let chunk = vec![b'x'; 64 * 1024];
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut total = 0;
        while total < ENDLESS_LINE && Instant::now() < deadline {
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
        if total >= MIB {
            break;
        }
    }

    let did = t!(
        "While another client was sending one line without end (1 MiB and counting, no \
         \"\\n\"), bob said \"still here\"",
        "在另一个客户端发送一行没有尽头的数据（已经 1 MiB，还在继续，没有 \"\\n\"）时，\
         bob 说了 \"still here\""
    );
    bob.say(b"still here\n", &ENDLESS)?;
    carol.hears(b"still here\n", PROMPT, &did, &ENDLESS, "")?;
    let _offender = sending.join();
    let line = ENDLESS_LINE / MIB;
    let did = t!(
        "A client sent a line of {line} MiB without \"\\n\"",
        "一个客户端发送了 {line} MiB 而不带 \"\\n\" 的一行"
    );
    if room.server.exited().is_some() {
        let how = room.server.how_it_ended();
        return Err(Failure::new(
            did,
            t!("the server to survive it", "服务器挺过去"),
            t!("an exit: {how}", "退出：{how}"),
            &ENDLESS,
        ));
    }
    room.settle();
    let measured = room.growth_below(before, ENDLESS_GROWTH).map_err(|grew| {
        let (grew, most) = (mib(grew), mib(ENDLESS_GROWTH));
        Failure::but(
            &did,
            t!(
                "the server's memory to grow by less than {most} MiB",
                "服务器的内存增长不到 {most} MiB"
            ),
            t!(
                "it grew by {grew} MiB: the server keeps the whole line. Bound what it keeps \
                 of one line (read_until on a reader limited by take(64 * 1024), say), and \
                 cut off the client whose line passes that bound",
                "它增长了 {grew} MiB：服务器把整行都留着。给它为一行保留的字节设个上限\
                 （比如在用 take(64 * 1024) 限制过的读取器上调用 read_until），\
                 谁的行超过这个上限就断开谁"
            ),
            &ENDLESS,
        )
    })?;
    let mut erin = room.join("erin")?;
    let did = t!(
        "After the endless line, erin joined and bob said \"and now?\"",
        "在那行没有尽头的数据之后，erin 加入，然后 bob 说了 \"and now?\""
    );
    bob.say(b"and now?\n", &ENDLESS)?;
    carol.hears(b"and now?\n", PATIENCE, &did, &ENDLESS, "")?;
    erin.hears(b"and now?\n", PATIENCE, &did, &ENDLESS, "")?;
    if !measured {
        g.check_more(t!(
            " (its memory was not checked: that needs Linux's /proc)",
            "（没有检查它的内存：那需要 Linux 的 /proc）"
        ));
    }
    g.ok();
    Ok(())
}

/// Many clients, each halfway through a line: the server may keep what
/// each has sent of its line only up to a small bound.
fn halfway(g: &Grader) -> Result<(), Failure> {
    g.check(t!(
        "many clients halfway through a line do not fill the server's memory",
        "许多客户端各自发了半行，不会撑满服务器的内存"
    ));
    let mut room = Room::open(g)?;
    let mut bob = room.join("bob")?;
    let mut carol = room.join("carol")?;
    let before = room.peak_memory();
    let part = vec![b'x'; HALFWAY_LINE];
    let mut halfway = Vec::new();
    for i in 0..HALFWAY_CLIENTS {
        let mut client = room.join(format!("client {}", i + 1))?;
        // A server that cut this client off already makes the write fail:
        // that is fine.
        let _ = client.stream.write_all(&part);
        halfway.push(client);
    }
    room.settle();
    let (clients, line) = (HALFWAY_CLIENTS, HALFWAY_LINE / MIB);
    let did = t!(
        "{clients} clients each sent {line} MiB of a line, no \"\\n\" yet",
        "{clients} 个客户端各自发送了一行的 {line} MiB，还没有 \"\\n\""
    );
    let measured = match room.growth_below(before, HALFWAY_GROWTH) {
        Ok(measured) => measured,
        Err(grew) => {
            let (grew, most) = (mib(grew), mib(HALFWAY_GROWTH));
            return Err(Failure::but(
                did,
                t!(
                    "the server's memory to grow by less than {most} MiB",
                    "服务器的内存增长不到 {most} MiB"
                ),
                t!(
                    "it grew by {grew} MiB: every client may be halfway through a line, so \
                     what the server keeps of each line must be small (the course keeps at \
                     most 64 KiB) and a client whose line passes it is cut off",
                    "它增长了 {grew} MiB：每个客户端都可能正写到一行的一半，所以服务器为每一行\
                     保留的字节必须很少（本课程最多保留 64 KiB），谁的行超过了就断开谁"
                ),
                &ENDLESS,
            ));
        }
    };
    let did2 = t!(
        "While {clients} clients were halfway through a line, bob said \"still here\"",
        "在 {clients} 个客户端各自写到一行的一半时，bob 说了 \"still here\""
    );
    bob.say(b"still here\n", &ENDLESS)?;
    carol.hears(b"still here\n", PROMPT, &did2, &ENDLESS, "")?;
    drop(halfway);
    if !measured {
        g.check_more(t!(
            " (its memory was not checked: that needs Linux's /proc)",
            "（没有检查它的内存：那需要 Linux 的 /proc）"
        ));
    }
    g.ok();
    Ok(())
}

/// A client that reads, but slowly and steadily, must not set the pace of
/// the others: with it in the room, a listener that reads as fast as it
/// can hears the talkers about as fast as without it.
fn slow_reader(g: &Grader) -> Result<(), Failure> {
    g.check(t!(
        "a client that reads slowly does not set the room's pace",
        "读得慢的客户端不会决定整个聊天室的速度"
    ));
    let mut room = Room::open(g)?;
    let listener = room.join("listener")?;
    let (count, bytes) = (SLOW_LINES, LINE_BYTES);

    // Without the slow reader first: how long the listener takes.
    let did = t!(
        "Talkers said {count} lines of {bytes} bytes",
        "说话者们说了 {count} 行、每行 {bytes} 字节"
    );
    let deadline = Instant::now() + RELAY_DEADLINE;
    let (listener, alone) = relay(&mut room, listener, 0, SLOW_LINES, deadline)?;
    let alone = alone.map_err(|stall| stalled(&did, stall))?;

    // Then with it.
    let mut slow = room.join("slow")?;
    let stop = Arc::new(AtomicBool::new(false));
    let reading = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let _ = slow.stream.set_read_timeout(Some(PATIENCE));
            let mut buf = vec![0; SLOW_READ];
            while !stop.load(Ordering::Relaxed) {
                match slow.stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    // Slow, on purpose: this is the reader's pace.
                    Ok(_) => thread::sleep(SLOW_EVERY),
                }
            }
        })
    };
    let allowed = (alone * SLOWER).clamp(SLOW_FLOOR, SLOW_CEILING);
    let deadline = Instant::now() + allowed;
    let with_slow = relay(&mut room, listener, SLOW_LINES, SLOW_LINES, deadline)?.1;
    stop.store(true, Ordering::Relaxed);
    let _ = reading.join();
    let (every, read) = (SLOW_EVERY.as_millis(), SLOW_READ / 1024);
    let did = t!(
        "While a client that reads slowly but steadily ({read} KiB every {every} ms) sat in \
         the room, talkers said {count} lines of {bytes} bytes",
        "在一个读得慢但一直在读（每 {every} 毫秒读 {read} KiB）的客户端待在聊天室里时，\
         说话者们说了 {count} 行、每行 {bytes} 字节"
    );
    match with_slow {
        Ok(_) => {}
        Err(stall) if stall.deadline => {
            let (heard, alone, allowed) = (stall.heard, secs(alone), secs(allowed));
            return Err(Failure::but(
                did,
                t!(
                    "listener to receive them about as fast as without that client (all \
                     {count} in {alone} s then; allowed now: {allowed} s)",
                    "listener 收到它们的速度和没有那个客户端时差不多（那时 {alone} 秒收到\
                     全部 {count} 行；现在允许 {allowed} 秒）"
                ),
                t!(
                    "it received only {heard} of them in {allowed} s: the room goes at the \
                     pace of its slowest reader. No sender may wait for a reader: give each \
                     client a bounded queue, and cut off the client whose queue passes its cap",
                    "它在 {allowed} 秒内只收到了其中的 {heard} 行：整个聊天室按最慢的读者的速度\
                     前进。任何发送者都不能等读者：给每个客户端一个有界的队列，\
                     谁的队列超过上限就断开谁"
                ),
                &NEVER_READS,
            ));
        }
        Err(stall) => return Err(stalled(&did, stall)),
    }
    g.ok();
    Ok(())
}

/// Bytes in MiB, for a sentence: `33.2`.
fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / MIB as f64)
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

    /// The server's peak memory so far, where the OS tells.
    fn peak_memory(&mut self) -> Option<u64> {
        proc::peak_memory(self.server.pid())
    }

    /// Waits until the server has read what the clients sent it (or at
    /// most [`PATIENCE`]), so that its memory says what it kept.
    fn settle(&mut self) {
        let (pid, port) = (self.server.pid(), self.addr.port());
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            match proc::to_server(pid, port) {
                Some(0) | None => return,
                Some(_) => thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// `Ok(true)` if the server's peak memory grew by less than `most`
    /// since `before`, `Ok(false)` if the OS cannot tell, and `Err` with
    /// the growth if it grew by `most` or more.
    fn growth_below(&mut self, before: Option<u64>, most: u64) -> Result<bool, u64> {
        match (before, self.peak_memory()) {
            (Some(before), Some(after)) if after.saturating_sub(before) >= most => {
                Err(after - before)
            }
            (Some(_), Some(_)) => Ok(true),
            _ => Ok(false),
        }
    }

    /// A new client, once the server says it is in the room.
    fn join(&mut self, name: impl Into<String>) -> Result<Chatter, Failure> {
        let name = name.into();
        let addr = self.addr;
        let connected = TcpStream::connect_timeout(&addr, PATIENCE)
            .and_then(|stream| Ok((stream.try_clone()?, stream)));
        let (stream, reader) = connected.map_err(|e| {
            Failure::new(
                t!("Connected {name} to {addr}", "把 {name} 连到 {addr}"),
                t!("a connection", "连上"),
                t!("an error ({e})", "一个错误（{e}）"),
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
                    let secs = secs(PATIENCE);
                    t!("nothing within {secs} s", "{secs} 秒内什么也没有")
                }
                Err(NoLine::Silent) => t!("only {other:?}", "只有 {other:?}"),
                Err(NoLine::Exited(how)) => t!("nothing: {how}", "什么也没有：{how}"),
            };
            return Err(Failure::new(
                t!("Connected {name}", "连上 {name} 之后"),
                t!(
                    "the server to print {JOINED:?} once {name} is in the room",
                    "{name} 进入聊天室后，服务器打印 {JOINED:?}"
                ),
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
    name: String,
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
            let (name, shown) = (&self.name, show(bytes));
            Failure::new(
                t!("{name} sent {shown}", "{name} 发送了 {shown}"),
                t!("the server to take it", "服务器收下它"),
                t!("an error ({e})", "一个错误（{e}）"),
                see,
            )
        })
    }

    /// Leaves the room politely: FIN, then everything the room still sends
    /// until its FIN (thrown away), so that nothing this client said is
    /// lost to a reset.
    fn leave(mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let _ = self.stream.set_read_timeout(Some(PROMPT));
        let mut buf = vec![0; 64 * 1024];
        while matches!(self.reader.read(&mut buf), Ok(n) if n > 0) {}
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
            t!(": {hint}", "：{hint}")
        };
        let (name, want) = (&self.name, show(want));
        Err(Failure::new(
            did,
            t!("{name} to receive {want}", "{name} 收到 {want}"),
            format!("{got}{hint}"),
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
                    let (name, got) = (&self.name, lines.len());
                    return Err(Failure::new(
                        did,
                        t!("{name} to receive {count} lines", "{name} 收到 {count} 行"),
                        t!(
                            "{got} of them, then {heard}",
                            "其中的 {got} 行，然后是{heard}"
                        ),
                        see,
                    ));
                }
            }
        }
        Ok(lines)
    }
}
