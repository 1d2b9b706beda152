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
//! it does not hang the grader. A program that crashes, or whose thread
//! panics, during a check is named so, with what it printed on stderr.
//!
//! Options: `--lang en|zh` picks the language of every sentence (the
//! locale's, `LANG=zh_CN.UTF-8` say, when not given; English otherwise).
//! `--exe PATH` grades a program that is already built instead of building
//! the step's example, and records no progress (it is not the learner's
//! file that was graded). `--progress FILE`, for the tests, keeps the
//! progress in FILE instead of `target/workshop-progress`.

#[path = "../common/mod.rs"]
mod common;

mod ch2;
mod ch3;
mod ch4;
mod ch5;
mod check;
mod lang;
mod proc;
mod program;
mod progress;

use check::{Failure, See};
use common::OrExit;
use lang::{t, Lang};
use proc::Transport;
use program::{CrashKind, Park, Program};
use progress::Progress;
use std::cell::{Cell, RefCell};
use std::env;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{self, Command};
use std::time::{Duration, Instant};

/// One program for the learner to write, and how to grade it.
struct Step {
    /// What the learner types: `ch2-server`.
    name: &'static str,
    /// The cargo example it is: `ch2_server`, in `examples/workshop/`.
    example: &'static str,
    /// What it is, in a few words.
    what: fn() -> String,
    /// What it listens with, if it is a server.
    transport: Transport,
    /// The checks, in order; the first failure ends them.
    grade: fn(&Grader) -> Result<(), Failure>,
}

/// Every step, in the order of the course.
const STEPS: &[Step] = &[
    Step {
        name: "ch2-server",
        example: "ch2_server",
        what: || {
            t!(
                "chapter 2: the greeting server, A1",
                "第 2 章：问候服务器 A1"
            )
        },
        transport: Transport::Tcp,
        grade: ch2::server,
    },
    Step {
        name: "ch2-client",
        example: "ch2_client",
        what: || t!("chapter 2: its client, A2", "第 2 章：它的客户端 A2"),
        transport: Transport::Tcp,
        grade: ch2::client,
    },
    Step {
        name: "ch3-events",
        example: "ch3_events",
        what: || {
            t!(
                "chapter 3: a server that prints its events",
                "第 3 章：打印自己事件的服务器"
            )
        },
        transport: Transport::Tcp,
        grade: ch3::events,
    },
    Step {
        name: "ch4-server",
        example: "ch4_server",
        what: || {
            t!(
                "chapter 4: a UDP server that answers, A3",
                "第 4 章：会回应的 UDP 服务器 A3"
            )
        },
        transport: Transport::Udp,
        grade: ch4::server,
    },
    Step {
        name: "ch4-client",
        example: "ch4_client",
        what: || {
            t!(
                "chapter 4: a UDP client that waits for the answer, A4",
                "第 4 章：等待回应的 UDP 客户端 A4"
            )
        },
        transport: Transport::Udp,
        grade: ch4::client,
    },
    Step {
        name: "ch5-chat",
        example: "ch5_chat",
        what: || {
            t!(
                "chapter 5: the chat room, from an empty file",
                "第 5 章：聊天室，从空文件写起"
            )
        },
        transport: Transport::Tcp,
        grade: ch5::chat,
    },
];

/// What a step's checks work with: the program under test, the check
/// under way, and the programs that checks are done with.
pub struct Grader {
    /// The learner's program, built.
    exe: PathBuf,
    /// Its example name, for the sentences: `ch2_server`.
    pub name: &'static str,
    /// What a server of this step listens with.
    transport: Transport,
    /// Whether "it listens" has been said (a step may start the program
    /// more than once).
    listened: Cell<bool>,
    /// What the check under way checks: its `ok` line, once it passes.
    check: RefCell<String>,
    /// When the last check passed: a crash report shows what the program
    /// printed on stderr after it.
    passed_at: Cell<Instant>,
    /// The programs the checks are done with, until they are killed.
    park: Park,
    /// How many programs have been started.
    started: Cell<usize>,
}

