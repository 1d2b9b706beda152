//! The learner's program as a child process: started with its stdout and
//! stderr read line by line on threads of their own (so it never blocks on a
//! full pipe), and always killed and reaped when the grader is done with it,
//! whatever happened (the `Drop` below).

use crate::check::{secs, show, Failure, See, PATIENCE};
use std::fmt::Display;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// One run of the learner's program.
pub struct Program {
    /// The example's name, `ch2_server`, for the sentences.
    pub name: String,
    /// The running process. `Drop` kills it and waits for it.
    child: Child,
    /// Each line it prints on stdout; disconnected once it has exited.
    stdout: Receiver<String>,
    /// Each line it prints on stderr; disconnected once it has exited.
    stderr: Receiver<String>,
    /// The stderr lines read so far, to quote when it exits unexpectedly.
    said: Vec<String>,
}

/// Why [`Program::line`] returned no line.
pub enum NoLine {
    /// Nothing for the whole wait.
    Silent,
    /// The program has exited: how, in words.
    Exited(String),
}

impl Program {
    /// Starts `exe` with `args`, stdin closed.
    pub fn start(exe: &Path, name: &str, args: &[&str]) -> io::Result<Program> {
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = lines(child.stdout.take().expect("stdout is piped"));
        let stderr = lines(child.stderr.take().expect("stderr is piped"));
        Ok(Program {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            said: Vec::new(),
        })
    }

    /// Waits for the `listening on ADDR` line on stderr, and returns ADDR.
    pub fn listening(&mut self, see: &See) -> Result<SocketAddr, Failure> {
        let did = format!("Started {} with --port 0", self.name);
        let expected = "the line `listening on ADDR` on stderr";
        let deadline = Instant::now() + PATIENCE;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(wait) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        return addr.trim().parse().map_err(|_| {
                            Failure::new(&did, expected, format!("{line:?}, not an address"), see)
                        });
                    }
                    self.said.push(line);
                }
                Err(RecvTimeoutError::Timeout) => {
                    let got = format!("nothing within {} s", PATIENCE.as_secs());
                    return Err(Failure::new(&did, expected, got, see));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let got = format!("nothing: {}", self.how_it_ended());
                    return Err(Failure::new(&did, expected, got, see));
                }
            }
        }
    }

    /// The next line on stdout, waiting at most `patience`.
    pub fn line(&mut self, patience: Duration) -> Result<String, NoLine> {
        match self.stdout.recv_timeout(patience) {
            Ok(line) => Ok(line),
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
        let got = match self.line(patience) {
            Ok(line) if test(&line) => return Ok(()),
            Ok(line) => show(line.as_bytes()),
            Err(NoLine::Silent) => format!("nothing within {} s", secs(patience)),
            Err(NoLine::Exited(how)) => format!("nothing: {how}"),
        };
        let expected = format!("{} to print {} next", self.name, show(want.as_bytes()));
        Err(Failure::new(did, expected, got, see))
    }

    /// Whether it has exited already, and how.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits at most `patience` for it to exit by itself.
    pub fn wait(&mut self, patience: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            // std has no wait with a timeout: look again shortly.
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// "it exited with code 1 (stderr: "...")", once it has exited; the
    /// process is reaped here.
    pub fn how_it_ended(&mut self) -> String {
        let status = self.wait(Duration::from_secs(1));
        // Its last words, if it printed any (a panic, an error line).
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(200)) {
            self.said.push(line);
        }
        let how = match status {
            Some(status) => match status.code() {
                Some(code) => format!("it exited with code {code}"),
                None => "it was killed by a signal".to_string(),
            },
            None => "it closed its stdout".to_string(),
        };
        match self.said.iter().rev().find(|line| !line.trim().is_empty()) {
            Some(last) => format!("{how} (stderr: {:?})", last.trim()),
            None => how,
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // A server never exits by itself: this is how every run ends.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A channel that receives each line of `pipe` (without its line end,
/// invalid UTF-8 replaced); it disconnects at the end of the pipe.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(pipe.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']).to_string();
            if tx.send(text).is_err() {
                break;
            }
            line.clear();
        }
    });
    rx
}
