//! The server examples under the attacks of the seats issue, as a user runs
//! them: idle clients, a process short of descriptors, a stdout nobody
//! reads.

mod common;

use common::{assert_fails_cleanly, connect, read_n, read_to_end, run, Running};
use std::io::{Read, Write};
use std::net::TcpStream;

/// A1's greeting.
const HELLO: &[u8] = "hello world：\n".as_bytes();

#[test]
fn tcp_server_ends_a_connection_silent_for_its_idle_time() {
    let server = Running::server("tcp_server", &["--idle", "0.2"]);
    let mut client = connect(server.addr.unwrap());
    assert_eq!(read_n(&mut client, HELLO.len()), HELLO);
    // Nothing sent, and nothing else could end it: the server closes the
    // connection for its silence, with no 'drop' (no seat was taken from it).
    assert_eq!(read_to_end(&mut client), b"");
    assert_eq!(server.line(), "server bound");
    assert_eq!(server.try_line(), None);
}

#[test]
fn net_server_ends_a_connection_silent_for_its_idle_time() {
    let server = Running::server("net_server", &["--idle", "0.2"]);
    let mut client = connect(server.addr.unwrap());
    assert_eq!(read_to_end(&mut client), "哈哈哈我是一个测试".as_bytes());
    assert_eq!(server.line(), "服务创建");
    assert_eq!(server.line(), "客户端链接");
}

/// The lockout of issue 22, small: silent clients hold every seat (24, from
/// the one address a test can connect from), then a client that talks. It
/// is greeted and answered, in the seat of the client heard from least
/// recently, which is ended and named in the server's `'drop'` line.
#[test]
fn tcp_server_greets_a_talker_though_silent_clients_hold_every_seat() {
    let limits = ["--max-connections", "24", "--max-per-ip", "25"];
    let server = Running::server("tcp_server", &limits);
    let addr = server.addr.unwrap();
    assert_eq!(server.line(), "server bound");
    let mut silent: Vec<TcpStream> = (0..24)
        .map(|_| {
            let mut client = connect(addr);
            assert_eq!(read_n(&mut client, HELLO.len()), HELLO);
            client
        })
        .collect();

    let mut talker = connect(addr);
    assert_eq!(read_n(&mut talker, HELLO.len()), HELLO);
    talker.write_all(b"hello").unwrap();
    assert_eq!(read_n(&mut talker, "你好".len()), "你好".as_bytes());

    let first = silent[0].local_addr().unwrap();
    assert_eq!(
        server.line(),
        format!("Server drop : {first} (idle longest: its seat went to a newcomer)")
    );
    let mut rest = Vec::new();
    let _ = silent[0].read_to_end(&mut rest); // FIN, or a reset
    assert_eq!(rest, b"");
    silent.clear();
}

/// The same for the chat room: 24 silent members, then a listener and a
/// talker; the talker's line reaches the listener.
#[test]
fn chat_server_relays_a_talker_though_silent_clients_hold_every_seat() {
    let limits = ["--max-connections", "24", "--max-per-ip", "26"];
    let server = Running::server("chat_server", &limits);
    let addr = server.addr.unwrap();
    // Connects a member; returns it once the server has it in the room,
    // with the seats given up for it, as the server's `'drop'` lines say.
    let member = || {
        let client = connect(addr);
        let mut drops = Vec::new();
        loop {
            let line = server.line();
            if line == "Got a new connection" {
                return (client, drops);
            }
            if let Some(drop) = line.strip_prefix("Server drop : ") {
                drops.push(drop.to_string());
            }
        }
    };
    let silent: Vec<TcpStream> = (0..24)
        .map(|_| {
            let (client, drops) = member();
            assert_eq!(drops, Vec::<String>::new());
            client
        })
        .collect();
    let (mut listener, drops) = member();
    let first = silent[0].local_addr().unwrap();
    assert_eq!(
        drops,
        [format!(
            "{first} (idle longest: its seat went to a newcomer)"
        )]
    );
    // The next 'drop' line would come a second later (at most one a
    // second): the ends of the first two members show who gave way.
    let (mut talker, _) = member();
    talker.write_all(b"hello, room\n").unwrap();
    assert_eq!(read_n(&mut listener, 12), b"hello, room\n");
    let mut silent = silent;
    for client in &mut silent[..2] {
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest); // FIN, or a reset
        assert_eq!(rest, b"");
    }
}

#[test]
fn a_bad_idle_time_fails_cleanly() {
    for idle in ["soon", "-1"] {
        let output = run("tcp_server").args(["--idle", idle]).output().unwrap();
        assert_fails_cleanly(&output, &format!("bad --idle '{idle}'"));
    }
    let output = run("net_server").arg("--idle").output().unwrap();
    assert_fails_cleanly(&output, "--idle needs a value");
}

