//! The workshop's grader. `cargo run --example grade -- ch2-server` builds
//! your program for that step (in `examples/workshop/`), starts it, and
//! checks it over loopback sockets the way a Node developer's clients would:
//! one check at a time, stopping at the first that fails, with one sentence
//! that says what the grader sent, what it expected, what it got, and which
//! section of the course explains it. With no step it lists them all, and
//! which ones pass. docs/workshop.md describes every step.
//!
//! Every wait has a deadline, and the program under test is killed when its
//! grading ends, whatever happened: a server that never answers fails a check,
//! it does not hang the grader.
//!
//! Options, mostly for the tests: `--exe PATH` grades a program that is
//! already built instead of building the step's example; `--progress FILE`
//! keeps the progress in FILE instead of `target/workshop-progress`.

#[path = "../common/mod.rs"]
mod common;

mod ch2;
mod ch3;
mod ch4;
mod ch5;
mod check;
mod program;
mod progress;

use check::{Failure, See};
use common::OrExit;
use program::Program;
use progress::Progress;
use std::cell::Cell;
use std::env;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{self, Command};

/// One program for the learner to write, and how to grade it.
struct Step {
    /// What the learner types: `ch2-server`.
    name: &'static str,
    /// The cargo example it is: `ch2_server`, in `examples/workshop/`.
    example: &'static str,
    /// What it is, in a few words.
    what: &'static str,
    /// The checks, in order; the first failure ends them.
    grade: fn(&Grader) -> Result<(), Failure>,
}

/// Every step, in the order of the course.
const STEPS: &[Step] = &[
    Step {
        name: "ch2-server",
        example: "ch2_server",
        what: "chapter 2: the greeting server, A1",
        grade: ch2::server,
    },
    Step {
        name: "ch2-client",
        example: "ch2_client",
        what: "chapter 2: its client, A2",
        grade: ch2::client,
    },
    Step {
        name: "ch3-events",
        example: "ch3_events",
        what: "chapter 3: a server that prints its events",
        grade: ch3::events,
    },
    Step {
        name: "ch4-server",
        example: "ch4_server",
        what: "chapter 4: a UDP server that answers, A3",
        grade: ch4::server,
    },
    Step {
        name: "ch4-client",
        example: "ch4_client",
        what: "chapter 4: a UDP client that waits for the answer, A4",
        grade: ch4::client,
    },
    Step {
        name: "ch5-chat",
        example: "ch5_chat",
        what: "chapter 5: the chat room, from an empty file",
        grade: ch5::chat,
    },
];

/// What a step's checks work with: the program under test, and the lines
/// the grader prints as checks pass.
pub struct Grader {
    /// The learner's program, built.
    exe: PathBuf,
    /// Its example name, for the sentences: `ch2_server`.
    pub name: &'static str,
    /// Whether "it listens" has been said (a step may start the program
    /// more than once).
    listened: Cell<bool>,
}

impl Grader {
    /// Says that a check passed.
    pub fn ok(&self, what: impl Display) {
        println!("  ok: {what}");
    }

    /// Starts the program with `args`.
    pub fn start(&self, args: &[&str]) -> Result<Program, Failure> {
        Program::start(&self.exe, self.name, args)
            .map_err(|e| Failure::plain(format!("Could not start {}: {e}.", self.exe.display())))
    }

    /// Starts the program as a server on a port of the kernel's choosing,
    /// and waits until it listens.
    pub fn server(&self, see: &See) -> Result<(Program, SocketAddr), Failure> {
        let mut server = self.start(&["--host", "127.0.0.1", "--port", "0"])?;
        let addr = server.listening(see)?;
        if !self.listened.replace(true) {
            self.ok(format_args!("it listens: listening on {addr}"));
        }
        Ok((server, addr))
    }
}