impl Grader {
    /// Names the check that starts now: what its `ok` line will say.
    pub fn check(&self, what: String) {
        *self.check.borrow_mut() = what;
    }

    /// Adds `more` to what the check under way says when it passes.
    pub fn check_more(&self, more: String) {
        self.check.borrow_mut().push_str(&more);
    }

    /// Says that the check under way passed.
    pub fn ok(&self) {
        let check = self.check.borrow();
        println!("{}", t!("  ok: {check}", "  通过：{check}"));
        self.passed_at.set(Instant::now());
    }

    /// Starts the program with `args`, once the programs that checks are
    /// done with are killed.
    pub fn start(&self, args: &[&str]) -> Result<Program, Failure> {
        program::clear(&self.park);
        self.started.set(self.started.get() + 1);
        Program::start(&self.exe, self.name, args, &self.park, self.started.get()).map_err(|e| {
            let exe = self.exe.display();
            Failure::plain(t!("Could not start {exe}: {e}.", "无法启动 {exe}：{e}。"))
        })
    }

    /// Starts the program as a server on a port of the kernel's choosing,
    /// waits until it listens, and checks that the port it printed is its
    /// own.
    pub fn server(&self, see: &See) -> Result<(Program, SocketAddr), Failure> {
        let first = !self.listened.get();
        let check = if first {
            let listens = t!("it listens", "它在监听");
            Some(self.check.replace(listens))
        } else {
            None
        };
        let mut server = self.start(&["--host", "127.0.0.1", "--port", "0"])?;
        let addr = server.listening(see)?;
        let checked = self.own_port(&mut server, addr, see)?;
        if let Some(check) = check {
            self.listened.set(true);
            let listens = match checked {
                // It has exited already: the next check says so.
                Some(_) | None if server.exited().is_some() => {
                    t!(
                        "it listens: listening on {addr}",
                        "它在监听：listening on {addr}"
                    )
                }
                Some(()) => t!(
                    "it listens: listening on {addr}",
                    "它在监听：listening on {addr}"
                ),
                None if cfg!(target_os = "linux") => t!(
                    "it listens: listening on {addr} (whether that port is its own was not \
                     checked: /proc did not tell)",
                    "它在监听：listening on {addr}（没有检查这个端口是不是它自己的：\
                     /proc 没有给出答案）"
                ),
                None => t!(
                    "it listens: listening on {addr} (whether that port is its own was not \
                     checked: that needs Linux's /proc)",
                    "它在监听：listening on {addr}（没有检查这个端口是不是它自己的：\
                     那需要 Linux 的 /proc）"
                ),
            };
            self.check(listens);
            self.ok();
            self.check(check);
        }
        Ok((server, addr))
    }

    /// The port the server printed must be one it listens on itself, not
    /// another program's. `Ok(None)` where the OS cannot tell.
    fn own_port(
        &self,
        server: &mut Program,
        addr: SocketAddr,
        see: &See,
    ) -> Result<Option<()>, Failure> {
        let Some(ports) = proc::own_ports(server.pid(), self.transport) else {
            if cfg!(target_os = "linux") {
                // /proc has it unless it is exiting: give it a moment to.
                server.wait(Duration::from_secs(1));
            }
            return Ok(None);
        };
        if ports.contains(&addr.port()) {
            return Ok(Some(()));
        }
        if server.wait(Duration::from_secs(1)).is_some() {
            // It was exiting, and closing its sockets as it went: the next
            // check says that it exited.
            return Ok(None);
        }
        let (name, port) = (self.name, addr.port());
        let listens = match (self.transport, ports.as_slice()) {
            (Transport::Tcp, []) => t!(
                "it listens on no TCP port at all",
                "它根本没有监听任何 TCP 端口"
            ),
            (Transport::Udp, []) => t!(
                "it is bound to no UDP port at all",
                "它根本没有绑定任何 UDP 端口"
            ),
            (_, ports) => {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                let ports = ports.join(", ");
                t!("its own ports are {ports}", "它自己的端口是 {ports}")
            }
        };
        Err(Failure::but(
            t!("Started {name} with --port 0", "用 --port 0 启动 {name}"),
            t!(
                "it to listen on the port it printed",
                "它在自己打印的端口上监听"
            ),
            t!(
                "it printed \"listening on {addr}\" and port {port} is not its own: \
                 {listens}. Whatever answers on {port} is another program; print the \
                 address your socket has, from local_addr()",
                "它打印了 \"listening on {addr}\"，而端口 {port} 不是它自己的：{listens}。\
                 在 {port} 上应答的是别的程序；请打印你的套接字真正的地址，用 local_addr() 得到"
            ),
            see,
        ))
    }
}