/// What needs a shell (`ulimit`) or `/proc`: Linux.
#[cfg(target_os = "linux")]
mod linux {
    use super::common::{connect, example, read_n, read_to_end, TIMEOUT};
    use super::HELLO;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc::{self, Receiver};
    use std::thread;
    use std::time::{Duration, Instant};

    /// A server example started by `sh -c '{setup} exec EXAMPLE --port 0
    /// ARGS'`: `exec` makes the shell the server, so that the limits `setup`
    /// sets are the server's and killing the child kills the server.
    struct Shelled {
        child: Child,
        addr: SocketAddr,
    }

    impl Shelled {
        /// Starts it and waits for its `listening on ADDR` line; its stdout
        /// is the child's pipe, for the test to read or not.
        fn start(setup: &str, name: &str, args: &[&str]) -> Shelled {
            let script = format!("{setup} exec \"$0\" --port 0 \"$@\"");
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg(example(name))
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn sh");
            let stderr = lines(child.stderr.take().unwrap());
            let line = stderr.recv_timeout(TIMEOUT).expect("listening on").1;
            let addr = line
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("{name}: expected `listening on ADDR`, got {line:?}"))
                .parse()
                .unwrap();
            Shelled { child, addr }
        }

        /// From now on, its stdout lines, each with the time it was read.
        fn stdout(&mut self) -> Receiver<(Instant, String)> {
            lines(self.child.stdout.take().expect("stdout not taken yet"))
        }

        /// How many threads the server runs now.
        fn threads(&self) -> usize {
            std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
                .expect("/proc/PID/task")
                .count()
        }

