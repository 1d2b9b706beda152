//! What every step's checks share: the sentence a failed check prints, and
//! reads with a deadline, so that a program that never answers fails a check
//! instead of hanging the grader.

use crate::lang::{lang, t, Lang};
use std::fmt::{self, Display};
use std::io::{self, ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long the grader waits for anything it expects: far longer than a
/// working program needs, even on a busy machine.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// How long the grader waits to be sure that something does *not* come.
pub const SILENCE: Duration = Duration::from_millis(300);

/// The chapter and the section that explain a check, in each edition:
/// `See("02-tcp.md", "The server, A1", "服务器 A1")`, the chapter's file
/// in `docs/` (and in `docs/zh-CN/`), and the heading of the section in
/// English and in Chinese.
pub struct See(pub &'static str, pub &'static str, pub &'static str);

impl Display for See {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let See(file, en, zh) = self;
        match lang() {
            Lang::En => write!(f, "docs/{file}, \"{en}\""),
            Lang::Zh => write!(f, "docs/zh-CN/{file}，“{zh}”"),
        }
    }
}

/// A failed check: one plain sentence saying what the grader did, what it
/// expected, what it got, and where the course explains it.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    /// "DID and expected EXPECTED, but got GOT. See SEE."
    pub fn new(did: impl Display, expected: impl Display, got: impl Display, see: &See) -> Failure {
        let expected = spaced(expected);
        Failure(t!(
            "{did} and expected {expected}, but got {got}. See {see}.",
            "{did}，期望{expected}，实际得到：{got}。参见 {see}。"
        ))
    }

    /// "DID and expected EXPECTED, but BUT. See SEE.", for what is not a
    /// thing the grader got: "it was still running 6 s later".
    pub fn but(did: impl Display, expected: impl Display, but: impl Display, see: &See) -> Failure {
        let (expected, but) = (spaced(expected), spaced(but));
        Failure(t!(
            "{did} and expected {expected}, but {but}. See {see}.",
            "{did}，期望{expected}，但{but}。参见 {see}。"
        ))
    }

    /// A failure that is not a check's: the program does not build, say.
    pub fn plain(sentence: impl Display) -> Failure {
        Failure(sentence.to_string())
    }
}

/// In Chinese, a phrase that starts with a Latin letter or a digit is set
/// off from the Chinese before it by a space, as the course's Chinese
/// edition writes it: "期望 ch4_server 接下来打印", not "期望ch4_server".
fn spaced(phrase: impl Display) -> String {
    let phrase = phrase.to_string();
    match lang() {
        Lang::Zh if phrase.starts_with(|c: char| c.is_ascii_alphanumeric()) => format!(" {phrase}"),
        _ => phrase,
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
        let len = bytes.len();
        (
            &bytes[..LONGEST],
            t!("... ({len} bytes)", "...（共 {len} 字节）"),
        )
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
        let (shown, len) = (show(bytes), bytes.len());
        t!("{shown} ({len} bytes)", "{shown}（{len} 字节）")
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
        let more = !self.bytes.is_empty();
        let end = match &self.end {
            End::Enough => String::new(),
            End::Fin => t!("the end of the connection (FIN)", "连接的结束（FIN）"),
            End::Silent(wait) => {
                let secs = secs(*wait);
                if more {
                    t!("nothing more within {secs} s", "之后 {secs} 秒内再没有别的")
                } else {
                    t!("nothing within {secs} s", "{secs} 秒内什么也没有")
                }
            }
            End::Failed(e) if e.kind() == ErrorKind::ConnectionReset => {
                t!("a reset (RST)", "一个重置（RST）")
            }
            End::Failed(e) => t!("an error ({e})", "一个错误（{e}）"),
        };
        let bytes = show_len(&self.bytes);
        let said = match (more, end.is_empty()) {
            (false, _) if matches!(self.end, End::Fin) => {
                t!("{end} and no bytes", "{end}，没有任何字节")
            }
            (false, _) => end,
            (true, true) => bytes,
            (true, false) => t!("{bytes}, then {end}", "{bytes}，然后是{end}"),
        };
        f.write_str(&said)
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
            t!("Connected to {addr}", "连接 {addr}"),
            t!("a connection", "连上"),
            t!("an error ({e})", "一个错误（{e}）"),
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
        let shown = show(bytes);
        Failure::new(
            t!("Sent {shown}", "发送 {shown}"),
            t!("the server to take it", "服务器收下它"),
            t!("an error ({e})", "一个错误（{e}）"),
            see,
        )
    })
}
