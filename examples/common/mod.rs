//! What every example needs and the Node snippets get for free: the
//! `--host`/`--port` flags, a one-line error with exit code 1 instead of a
//! panic, and, for the servers, their limits' flags and a stdout that never
//! makes a connection wait. Each example includes this file with
//! `mod common;`.

// Each example uses only part of this file.
#![allow(dead_code)]

use netcourse::tcp::Server;
use std::collections::HashMap;
use std::fmt::Display;
use std::io::{self, Write};
use std::process;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// The command line: `[--host HOST] [--port PORT] [WORDS...]`.
pub struct Args {
    /// Where to listen or connect; `127.0.0.1` unless `--host` says otherwise.
    pub host: String,
    /// The document's port unless `--port` says otherwise; 0 lets the kernel
    /// choose one.
    pub port: u16,
    /// Whatever else was given, in order (the UDP client's message).
    pub rest: Vec<String>,
}

impl Args {
    /// Reads the command line, with the document's `default_port`. A bad
    /// flag is a one-line error and exit code 1.
    pub fn parse(default_port: u16) -> Args {
        let mut args = Args {
            host: "127.0.0.1".to_string(),
            port: default_port,
            rest: Vec::new(),
        };
        let mut words = std::env::args().skip(1);
        while let Some(word) = words.next() {
            match word.as_str() {
                "--host" => args.host = words.next().or_exit("--host needs a value"),
                "--port" => {
                    let port = words.next().or_exit("--port needs a value");
                    args.port = port
                        .parse()
                        .or_exit(format!("bad --port '{port}' (want 0 to 65535)"));
                }
                "-h" | "--help" => {
                    println!("usage: {} [--host HOST] [--port PORT]", program());
                    process::exit(0);
                }
                _ => args.rest.push(word),
            }
        }
        args
    }

    /// The address to hand to `bind` or `connect`. A `(host, port)` pair,
    /// not a string, so that an IPv6 host like `::1` needs no brackets.
    pub fn addr(&self) -> (&str, u16) {
        (&self.host, self.port)
    }

    /// The value of `--NAME VALUE`, taken out of [`rest`](Args::rest), or
    /// `None` if it was not given. A bad value is a one-line error and exit
    /// code 1.
    pub fn flag<T: FromStr>(&mut self, name: &str) -> Option<T>
    where
        T::Err: Display,
    {
        let at = self.rest.iter().position(|word| word == name)?;
        self.rest.remove(at);
        if at == self.rest.len() {
            fail(format!("{name} needs a value"));
        }
        let value = self.rest.remove(at);
        Some(value.parse().or_exit(format!("bad {name} '{value}'")))
    }

    /// `--idle SECS`: how long a connection may stay silent before the
    /// server ends it (Node's `socket.setTimeout`); 120 s unless given, and
    /// `0` for never. Fractions are allowed (`--idle 0.5`).
    pub fn idle(&mut self) -> Option<Duration> {
        let seconds: f64 = self.flag("--idle").unwrap_or(120.0);
        let idle = Duration::try_from_secs_f64(seconds).or_exit(format!(
            "bad --idle '{seconds}' (want seconds, 0 for never)"
        ));
        (!idle.is_zero()).then_some(idle)
    }

    /// The server's seats from `--max-connections N` (all clients) and
    /// `--max-per-ip N` (one address), where given; otherwise the library's
    /// defaults, sized from what the process may open. And `idle` (see
    /// [`idle`](Args::idle)) as the server's write timeout, so that a client
    /// that stops reading is ended as one that stops sending is.
    pub fn seats(&mut self, server: Server, idle: Option<Duration>) -> Server {
        let server = server.write_timeout(idle);
        let server = match self.flag("--max-connections") {
            Some(max) => server.max_connections(max),
            None => server,
        };
        match self.flag("--max-per-ip") {
            Some(max) => server.max_connections_per_ip(max),
            None => server,
        }
    }
}

/// How many lines may wait for stdout; past that, lines are dropped and
/// counted, never waited for.
const WAITING_LINES: usize = 1024;

