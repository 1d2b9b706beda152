//! The learner's program as a child process: started with its stdout and
//! stderr read line by line on threads of their own (so it never blocks on a
//! full pipe), and always killed and reaped when the grader is done with it,
//! whatever happened.
//!
//! When a check is done with a program, the program is not killed at once:
//! it is *parked* (see [`Park`]). If the grading goes on, the next program
//! started, or the end of the grading, kills it. If the check failed, the
//! grader looks at the parked program first: had it crashed, or had one of
//! its threads panicked? Then the failure says so, with what the program
//! printed on stderr, instead of only "got the end of the connection".

use crate::check::{secs, show, Failure, See, PATIENCE};
use crate::lang::t;
use std::cell::RefCell;
use std::fmt::Display;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// A line the program printed (on stdout or stderr), and when the grader
/// read it.
pub type Printed = (Instant, String);

/// One run of the learner's program, while a check uses it.
pub struct Program {
    /// The example's name, `ch2_server`, for the sentences.
    pub name: &'static str,
    /// The process and its output; moved to the park when dropped.
    run: Option<Run>,
    /// Where it goes when the check is done with it.
    park: Park,
}

/// The process and what it printed.
pub struct Run {
    /// The running process.
    child: Child,
    /// Each line it prints on stdout; disconnected once it has exited.
    stdout: Receiver<Printed>,
    /// Each line it prints on stderr; disconnected once it has exited.
    stderr: Receiver<Printed>,
    /// The stderr lines read so far.
    said: Vec<Printed>,
    /// Counts the programs started: the last one started is the one a
    /// failed check was about.
    number: usize,
}

/// The programs that the checks are done with, not killed yet.
pub type Park = Rc<RefCell<Vec<Run>>>;

/// Why [`Program::line`] returned no line.
pub enum NoLine {
    /// Nothing for the whole wait.
    Silent,
    /// The program has exited: how, in words.
    Exited(String),
}

impl Program {
    /// Starts `exe` with `args`, stdin closed, with a short panic message
    /// (no backtrace: the grader shows the message itself).
    pub fn start(
        exe: &Path,
        name: &'static str,
        args: &[&str],
        park: &Park,
        number: usize,
    ) -> io::Result<Program> {
        let mut child = Command::new(exe)
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = lines(child.stdout.take().expect("stdout is piped"));
        let stderr = lines(child.stderr.take().expect("stderr is piped"));
        Ok(Program {
            name,
            run: Some(Run {
                child,
                stdout,
                stderr,
                said: Vec::new(),
                number,
            }),
            park: Rc::clone(park),
        })
    }

    fn run(&mut self) -> &mut Run {
        self.run
            .as_mut()
            .expect("a program is parked only when dropped")
    }

    /// Its process id.
    pub fn pid(&mut self) -> u32 {
        self.run().child.id()
    }

    /// Waits for the `listening on ADDR` line on stderr, and returns ADDR.
    pub fn listening(&mut self, see: &See) -> Result<SocketAddr, Failure> {
        let name = self.name;
        let did = t!("Started {name} with --port 0", "用 --port 0 启动 {name}");
        let expected = t!(
            "the line `listening on ADDR` on stderr",
            "它在 stderr 上打印一行 `listening on ADDR`"
        );
        let deadline = Instant::now() + PATIENCE;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let run = self.run();
            match run.stderr.recv_timeout(wait) {
                Ok((when, line)) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        return addr.trim().parse().map_err(|_| {
                            let got = t!("{line:?}, not an address", "{line:?}，不是一个地址");
                            Failure::new(&did, &expected, got, see)
                        });
                    }
                    run.said.push((when, line));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let secs = PATIENCE.as_secs();
                    let got = t!("nothing within {secs} s", "{secs} 秒内什么也没有");
                    return Err(Failure::new(did, expected, got, see));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let how = self.how_it_ended();
                    let got = t!("nothing: {how}", "什么也没有：{how}");
                    return Err(Failure::new(did, expected, got, see));
                }
            }
        }
    }

    /// The next line on stdout, waiting at most `patience`.
    pub fn line(&mut self, patience: Duration) -> Result<String, NoLine> {
        match self.run().stdout.recv_timeout(patience) {
            Ok((_, line)) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(NoLine::Silent),
            Err(RecvTimeoutError::Disconnected) => Err(NoLine::Exited(self.how_it_ended())),
        }
    }

    /// Its next line on stdout must be `want`.
    pub fn expect(&mut self, did: impl Display, want: &str, see: &See) -> Result<(), Failure> {
        self.expect_where(did, want, PATIENCE, see, |line| line == want)
    }

    /// Its next line on stdout, within `patience`, must pass `test`;
    /// `want` says what that means.
    pub fn expect_where(
        &mut self,
        did: impl Display,
        want: &str,
        patience: Duration,
        see: &See,
        test: impl Fn(&str) -> bool,
    ) -> Result<(), Failure> {
        self.expect_hinted(did, want, patience, see, test, |_| String::new())
    }

    /// [`expect_where`](Program::expect_where), and when the line printed
    /// is not the one expected, `hint(line)` is added to what it got.
    pub fn expect_hinted(
        &mut self,
        did: impl Display,
        want: &str,
        patience: Duration,
        see: &See,
        test: impl Fn(&str) -> bool,
        hint: impl Fn(&str) -> String,
    ) -> Result<(), Failure> {
        let got = match self.line(patience) {
            Ok(line) if test(&line) => return Ok(()),
            Ok(line) => format!("{}{}", show(line.as_bytes()), hint(&line)),
            Err(NoLine::Silent) => {
                let secs = secs(patience);
                t!("nothing within {secs} s", "{secs} 秒内什么也没有")
            }
            Err(NoLine::Exited(how)) => t!("nothing: {how}", "什么也没有：{how}"),
        };
        let (name, want) = (self.name, show(want.as_bytes()));
        let expected = t!("{name} to print {want} next", "{name} 接下来打印 {want}");
        Err(Failure::new(did, expected, got, see))
    }

    /// Whether it has exited already, and how.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.run().child.try_wait().ok().flatten()
    }

    /// Waits at most `patience` for it to exit by itself.
    pub fn wait(&mut self, patience: Duration) -> Option<ExitStatus> {
        self.run().wait(patience)
    }

    /// "it exited with code 1", once it has exited; what it printed on
    /// stderr, the grader shows apart (see [`Crash`]).
    pub fn how_it_ended(&mut self) -> String {
        match self.wait(Duration::from_secs(1)) {
            Some(status) => exit(status),
            None => t!("it closed its stdout", "它关闭了自己的 stdout"),
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            self.park.borrow_mut().push(run);
        }
    }
}