/// The command line.
struct Args {
    step: Option<String>,
    exe: Option<PathBuf>,
    progress: Option<PathBuf>,
    lang: Option<Lang>,
}

fn parse_args() -> Args {
    let mut args = Args {
        step: None,
        exe: None,
        progress: None,
        lang: None,
    };
    let words: Vec<String> = env::args().skip(1).collect();
    // The language first: every error after it is in that language.
    if let Some(at) = words.iter().position(|word| word == "--lang") {
        let word = words.get(at + 1).map(String::as_str).unwrap_or("");
        args.lang = Some(Lang::parse(word).unwrap_or_else(|| {
            common::fail(format_args!(
                "--lang needs en or zh, not '{word}' (--lang 需要 en 或 zh)"
            ))
        }));
    }
    lang::set(args.lang.unwrap_or_else(Lang::from_locale));
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--lang" => {
                words.next();
            }
            "--exe" => {
                let path = words
                    .next()
                    .or_exit(t!("--exe needs a path", "--exe 需要一个路径"));
                args.exe = Some(path.into());
            }
            "--progress" => {
                let path = words
                    .next()
                    .or_exit(t!("--progress needs a path", "--progress 需要一个路径"));
                args.progress = Some(path.into());
            }
            "-h" | "--help" => {
                println!(
                    "{}",
                    t!(
                        "usage: cargo run --example grade -- [STEP] [--lang en|zh] [--exe PATH] \
                         [--progress FILE]\n\
                         With no STEP, lists the steps and which ones pass. --exe grades a \
                         program already built, and records no progress.",
                        "用法：cargo run --example grade -- [步骤] [--lang en|zh] [--exe 路径] \
                         [--progress 文件]\n\
                         不给步骤时，列出所有步骤以及哪些已经通过。--exe 给一个已经构建好的程序评分，\
                         不记录进度。"
                    )
                );
                process::exit(0);
            }
            _ if word.starts_with('-') => {
                common::fail(t!("unknown option '{word}'", "未知的选项 '{word}'"))
            }
            _ if args.step.is_none() => args.step = Some(word),
            _ => common::fail(t!(
                "one step at a time, not '{word}' too",
                "一次只评一个步骤，不能再加上 '{word}'"
            )),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    let grader = env::current_exe().or_exit(t!(
        "cannot find the grader's own path",
        "找不到评分器自己的路径"
    ));
    let progress = match args.progress {
        Some(path) => Progress::at(path),
        None => Progress::in_target_dir(&grader)
            .or_exit(t!("cannot find the target directory", "找不到 target 目录")),
    };
    let Some(name) = args.step else {
        list(&progress);
        return;
    };
    let Some(step) = STEPS.iter().find(|step| step.name == name) else {
        let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
        let names = names.join(", ");
        common::fail(t!(
            "no step '{name}'; the steps are {names}",
            "没有步骤 '{name}'；步骤有 {names}"
        ))
    };

    let source = format!("examples/workshop/{}.rs", step.example);
    let (step_name, what) = (step.name, (step.what)());
    println!(
        "{}",
        t!(
            "grading {step_name}: {what} ({source})",
            "评分 {step_name}：{what}（{source}）"
        )
    );
    let result = match &args.exe {
        Some(exe) => Ok(exe.clone()),
        None => build(&grader, step.example),
    }
    .map_err(|failure| vec![t!("  not yet: {failure}", "  还没通过：{failure}")])
    .and_then(|exe| {
        let g = Grader {
            exe,
            name: step.example,
            transport: step.transport,
            listened: Cell::new(false),
            check: RefCell::new(String::new()),
            passed_at: Cell::new(Instant::now()),
            park: Park::default(),
            started: Cell::new(0),
        };
        let result = (step.grade)(&g).map_err(|failure| explain(&g, failure));
        program::clear(&g.park);
        result
    });
    let graded_with_exe = args.exe.is_some();
    if !graded_with_exe {
        if let Err(e) = progress.record(step.name, result.is_ok()) {
            eprintln!(
                "{}",
                t!(
                    "grade: cannot record the progress: {e}",
                    "grade：无法记录进度：{e}"
                )
            );
        }
    }
    let passes = result.is_ok();
    match result {
        Ok(()) => {
            println!();
            if graded_with_exe {
                println!("{}", t!("{step_name} passes.", "{step_name} 通过了。"));
            } else {
                let next = next(&progress);
                println!(
                    "{}",
                    t!("{step_name} passes. {next}", "{step_name} 通过了。{next}")
                );
            }
        }
        Err(lines) => {
            for line in lines {
                println!("{line}");
            }
            println!();
            println!(
                "{}",
                t!(
                    "{step_name} does not pass yet: fix what the line above says in {source}, \
                     then grade it again.",
                    "{step_name} 还没有通过：按上面那句话说的，修改 {source}，然后再评一次分。"
                )
            );
        }
    }
    if graded_with_exe {
        println!(
            "{}",
            t!(
                "Graded with --exe, so your progress was not changed: only `cargo run \
                 --example grade -- {step_name}`, which builds your own {source}, records it.",
                "这次用 --exe 评分，所以你的进度没有改动：只有 `cargo run --example grade -- \
                 {step_name}`（它构建的是你自己的 {source}）才会记录进度。"
            )
        );
    }
    if !passes {
        process::exit(1);
    }
}

