//! Helpers shared by the integration tests: clients with timeouts, and the
//! example binaries run as child processes.
//!
//! Every wait here has a deadline ([`TIMEOUT`]), so a broken server fails a
//! test with a message instead of hanging the suite.

// Each test file uses only part of this file.
#![allow(dead_code)]

pub mod room;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// The longest any test waits for one thing: generous, because a loaded CI
/// machine is slow, and never reached when things work.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A plain `std` client, with [`TIMEOUT`] on its reads and writes.
pub fn connect(addr: impl ToSocketAddrs) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// A connected pair on loopback, through `listener`: (the server's end, as
/// `accept` returns it, the client's end, from [`connect`]).
pub fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let client = connect(listener.local_addr().unwrap());
    let (server, _) = listener.accept().unwrap();
    (server, client)
}

/// Reads exactly `n` bytes (or fails the test at the timeout).
pub fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).expect("read_exact");
    buf
}

/// Reads until the peer's FIN (or fails the test at the timeout).
pub fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).expect("read_to_end");
    buf
}

/// Where `cargo test` put the example `name`: the test binary is
/// `target/<profile>/deps/<test>`, the examples are in
/// `target/<profile>/examples/` (assert_cmd only finds `[[bin]]` targets).
pub fn example(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().expect("current_exe");
    path.pop(); // the test binary
    path.pop(); // deps/
    path.push("examples");
    path.push(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: `cargo test` builds the examples, `cargo test --test X` alone does not",
        path.display()
    );
    path
}

/// An example that runs to completion, driven by assert_cmd, with a timeout.
pub fn run(name: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(example(name));
    command.timeout(TIMEOUT);
    command
}

/// An example server (or any long-running example) as a child process.
/// Its stdout and stderr are read line by line on threads of their own, so
/// the child never blocks on a full pipe; it is killed when dropped, so a
/// failing assertion does not leak it.
pub struct Running {
    child: Child,
    /// The address from its `listening on ADDR` line, for servers.
    pub addr: Option<SocketAddr>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Running {
    /// Starts the server example `name` on port 0 and waits for its
    /// `listening on ADDR` line on stderr.
    pub fn server(name: &str, args: &[&str]) -> Running {
        let mut running = Running::start(name, &[&["--port", "0"], args].concat());
        running.listening();
        running
    }

    /// Starts the example `name` with `args`, stdin piped.
    pub fn start(name: &str, args: &[&str]) -> Running {
        let mut command = Command::new(example(name));
        command.args(args);
        Running::spawn(command)
    }

    /// Starts any program (a Node program, say), its three streams piped.
    pub fn spawn(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Running {
            child,
            addr: None,
            stdout,
            stderr,
        }
    }

    /// Waits for a server's `listening on ADDR` line on stderr, and keeps
    /// and returns its address.
    pub fn listening(&mut self) -> SocketAddr {
        let line = self.stderr_line();
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("expected `listening on ADDR`, got {line:?}"));
        self.addr = Some(addr);
        addr
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's port, as a flag value for a client.
    pub fn port(&self) -> String {
        self.addr.expect("a server").port().to_string()
    }

    /// The next line the child prints on stdout.
    pub fn line(&self) -> String {
        self.stdout
            .recv_timeout(TIMEOUT)
            .expect("a line on stdout before the timeout")
    }

    /// The next line the child has printed on stdout, if it has printed one
    /// that was not read yet; `None` at once otherwise.
    pub fn try_line(&self) -> Option<String> {
        self.stdout.try_recv().ok()
    }

    /// The next line the child prints on stderr.
    pub fn stderr_line(&self) -> String {
        self.stderr
            .recv_timeout(TIMEOUT)
            .expect("a line on stderr before the timeout")
    }

    /// The child's stdin, to type into.
    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.child.stdin.as_mut().expect("stdin is piped")
    }

    /// Closes the child's stdin (end of input).
    pub fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Waits for the child to exit by itself and returns its exit code,
    /// with every line it printed on stdout that was not read yet.
    pub fn wait(mut self) -> (Option<i32>, Vec<String>) {
        let mut rest = Vec::new();
        loop {
            match self.stdout.recv_timeout(TIMEOUT) {
                Ok(line) => rest.push(line),
                // stdout closed: the child has exited (or is about to).
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the example did not exit within {TIMEOUT:?}")
                }
            }
        }
        let status = self.child.wait().expect("wait for the child");
        (status.code(), rest)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A channel that receives each line of `pipe` (without its `\n`, invalid
/// UTF-8 replaced); it disconnects at EOF.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(pipe.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            if line.ends_with(b"\n") {
                line.pop();
            }
            if tx
                .send(String::from_utf8_lossy(&line).into_owned())
                .is_err()
            {
                break;
            }
            line.clear();
        }
    });
    rx
}

/// Asserts that an example failed as every example must: a one-line error
/// on stderr that contains `message`, exit code 1, and no panic.
pub fn assert_fails_cleanly(output: &std::process::Output, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Asserts that the example `name` failed cleanly at `what`: exit code 1,
/// and one line on stderr, `NAME: WHAT: ERROR`, with no panic.
///
/// NAME is the program's file name (`tcp_client`, `tcp_client.exe` on
/// Windows) and WHAT the example's own words. ERROR is the operating
/// system's sentence, which Linux, macOS and Windows word differently (and
/// translate), so only its presence is checked here; the library's tests
/// check the error's `io::ErrorKind`.
pub fn assert_fails_at(output: &std::process::Output, name: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let prefix = format!("{name}{}: {what}: ", std::env::consts::EXE_SUFFIX);
    let error = stderr.strip_prefix(&prefix).unwrap_or_default();
    assert!(
        output.status.code() == Some(1)
            && stderr.lines().count() == 1
            && !stderr.contains("panicked")
            && !error.trim().is_empty(),
        "expected `{prefix}ERROR` and exit code 1, got {stderr:?} and {}",
        output.status,
    );
}

/// Asserts that a second copy of the server example `name`, on the port the
/// first one holds, fails cleanly at `cannot listen on ADDR` (the kernel
/// said `AddrInUse`; its words for that are the OS's).
pub fn assert_second_server_fails_cleanly(name: &str) {
    let first = Running::server(name, &[]);
    let addr = first.addr.expect("a server");
    let output = run(name)
        .args(["--port", &first.port()])
        .output()
        .expect("run the second server");
    assert_fails_at(&output, name, &format!("cannot listen on {addr}"));
}

/// The operating system's number for "message too long": a datagram too
/// large to send, or (on Windows) to receive whole. `std` has no
/// `io::ErrorKind` for it, so tests compare the raw OS error: `EMSGSIZE` is
/// 90 on Linux and 40 on macOS (and the BSDs), `WSAEMSGSIZE` is 10040.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const EMSGSIZE: i32 = 90;
#[cfg(windows)]
pub const EMSGSIZE: i32 = 10040;
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
pub const EMSGSIZE: i32 = 40;

/// Runs `attempt` with a port that nothing listened on a moment ago, and
/// again with another while it returns `None`, up to ten times. "A moment
/// ago" is not "now": another test may bind the port in between, or the
/// kernel may pick it as a connecting socket's own port. A test that needs
/// a closed port returns `None` when what it saw says the port was taken.
pub fn with_closed_port<T>(mut attempt: impl FnMut(u16) -> Option<T>) -> T {
    for _ in 0..10 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind port 0")
            .local_addr()
            .expect("local_addr")
            .port();
        if let Some(result) = attempt(port) {
            return result;
        }
    }
    panic!("no port stayed closed in ten tries");
}