/// The command line.
struct Args {
    step: Option<String>,
    exe: Option<PathBuf>,
    progress: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut args = Args {
        step: None,
        exe: None,
        progress: None,
    };
    let mut words = env::args().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--exe" => args.exe = Some(words.next().or_exit("--exe needs a path").into()),
            "--progress" => {
                args.progress = Some(words.next().or_exit("--progress needs a path").into())
            }
            "-h" | "--help" => {
                println!(
                    "usage: cargo run --example grade -- [STEP] [--exe PATH] [--progress FILE]"
                );
                println!("With no STEP, lists the steps and which ones pass.");
                process::exit(0);
            }
            _ if word.starts_with('-') => common::fail(format!("unknown option '{word}'")),
            _ if args.step.is_none() => args.step = Some(word),
            _ => common::fail(format!("one step at a time, not '{word}' too")),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    let grader = env::current_exe().or_exit("cannot find the grader's own path");
    let progress = match args.progress {
        Some(path) => Progress::at(path),
        None => Progress::in_target_dir(&grader).or_exit("cannot find the target directory"),
    };
    let Some(name) = args.step else {
        list(&progress);
        return;
    };
    let Some(step) = STEPS.iter().find(|step| step.name == name) else {
        let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
        common::fail(format!(
            "no step '{name}'; the steps are {}",
            names.join(", ")
        ))
    };

    let source = format!("examples/workshop/{}.rs", step.example);
    println!("grading {}: {} ({source})", step.name, step.what);
    let result = match args.exe {
        Some(exe) => Ok(exe),
        None => build(&grader, step.example),
    }
    .and_then(|exe| {
        (step.grade)(&Grader {
            exe,
            name: step.example,
            listened: Cell::new(false),
        })
    });
    let passes = result.is_ok();
    if let Err(e) = progress.record(step.name, passes) {
        eprintln!("grade: cannot record the progress: {e}");
    }
    match result {
        Ok(()) => {
            println!();
            println!("{} passes.{}", step.name, next(&progress));
        }
        Err(failure) => {
            println!("  not yet: {failure}");
            println!();
            println!(
                "{} does not pass yet: fix what the line above says in {source}, then grade it again.",
                step.name
            );
            process::exit(1);
        }
    }
}

/// Builds the step's example with the cargo that runs the grader, in the
/// grader's own profile, so that it lands beside the grader.
fn build(grader: &Path, example: &str) -> Result<PathBuf, Failure> {
    let examples = grader.parent().or_exit("the grader's directory");
    // target/<profile>/examples: "debug" is the dev profile's directory.
    let profile = match examples.parent().and_then(Path::file_name) {
        Some(dir) if dir == "debug" => "dev".to_string(),
        Some(dir) => dir.to_string_lossy().into_owned(),
        None => "dev".to_string(),
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // `cargo run` says where the project is; the grader's own build knew too.
    let project = env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
    let manifest = Path::new(&project).join("Cargo.toml");
    println!("building it: cargo build --example {example}");
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--profile",
            &profile,
            "--example",
            example,
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .status();
    match status {
        Ok(status) if status.success() => {
            Ok(examples.join(format!("{example}{}", env::consts::EXE_SUFFIX)))
        }
        Ok(_) => Err(Failure::plain(
            "It does not compile yet: cargo's messages above say why.",
        )),
        Err(e) => Err(Failure::plain(format!("Could not run cargo: {e}."))),
    }
}

/// Every step, and which ones pass.
fn list(progress: &Progress) {
    let passed = progress.passed();
    println!("The workshop: write each program yourself, then grade it (docs/workshop.md).");
    println!();
    for step in STEPS {
        let mark = if passed.contains(step.name) { "x" } else { " " };
        let source = format!("examples/workshop/{}.rs", step.example);
        println!("  [{mark}] {:<11} {source:<33} {}", step.name, step.what);
    }
    let count = STEPS
        .iter()
        .filter(|step| passed.contains(step.name))
        .count();
    println!();
    println!("{count} of {} steps pass.{}", STEPS.len(), next(progress));
}

/// What to do next: the first step that does not pass yet.
fn next(progress: &Progress) -> String {
    let passed = progress.passed();
    match STEPS.iter().find(|step| !passed.contains(step.name)) {
        Some(step) => format!(" Next: cargo run --example grade -- {}", step.name),
        None => " Every step passes: well done.".to_string(),
    }
}