/// The lines that say why a step does not pass: the failure, and, when the
/// program crashed or a thread of it panicked during the check, that first,
/// with what it printed on stderr.
fn explain(g: &Grader, failure: Failure) -> Vec<String> {
    let Some(crash) = program::crash(&g.park, g.passed_at.get()) else {
        return vec![t!("  not yet: {failure}", "  还没通过：{failure}")];
    };
    let (name, check) = (g.name, g.check.borrow().clone());
    let how = match crash.how {
        CrashKind::Exited(status) => match (status.code(), program::signal(status)) {
            (Some(101), _) => t!(
                "{name} crashed (exit code 101: a panic) during the check \"{check}\".",
                "{name} 在检查“{check}”时崩溃了（退出码 101：panic）。"
            ),
            (Some(code), _) => t!(
                "{name} stopped (exit code {code}) during the check \"{check}\".",
                "{name} 在检查“{check}”时停止了（退出码 {code}）。"
            ),
            (None, Some(signal)) => t!(
                "{name} crashed (killed by signal {signal}) during the check \"{check}\".",
                "{name} 在检查“{check}”时崩溃了（被信号 {signal} 杀死）。"
            ),
            (None, None) => t!(
                "{name} crashed during the check \"{check}\".",
                "{name} 在检查“{check}”时崩溃了。"
            ),
        },
        CrashKind::ThreadPanicked => t!(
            "A thread of {name} panicked during the check \"{check}\" (the program went on \
             running).",
            "{name} 的一个线程在检查“{check}”时 panic 了（程序本身还在运行）。"
        ),
    };
    let mut lines = Vec::new();
    if crash.said.is_empty() {
        let nothing = t!(
            "It printed nothing on stderr since the last check passed.",
            "上一项检查通过之后，它没有在 stderr 上打印任何东西。"
        );
        lines.push(t!(
            "  not yet: {how} {nothing}",
            "  还没通过：{how}{nothing}"
        ));
    } else {
        let printed = t!(
            "What it printed on stderr since the last check passed:",
            "上一项检查通过之后，它在 stderr 上打印了："
        );
        lines.push(t!(
            "  not yet: {how} {printed}",
            "  还没通过：{how}{printed}"
        ));
        if crash.left_out > 0 {
            let left_out = crash.left_out;
            lines.push(format!(
                "    | {}",
                t!(
                    "({left_out} lines before these left out)",
                    "（前面还有 {left_out} 行，略去）"
                )
            ));
        }
        for line in &crash.said {
            lines.push(format!("    | {line}"));
        }
    }
    if crash.said.iter().any(|line| in_use(line)) {
        lines.push(format!(
            "  {}",
            t!(
                "The grader starts it with --port 0, for which the kernel picks a free port: \
                 an address in use means it listens on a port of its own choosing. Listen on \
                 args.addr().",
                "评分器用 --port 0 启动它，这时由内核挑一个空闲的端口：地址已被占用，\
                 说明它监听的是自己选的端口。请监听 args.addr()。"
            )
        ));
    }
    lines.push(format!(
        "  {}",
        t!(
            "What the check saw: {failure}",
            "这项检查看到的是：{failure}"
        )
    ));
    lines
}