        /// Waits until the server runs `n` threads.
        fn wait_for_threads(&self, n: usize) {
            let deadline = Instant::now() + TIMEOUT;
            while self.threads() != n {
                assert!(
                    Instant::now() < deadline,
                    "{} threads, not {n}",
                    self.threads()
                );
                // Threads end on their own time, and nothing says when:
                // look again in a moment.
                thread::sleep(Duration::from_millis(10));
            }
        }
    }

    impl Drop for Shelled {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Each line of `pipe`, with the time it was read; the channel ends at EOF.
    fn lines(pipe: impl Read + Send + 'static) -> Receiver<(Instant, String)> {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        rx
    }

    /// A client that tries until the server greets it: seats are given back
    /// when the server's threads see the clients' FIN, a moment after the
    /// clients sent it, and a client that comes before is dropped.
    fn greeted(addr: SocketAddr) -> TcpStream {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let mut client = connect(addr);
            let mut hello = vec![0; HELLO.len()];
            if client.read_exact(&mut hello).is_ok() {
                assert_eq!(hello, HELLO);
                return client;
            }
            assert!(Instant::now() < deadline, "never greeted");
        }
    }

    /// The next line that starts with `prefix`, and when it was read.
    fn next_starting(stdout: &Receiver<(Instant, String)>, prefix: &str) -> (Instant, String) {
        loop {
            let (at, line) = stdout.recv_timeout(TIMEOUT).expect("a line");
            if line.starts_with(prefix) {
                return (at, line);
            }
        }
    }

    /// Reads lines starting with `prefix` (others are skipped) until they
    /// account for `events` events: a line stands for one, a count line
    /// (`PREFIX N more in the last second`) for N. Returns the lines.
    fn account_for(
        stdout: &Receiver<(Instant, String)>,
        prefix: &str,
        events: u64,
    ) -> Vec<(Instant, String)> {
        let mut seen = Vec::new();
        let mut counted = 0;
        while counted < events {
            let (at, line) = stdout.recv_timeout(TIMEOUT).expect("a line");
            let Some(rest) = line.strip_prefix(prefix) else {
                continue;
            };
            counted += match rest.strip_suffix(" more in the last second") {
                Some(n) => n.parse::<u64>().expect("a count"),
                None => 1,
            };
            seen.push((at, line));
        }
        assert_eq!(counted, events, "{seen:?}");
        seen
    }

    /// Under `ulimit -n 256` the server sizes its seats to fit (256 less the
    /// 82 it keeps for the rest: 174, and 21 for one address), refuses the
    /// rest from that address with one line a second, and serves again once
    /// the clients leave.
    #[test]
    fn short_of_descriptors_the_server_refuses_in_one_line_a_second() {
        let mut server = Shelled::start("ulimit -n 256;", "tcp_server", &[]);
        let stdout = server.stdout();
        assert_eq!(stdout.recv_timeout(TIMEOUT).unwrap().1, "server bound");

        let share: Vec<TcpStream> = (0..21).map(|_| greeted(server.addr)).collect();
        let start = Instant::now();
        for _ in 0..38 {
            // Dropped at once: the client reads EOF.
            assert_eq!(read_to_end(&mut connect(server.addr)), b"");
        }
        let lines = account_for(&stdout, "Server drop : ", 38);
        let (_, first) = &lines[0];
        assert!(
            first.ends_with("(too many connections from this address)"),
            "{lines:?}"
        );
        // One line for the first drop, then counts, a second apart at
        // least (measured here, after the pipe: a little less).
        let seconds = start.elapsed().as_secs_f64();
        assert!(lines.len() as f64 <= 2.0 + seconds, "{lines:?}");

        drop(share);
        let mut back = greeted(server.addr);
        back.write_all(b"hello").unwrap();
        assert_eq!(read_n(&mut back, "你好".len()), "你好".as_bytes());
    }

    /// With more seats than descriptors, `accept` fails (`EMFILE`): the
    /// server backs off, doubling its pause, prints one line a second, and
    /// takes the waiting clients once descriptors are free.
    #[test]
    fn out_of_descriptors_the_server_backs_off_and_recovers() {
        let limits = ["--max-connections", "1000", "--max-per-ip", "1000"];
        let mut server = Shelled::start("ulimit -n 64;", "tcp_server", &limits);
        let stdout = server.stdout();
        assert_eq!(stdout.recv_timeout(TIMEOUT).unwrap().1, "server bound");

        // More than 64 descriptors' worth: the last ones wait, unaccepted.
        let clients: Vec<TcpStream> = (0..80).map(|_| connect(server.addr)).collect();
        next_starting(&stdout, "Server error : ");
        let (_, count) = next_starting(&stdout, "Server error : ");
        let errors: u64 = count
            .strip_prefix("Server error : ")
            .and_then(|rest| rest.strip_suffix(" more in the last second"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a count after the first error, not {count:?}"));
        // Backing off from 5 ms, doubling, a second holds 8 failures at
        // most; a loop that only paused 10 ms failed a hundred times.
        assert!(errors <= 8, "{errors} failed accepts in a second");

        drop(clients);
        let mut back = greeted(server.addr);
        back.write_all(b"hello").unwrap();
        assert_eq!(read_n(&mut back, "你好".len()), "你好".as_bytes());
    }

    /// A connect flood under `ulimit -n 128`: 46 seats, all open to the one
    /// address a test has, and 1,000 connections from 4 threads at once.
    /// The accept loop hands connections over through a bounded queue, so
    /// those accepted but not yet seated hold at most 34 descriptors; with
    /// the seats and the seats being given up, the server never runs out,
    /// and no `accept` fails. With an unbounded hand-off, the accept loop
    /// outran the thread that seats and starts connections, and `accept`
    /// failed with `EMFILE`. Then a client that talks is served.
    #[test]
    fn a_connect_flood_never_runs_the_server_out_of_descriptors() {
        let limits = ["--max-per-ip", "1000"];
        let mut server = Shelled::start("ulimit -n 128;", "tcp_server", &limits);
        let stdout = server.stdout();
        assert_eq!(stdout.recv_timeout(TIMEOUT).unwrap().1, "server bound");
        let addr = server.addr;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                thread::spawn(move || {
                    (0..250)
                        .map(|_| TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let flood: Vec<TcpStream> = threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();

        let mut talker = greeted(addr);
        talker.write_all(b"hello").unwrap();
        assert_eq!(read_n(&mut talker, "你好".len()), "你好".as_bytes());
        talker.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_to_end(&mut talker), b"");
        // Its 'end' is printed after every line the flood caused.
        loop {
            let (_, line) = stdout.recv_timeout(TIMEOUT).expect("a line");
            assert!(!line.starts_with("Server error"), "{line}");
            if line == "连接断开" {
                break;
            }
        }
        drop(flood);
    }

    /// A stdout nobody reads: the connections' lines are dropped, not
    /// waited for, so every connection ends and its thread with it.
    #[test]
    fn a_stdout_nobody_reads_blocks_no_connection() {
        let mut server = Shelled::start("", "net_server", &[]);
        let chunk = vec![b'x'; 4096];
        let cycle = || {
            let mut client = connect(server.addr);
            client.write_all(&chunk).unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            // The greeting, then the server's FIN: it heard our 'end'.
            assert_eq!(read_to_end(&mut client), "哈哈哈我是一个测试".as_bytes());
        };
        cycle();
        // main, the printing thread, the accept loop and the server's thread.
        server.wait_for_threads(4);
        // Three lines or more a cycle, 4 KiB each for the data: far more
        // than the pipe and the printer's queue hold.
        for _ in 0..600 {
            cycle();
        }
        server.wait_for_threads(4);

        // Now read: what was kept comes out, then how much was not.
        let stdout = server.stdout();
        let dropped = loop {
            let (_, line) = stdout.recv_timeout(TIMEOUT).expect("a line");
            if let Some(rest) = line.strip_prefix('(') {
                break rest.to_string();
            }
        };
        assert!(
            dropped.ends_with("lines dropped: stdout was not being read)"),
            "{dropped}"
        );
    }
}
