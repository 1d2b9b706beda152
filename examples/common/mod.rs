//! What every example needs and the Node snippets get for free: the
//! `--host`/`--port` flags, and a one-line error with exit code 1 instead of a
//! panic. Each example includes this file with `mod common;`.

// Each example uses only part of this file.
#![allow(dead_code)]

use std::fmt::Display;
use std::process;

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

/// Ends the program with `NAME: WHAT: ERROR` on stderr and exit code 1.
pub fn fail(what: impl Display) -> ! {
    eprintln!("{}: {what}", program());
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