impl Run {
    /// Waits at most `patience` for it to exit by itself.
    fn wait(&mut self, patience: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + patience;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            // std has no wait with a timeout: look again shortly.
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills it (if it still runs) and reaps it. A server never exits by
    /// itself: this is how every run ends.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a program that died during a failed check died, and what it printed
/// on stderr since the last check passed.
pub struct Crash {
    /// "crashed (exit code 101)", or a thread's panic.
    pub how: CrashKind,
    /// Its stderr since the last check passed, trimmed.
    pub said: Vec<String>,
    /// How many lines were left out, at the start.
    pub left_out: usize,
}

/// The ways a program can die, or half die, during a check.
pub enum CrashKind {
    /// It exited by itself, with this status, not a success.
    Exited(ExitStatus),
    /// It still ran, but a thread of it panicked.
    ThreadPanicked,
}

/// The most lines of stderr a failure shows.
const MOST_LINES: usize = 20;
/// The most characters of one stderr line a failure shows.
const LONGEST_LINE: usize = 300;

/// Looks at the program started last, now parked, after a check failed:
/// if it exited by itself (not with code 0) or a thread of it panicked,
/// how, and what it printed on stderr since `since` (when the last check
/// passed). Then it is killed, like every parked program.
pub fn crash(park: &Park, since: Instant) -> Option<Crash> {
    let mut parked = park.borrow_mut();
    let last = (0..parked.len()).max_by_key(|&i| parked[i].number)?;
    let mut run = parked.remove(last);
    drop(parked);

    // Its last words: a program that crashed has written them all, but the
    // thread that reads its stderr may not have read them yet.
    while let Ok(line) = run.stderr.recv_timeout(Duration::from_millis(200)) {
        run.said.push(line);
    }
    let said: Vec<String> = run
        .said
        .iter()
        .filter(|(when, _)| *when >= since)
        .map(|(_, line)| line.clone())
        .collect();
    let panicked = said.iter().any(|line| line.contains("panicked at"));
    let mut status = run.child.try_wait().ok().flatten();
    if status.is_none() && panicked {
        // A panic on the main thread: the process is on its way out.
        status = run.wait(Duration::from_secs(1));
    }
    let how = match status {
        Some(status) if !status.success() => CrashKind::Exited(status),
        None if panicked => CrashKind::ThreadPanicked,
        _ => {
            run.kill();
            return None;
        }
    };
    let trimmed = trim(&said);
    let left_out = trimmed.len().saturating_sub(MOST_LINES);
    let said = trimmed[left_out..].to_vec();
    run.kill();
    Some(Crash {
        how,
        said,
        left_out,
    })
}

/// Stderr as a failure shows it: not the grader's own `listening on`
/// line, not Rust's notes on how to get a backtrace, no backtrace, no blank
/// lines, and no line longer than [`LONGEST_LINE`].
fn trim(said: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    for line in said {
        if line.starts_with("stack backtrace:") {
            break;
        }
        if line.trim().is_empty()
            || line.starts_with("listening on ")
            || line.starts_with("note: run with `RUST_BACKTRACE=")
            || line.starts_with("note: Some details are omitted")
        {
            continue;
        }
        let mut line = line.to_string();
        if let Some((cut, _)) = line.char_indices().nth(LONGEST_LINE) {
            line.truncate(cut);
            line.push_str("...");
        }
        kept.push(line);
    }
    kept
}

/// Kills and reaps every parked program.
pub fn clear(park: &Park) {
    let parked: Vec<Run> = park.borrow_mut().drain(..).collect();
    for run in parked {
        run.kill();
    }
}

/// "it exited with code 1", "it was killed by signal 9".
pub fn exit(status: ExitStatus) -> String {
    match (status.code(), signal(status)) {
        (Some(code), _) => t!("it exited with code {code}", "它退出了，退出码 {code}"),
        (None, Some(signal)) => t!(
            "it was killed by signal {signal}",
            "它被信号 {signal} 杀死了"
        ),
        (None, None) => t!("it ended", "它结束了"),
    }
}

/// The signal that killed it, where there are signals.
#[cfg(unix)]
pub fn signal(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

/// The signal that killed it, where there are signals.
#[cfg(not(unix))]
pub fn signal(_: ExitStatus) -> Option<i32> {
    None
}

/// A channel that receives each line of `pipe` (without its line end,
/// invalid UTF-8 replaced) and when it was read; it disconnects at the end
/// of the pipe.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<Printed> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(pipe.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']).to_string();
            if tx.send((Instant::now(), text)).is_err() {
                break;
            }
            line.clear();
        }
    });
    rx
}