/// Lines dropped because [`WAITING_LINES`] were waiting already.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// What the printing thread is handed.
enum Out {
    /// A line to print.
    Line(String),
    /// A line to print unless another of its kind was printed less than a
    /// second ago; then it is only counted.
    Limited(&'static str, String),
}

/// `println!` for a server's connection threads: the line goes to a thread
/// that prints it, and the caller never waits, even when nobody reads
/// stdout (a full pipe, a terminal paused with Ctrl-S). A connection whose
/// thread blocked in `println!` would hold its seat for as long as stdout
/// stays blocked; instead, past [`WAITING_LINES`] the lines are dropped, and
/// a line says how many once stdout moves again. The lines keep their order.
pub fn println(line: impl Display) {
    send(Out::Line(line.to_string()));
}

/// [`println`], at most one line a second of this `kind`: the others are
/// counted, and a line `KIND : N more in the last second` says how many.
/// For what a flood could make a server print thousands of times a second:
/// refused connections, failed accepts.
pub fn println_limited(kind: &'static str, line: impl Display) {
    send(Out::Limited(kind, line.to_string()));
}

fn send(out: Out) {
    static PRINTER: OnceLock<SyncSender<Out>> = OnceLock::new();
    let printer = PRINTER.get_or_init(|| {
        let (lines, waiting) = mpsc::sync_channel(WAITING_LINES);
        thread::Builder::new()
            .name("stdout".to_string())
            .spawn(move || print_lines(waiting))
            .or_exit("cannot start the printing thread");
        lines
    });
    if let Err(TrySendError::Full(_)) = printer.try_send(out) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// The printing thread: prints what it is handed, in order, one line of
/// each limited kind a second at most. It is the only thread that waits for
/// stdout.
fn print_lines(waiting: Receiver<Out>) {
    /// A limited kind: when its last line was printed, and how many of it
    /// have been counted since.
    struct Limited {
        printed: Instant,
        counted: u64,
    }
    let mut limited: HashMap<&'static str, Limited> = HashMap::new();
    let second = Duration::from_secs(1);
    loop {
        // Wake up when the next count is due, if one is.
        let due = limited
            .values()
            .filter(|kind| kind.counted > 0)
            .map(|kind| kind.printed + second)
            .min();
        let out = match due {
            Some(due) => waiting.recv_timeout(due.saturating_duration_since(Instant::now())),
            None => waiting.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let now = Instant::now();
        // The counts that are due, even while lines keep coming.
        for (kind, last) in &mut limited {
            if last.counted > 0 && now >= last.printed + second {
                print(&format!(
                    "{kind} : {} more in the last second",
                    last.counted
                ));
                last.printed = now;
                last.counted = 0;
            }
        }
        match out {
            Ok(Out::Line(line)) => print(&line),
            Ok(Out::Limited(kind, line)) => match limited.get_mut(kind) {
                Some(last) if now < last.printed + second => last.counted += 1,
                _ => {
                    print(&line);
                    limited.insert(
                        kind,
                        Limited {
                            printed: now,
                            counted: 0,
                        },
                    );
                }
            },
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let dropped = DROPPED.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            print(&format!(
                "({dropped} lines dropped: stdout was not being read)"
            ));
        }
    }
}

/// One line on stdout. If stdout is closed there is nobody to tell.
fn print(line: &str) {
    let _ = writeln!(io::stdout(), "{line}");
}

/// The example's name, for its error lines.
pub fn program() -> String {
    std::env::args()
        .next()
        .as_deref()
        .and_then(|path| std::path::Path::new(path).file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "example".to_string())
}

/// `listening on ADDR` on stderr: the line the tests and the grader wait
/// for, to learn the port of `--port 0`.
pub fn say_listening(addr: impl Display) {
    eprint_line(format_args!("listening on {addr}"));
}

/// One line on stderr, in one `write`. stderr is unbuffered, and
/// `eprintln!` writes its pieces one by one ("listening on ", the address,
/// "\n"), so in a terminal, where stdout and stderr are the same screen, a
/// line the printing thread writes meanwhile could land inside it.
fn eprint_line(line: impl Display) {
    let _ = io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// Ends the program with `NAME: WHAT: ERROR` on stderr and exit code 1.
pub fn fail(what: impl Display) -> ! {
    eprint_line(format_args!("{}: {what}", program()));
    process::exit(1)
}

/// `result.or_exit("what we were doing")`: the value, or [`fail`] with the
/// error on one line.
pub trait OrExit<T> {
    /// The value, or exit 1 with `what` and the error.
    fn or_exit(self, what: impl Display) -> T;
}

impl<T, E: Display> OrExit<T> for Result<T, E> {
    fn or_exit(self, what: impl Display) -> T {
        self.unwrap_or_else(|e| fail(format!("{what}: {e}")))
    }
}

impl<T> OrExit<T> for Option<T> {
    fn or_exit(self, what: impl Display) -> T {
        self.unwrap_or_else(|| fail(what))
    }
}
