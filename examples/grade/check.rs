//! What every step's checks share: the sentence a failed check prints, and
//! reads with a deadline, so that a program that never answers fails a check
//! instead of hanging the grader.

use std::fmt::{self, Display};
use std::io::{self, ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long the grader waits for anything it expects: far longer than a
/// working program needs, even on a busy machine.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// How long the grader waits to be sure that something does *not* come.
pub const SILENCE: Duration = Duration::from_millis(300);

/// The chapter and the section that explain a check: `See(CHAPTER, "A1")`.
pub struct See(pub &'static str, pub &'static str);

impl Display for See {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}, \"{}\"", self.0, self.1)
    }
}

/// A failed check: one plain sentence saying what the grader did, what it
/// expected, what it got, and where the course explains it.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    /// "DID and expected EXPECTED, but got GOT. See SEE."
    pub fn new(did: impl Display, expected: impl Display, got: impl Display, see: &See) -> Failure {
        Failure(format!(
            "{did} and expected {expected}, but got {got}. See {see}."
        ))
    }

    /// A failure that is not a check's: the program does not build, say.
    pub fn plain(sentence: impl Display) -> Failure {
        Failure(sentence.to_string())
    }
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bytes as a sentence shows them: `"hello world：\n"` when they are UTF-8,
/// `b"caf\xe9"` when not, cut short when long.
pub fn show(bytes: &[u8]) -> String {
    const LONGEST: usize = 60;
    let (head, more) = if bytes.len() > LONGEST {
        (&bytes[..LONGEST], format!("... ({} bytes)", bytes.len()))
    } else {
        (bytes, String::new())
    };
    // A cut in the middle of a character is not "invalid UTF-8".
    let text = match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        Err(e) if !more.is_empty() && e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    };
    match text {
        Some(text) => format!("{text:?}{more}"),
        None => format!("b\"{}\"{more}", head.escape_ascii()),
    }
}

/// `"hello world：\n" (15 bytes)`
pub fn show_len(bytes: &[u8]) -> String {
    if bytes.len() > 60 {
        show(bytes)
    } else {
        format!("{} ({} bytes)", show(bytes), bytes.len())
    }
}

/// Why a read stopped.
#[derive(Debug)]
pub enum End {
    /// It got enough to judge: every byte it wanted, or one that differs.
    Enough,
    /// The peer sent FIN: `read` returned 0.
    Fin,
    /// Nothing more came before the deadline.
    Silent(Duration),
    /// `read` failed: a reset, most often.
    Failed(io::Error),
}

/// What a read with a deadline heard: the bytes, and why it stopped.
#[derive(Debug)]
pub struct Heard {
    pub bytes: Vec<u8>,
    pub end: End,
}

impl Heard {
    /// Whether the peer reset the connection.
    pub fn reset(&self) -> bool {
        matches!(&self.end, End::Failed(e) if e.kind() == ErrorKind::ConnectionReset)
    }
}

impl Display for Heard {
    /// What a sentence says after "but got".
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let end = match &self.end {
            End::Enough => String::new(),
            End::Fin => "the end of the connection (FIN)".to_string(),
            End::Silent(wait) => format!("nothing{} within {} s", more(self), secs(*wait)),
            End::Failed(e) if e.kind() == ErrorKind::ConnectionReset => "a reset (RST)".to_string(),
            End::Failed(e) => format!("an error ({e})"),
        };
        match (self.bytes.is_empty(), end.is_empty()) {
            (true, _) if matches!(self.end, End::Fin) => write!(f, "{end} and no bytes"),
            (true, _) => write!(f, "{end}"),
            (false, true) => write!(f, "{}", show_len(&self.bytes)),
            (false, false) => write!(f, "{}, then {end}", show_len(&self.bytes)),
        }
    }
}

fn more(heard: &Heard) -> &'static str {
    if heard.bytes.is_empty() {
        ""
    } else {
        " more"
    }
}

/// A duration as a sentence says it: `5`, `0.3`.
pub fn secs(wait: Duration) -> String {
    let secs = wait.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}")
    } else {
        format!("{secs:.1}")
    }
}

/// Reads until `limit` bytes have arrived, or `enough` says that what
/// arrived is enough to judge, or the peer's FIN, an error, or `patience`
/// has passed, whichever comes first.
pub fn read_until(
    stream: &mut TcpStream,
    limit: usize,
    patience: Duration,
    enough: impl Fn(&[u8]) -> bool,
) -> Heard {
    let deadline = Instant::now() + patience;
    let mut bytes = Vec::new();
    let mut buf = [0; 64 * 1024];
    let end = loop {
        if bytes.len() >= limit || enough(&bytes) {
            break End::Enough;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break End::Silent(patience);
        }
        let room = (limit - bytes.len()).min(buf.len());
        match stream.read(&mut buf[..room]) {
            Ok(0) => break End::Fin,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break End::Silent(patience)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => break End::Failed(e),
        }
    };
    Heard { bytes, end }
}

/// Reads exactly `want`; `Err` with what it heard instead.
pub fn read_exactly(stream: &mut TcpStream, want: &[u8]) -> Result<(), Heard> {
    // A byte that differs is enough: no need to wait for the rest.
    let heard = read_until(stream, want.len(), PATIENCE, |bytes| {
        !want.starts_with(bytes)
    });
    if heard.bytes == want {
        Ok(())
    } else {
        Err(heard)
    }
}

/// Waits for the peer's FIN; `Err` with what came instead (bytes, a reset,
/// or nothing).
pub fn read_fin(stream: &mut TcpStream) -> Result<(), Heard> {
    // Any byte at all is wrong; 64 KiB of them is enough to say so.
    let heard = read_until(stream, 64 * 1024, PATIENCE, |bytes| !bytes.is_empty());
    match heard.end {
        End::Fin if heard.bytes.is_empty() => Ok(()),
        _ => Err(heard),
    }
}

/// A client of the learner's server, with deadlines on its writes.
pub fn connect(addr: SocketAddr, see: &See) -> Result<TcpStream, Failure> {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE).map_err(|e| {
        Failure::new(
            format!("Connected to {addr}"),
            "a connection",
            format!("an error ({e})"),
            see,
        )
    })?;
    let _ = stream.set_write_timeout(Some(PATIENCE));
    Ok(stream)
}

/// Writes all of `bytes`; an error becomes a sentence.
pub fn send(stream: &mut TcpStream, bytes: &[u8], see: &See) -> Result<(), Failure> {
    use std::io::Write;
    stream.write_all(bytes).map_err(|e| {
        Failure::new(
            format!("Sent {}", show(bytes)),
            "the server to take it",
            format!("an error ({e})"),
            see,
        )
    })
}