/// Whether a line of stderr says that an address is in use (Linux, macOS,
/// Windows).
fn in_use(line: &str) -> bool {
    [
        "Address already in use",
        "os error 98)",
        "os error 48)",
        "os error 10048)",
    ]
    .iter()
    .any(|words| line.contains(words))
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
    println!(
        "{}",
        t!(
            "building it: cargo build --features workshop --example {example}",
            "构建它：cargo build --features workshop --example {example}"
        )
    );
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--profile",
            &profile,
            "--features",
            "workshop",
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
        Ok(_) => Err(Failure::plain(t!(
            "It does not compile yet: cargo's messages above say why.",
            "它还编译不过：上面 cargo 的报错说明了原因。"
        ))),
        Err(e) => Err(Failure::plain(t!(
            "Could not run cargo: {e}.",
            "无法运行 cargo：{e}。"
        ))),
    }
}

/// Every step, and which ones pass.
fn list(progress: &Progress) {
    let passed = progress.passed();
    println!(
        "{}",
        t!(
            "The workshop: write each program yourself, then grade it (docs/workshop.md).",
            "动手练习：每个程序都由你自己来写，然后给它评分（docs/zh-CN/workshop.md）。"
        )
    );
    println!();
    for step in STEPS {
        let mark = if passed.contains(step.name) { "x" } else { " " };
        let source = format!("examples/workshop/{}.rs", step.example);
        println!(
            "  [{mark}] {:<11} {source:<33} {}",
            step.name,
            (step.what)()
        );
    }
    let count = STEPS
        .iter()
        .filter(|step| passed.contains(step.name))
        .count();
    let all = STEPS.len();
    println!();
    let next = next(progress);
    println!(
        "{}",
        t!(
            "{count} of {all} steps pass. {next}",
            "{all} 个步骤中通过了 {count} 个。{next}"
        )
    );
}

/// What to do next: the first step that does not pass yet.
fn next(progress: &Progress) -> String {
    let passed = progress.passed();
    match STEPS.iter().find(|step| !passed.contains(step.name)) {
        Some(step) => {
            let name = step.name;
            t!(
                "Next: cargo run --example grade -- {name}",
                "下一步：cargo run --example grade -- {name}"
            )
        }
        None => t!(
            "Every step passes: well done.",
            "每个步骤都通过了：干得好。"
        ),
    }
}
