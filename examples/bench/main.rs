//! The benchmark: how fast is a thread per connection?
//!
//! ```text
//! cargo run --release --example bench -- SCENARIO [--clients N] [--messages M]
//!           [--runs R] [--node] [--addr HOST:PORT] [--quick]
//! ```
//!
//! SCENARIO is `echo`, `chat`, `udp`, `conns` or `all`:
//!
//! - `echo`: N clients each make M round trips to doc A's TCP server (send a
//!   small message, wait for `你好`): round trips per second, p50 and p99.
//! - `chat`: N clients each send M lines into doc B's chat room while each
//!   counts what it receives: deliveries per second, and how many were lost.
//! - `udp`: M datagrams from N sender threads to doc A's UDP server:
//!   datagrams received per second, and how many of those sent arrived.
//! - `conns`: N chat clients connect and stay, then one line goes to all:
//!   the time to connect them all, the time for the line to reach them all,
//!   and the server's memory per connection.
//! - `stall`: three clients in the chat room: one that never reads (then,
//!   in a second run, one that reads 2 KB a second), a talker that sends
//!   10 MB in 1,000-byte lines, and a listener: the listener's longest wait
//!   between two reads, and how long the 10 MB took. Not part of `all`.
//! - `abuse`: for M seconds (20), a client that never reads joins the chat
//!   room every 2 s while another floods it with 8 MB; meanwhile one client
//!   pings another every 50 ms: the pings' latency (p50, p99, max) and how
//!   many were lost. Not part of `all`: it runs for its M seconds.
//! - `pacing`, `flood`, `memory`, `notice`: the chat room's own rules,
//!   against netcourse alone (see `room.rs`). Not part of `all`.
//!
//! With flood control (the chat room's default, 1 MiB/s per client after
//! 256 KiB), `stall` and `abuse` go at the flood-control rate: 10 MB
//! through the room takes about 10 s.
//!
//! Each scenario runs against netcourse's server and against a minimal
//! hand-written `std::net` server doing the same job (the floor: the system
//! calls themselves), and with `--node` against the documents' Node servers
//! in `docs/node/` too (Node.js 18 or newer on `PATH`): the course's
//! corrected A1 for `echo`, and `bench-chat-server.js` and
//! `bench-udp-server.js`, the documents' B3 and A3 with their bugs fixed,
//! for `chat`, `conns` and `udp`. Every server is a child process driven
//! by the same client in the same run, alternating, R times (default 5);
//! the medians are printed with their ratios. With `--addr`, the client
//! drives that server instead. `--quick` is a small, fast run that checks
//! that nothing is lost: `cargo test` runs it.

#[path = "../common/mod.rs"]
mod common;

mod clients;
mod room;
mod servers;

use common::{fail, OrExit};
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, kind, limits @ ..] = &args[..] {
        if flag == "--serve" {
            let chat = servers::chat_options(limits).or_exit("server flags");
            servers::serve(kind, chat).or_exit(format_args!("server {kind}"));
            return;
        }
    }
    let options = Options::parse(&args);
    if options.node && options.addr.is_none() {
        check_node();
    }
    let scenarios: &[&str] = match options.scenario.as_str() {
        "all" => &["echo", "chat", "udp", "conns"],
        "echo" => &["echo"],
        "chat" => &["chat"],
        "udp" => &["udp"],
        "conns" => &["conns"],
        "stall" => &["stall"],
        "abuse" => &["abuse"],
        "pacing" | "flood" | "memory" | "notice" => &[],
        other => fail(format!(
            "no scenario called {other} (echo, chat, udp, conns, stall, abuse, pacing, flood, memory, notice, all)"
        )),
    };
    println!(
        "netcourse bench: {} cores, median of {} run(s), servers alternating",
        thread::available_parallelism().map_or(1, |n| n.get()),
        options.runs
    );
    for scenario in scenarios {
        for size in options.sizes(scenario) {
            run(scenario, size, &options).or_exit(scenario);
        }
    }
    // The chat room's own scenarios, against netcourse alone.
    let runs = options.runs;
    match options.scenario.as_str() {
        "pacing" => room::pacing(runs).or_exit("pacing"),
        "flood" => room::flood(runs).or_exit("flood"),
        "memory" => room::memory_scenario(options.quick).or_exit("memory"),
        "notice" => room::notice(if options.quick { 4 } else { 40 }).or_exit("notice"),
        _ => {}
    }
}

/// The command line.
struct Options {
    scenario: String,
    clients: Option<usize>,
    messages: Option<usize>,
    runs: usize,
    node: bool,
    addr: Option<SocketAddr>,
    quick: bool,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut options = Options {
            scenario: String::new(),
            clients: None,
            messages: None,
            runs: 5,
            node: false,
            addr: None,
            quick: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .or_exit(format_args!("{name} needs a value"))
                    .clone()
            };
            match arg.as_str() {
                "--clients" => {
                    options.clients = Some(value("--clients").parse().or_exit("bad --clients"))
                }
                "--messages" => {
                    options.messages = Some(value("--messages").parse().or_exit("bad --messages"))
                }
                "--runs" => options.runs = value("--runs").parse().or_exit("bad --runs"),
                "--addr" => options.addr = Some(value("--addr").parse().or_exit("bad --addr")),
                "--node" => options.node = true,
                "--quick" => options.quick = true,
                scenario if options.scenario.is_empty() && !scenario.starts_with('-') => {
                    options.scenario = scenario.to_string()
                }
                other => fail(format!(
                    "unexpected '{other}'; usage: bench echo|chat|udp|conns|stall|abuse|pacing|flood|memory|notice|all [--clients N] \
                     [--messages M] [--runs R] [--node] [--addr HOST:PORT] [--quick]"
                )),
            }
        }
        if options.scenario.is_empty() {
            options.scenario = "all".to_string();
        }
        if options.quick {
            options.runs = 1;
        }
        options
    }

    /// The (clients, messages) pairs to run for `scenario`: the issue's
    /// table, or the command line's, or small ones with `--quick`.
    fn sizes(&self, scenario: &str) -> Vec<(usize, usize)> {
        let (clients, messages): (&[usize], usize) = match (scenario, self.quick) {
            ("echo", false) => (&[1, 10, 50], 2000),
            ("echo", true) => (&[1, 4], 100),
            ("chat", false) => (&[10, 100], 100),
            ("chat", true) => (&[4], 20),
            ("udp", false) => (&[1], 200_000),
            ("udp", true) => (&[1], 2000),
            ("conns", false) => (&[1000], 1),
            ("stall", _) => (&[3], 10_000),
            ("abuse", false) => (&[3], 20),
            ("abuse", true) => (&[3], 2),
            (_, _) => (&[20], 1),
        };
        let clients = self.clients.map_or(clients.to_vec(), |n| vec![n]);
        let messages = self.messages.unwrap_or(messages);
        clients.into_iter().map(|n| (n, messages)).collect()
    }

    /// The servers to measure, in the order each run visits them.
    fn targets(&self) -> Vec<Target> {
        match self.addr {
            Some(addr) => vec![Target::External(addr)],
            None if self.node => vec![Target::Netcourse, Target::Raw, Target::Node],
            None => vec![Target::Netcourse, Target::Raw],
        }
    }
}

/// A server the benchmark measures.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Netcourse,
    Raw,
    Node,
    External(SocketAddr),
}

impl Target {
    fn name(self) -> String {
        match self {
            Target::Netcourse => "netcourse".into(),
            Target::Raw => "plain std".into(),
            Target::Node => "node".into(),
            Target::External(addr) => addr.to_string(),
        }
    }
}

/// One figure per target and run; the medians make the table.
struct Figures {
    names: &'static [&'static str],
    /// For each target, each run's figures (one per name).
    runs: Vec<(Target, Vec<Vec<f64>>)>,
}

impl Figures {
    /// The median of the runs that measured the figure (a run too short
    /// for the kernel's clock measures no CPU time: NaN, printed `-`), so
    /// that it agrees with the spread below it.
    fn median(&self, target: usize, figure: usize) -> f64 {
        let mut values: Vec<f64> = self.runs[target]
            .1
            .iter()
            .map(|run| run[figure])
            .filter(|value| !value.is_nan())
            .collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// The lowest and the highest of a figure's runs.
    fn spread(&self, target: usize, figure: usize) -> (f64, f64) {
        let values = self.runs[target].1.iter().map(|run| run[figure]);
        let low = values.clone().fold(f64::INFINITY, f64::min);
        (low, values.fold(f64::NEG_INFINITY, f64::max))
    }

    /// The table: medians, then netcourse's first figure as a ratio of the
    /// others' (higher is better for the first figure of every scenario but
    /// `conns`, where each is a time or a size).
    fn print(&self) {
        print!("  {:<12}", "");
        for name in self.names {
            print!("{name:>16}");
        }
        println!();
        for (target, (who, runs)) in self.runs.iter().enumerate() {
            print!("  {:<12}", who.name());
            for figure in 0..self.names.len() {
                print!("{:>16}", format_figure(self.median(target, figure)));
            }
            println!();
            if runs.len() > 1 {
                print!("  {:<12}", "  spread");
                for figure in 0..self.names.len() {
                    let range = match self.spread(target, figure) {
                        (low, high) if low.is_finite() && high.is_finite() => {
                            format!("{}-{}", format_figure(low), format_figure(high))
                        }
                        _ => "-".into(),
                    };
                    print!("{range:>16}");
                }
                println!();
            }
        }
        if self.runs.len() > 1 && self.runs[0].0 == Target::Netcourse {
            for (target, (who, _)) in self.runs.iter().enumerate().skip(1) {
                let ratios: Vec<String> = (0..self.names.len())
                    .map(|figure| self.median(0, figure) / self.median(target, figure))
                    .map(|ratio| {
                        if ratio.is_finite() {
                            format!("{ratio:.2}")
                        } else {
                            "-".into()
                        }
                    })
                    .collect();
                println!("  netcourse / {}: {}", who.name(), ratios.join(", "));
            }
        }
    }
}

fn format_figure(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else if value >= 100.0 {
        let mut digits = format!("{value:.0}");
        let mut at = digits.len();
        while at > 3 {
            at -= 3;
            digits.insert(at, ',');
        }
        digits
    } else {
        format!("{value:.2}")
    }
}

/// Runs one scenario at one size against every target, `runs` times, and
/// prints its table.
fn run(scenario: &str, (clients, messages): (usize, usize), options: &Options) -> io::Result<()> {
    let (title, names): (String, &'static [&'static str]) = match scenario {
        "echo" => (
            format!("echo: {clients} clients x {messages} round trips"),
            &["round trips/s", "p50 us", "p99 us", "server us/rt"],
        ),
        "chat" => (
            format!("chat: {clients} clients x {messages} lines"),
            &["deliveries/s", "lost", "server ns/line"],
        ),
        "udp" => (
            format!("udp: {messages} datagrams from {clients} senders"),
            &["received/s", "delivered %", "server ns/dgram"],
        ),
        "stall" => (
            "stall: 10 MB through the room past a client that never reads, then one that reads 2 KB/s".to_string(),
            &["gap ms, never", "10MB ms, never", "gap ms, 2KB/s", "10MB ms, 2KB/s"],
        ),
        "abuse" => (
            format!(
                "abuse: {messages} s of never-reading clients and 8 MB floods, a ping every 50 ms"
            ),
            &["p50 ms", "p99 ms", "max ms", "lost", "stuck clients"],
        ),
        _ => (
            format!("conns: {clients} chat clients"),
            &["connect all ms", "broadcast ms", "bytes/conn"],
        ),
    };
    println!("\n{title}");
    let mut targets = options.targets();
    if scenario == "abuse" || scenario == "stall" {
        // The floor server writes to every client under its lock with no
        // deadline: the first client that never reads stops it for good
        // (chapter 5's by-hand relay). There is nothing to time.
        targets.retain(|&target| target != Target::Raw);
    }
    let mut figures = Figures {
        names,
        runs: targets.iter().map(|&target| (target, Vec::new())).collect(),
    };
    for _ in 0..options.runs {
        for (at, &target) in targets.iter().enumerate() {
            let server = Running::start(target, scenario)?;
            let measured = measure(scenario, &server, clients, messages)?;
            figures.runs[at].1.push(measured);
        }
    }
    figures.print();
    // --quick is a correctness check: nothing may be lost.
    if options.quick && scenario == "chat" && figures.runs.iter().any(|(_, runs)| runs[0][1] > 0.0)
    {
        return Err(io::Error::other("lines were lost"));
    }
    Ok(())
}

/// One run of `scenario` against one server: the figures of its table row.
///
/// The client shares the machine's two cores with the server and costs about
/// as much, so rates alone can hide a slow server behind a slow client. The
/// server's own CPU time per unit of work (from `/proc/PID/stat`, in 10 ms
/// ticks, so only the larger runs resolve it well) says what the server
/// costs, whatever the client does.
fn measure(
    scenario: &str,
    server: &Running,
    clients: usize,
    messages: usize,
) -> io::Result<Vec<f64>> {
    let cpu_before = server.cpu();
    // Under 50 ms (5 ticks) the figure would be mostly rounding: left out.
    let per = |units: f64, scale: f64| match (cpu_before, server.cpu()) {
        (Some(before), Some(after)) if after - before >= Duration::from_millis(50) => {
            (after - before).as_secs_f64() * scale / units
        }
        _ => f64::NAN,
    };
    Ok(match scenario {
        "echo" => {
            let echo = clients::echo(server.addr, clients, messages)?;
            let round_trips = echo.latencies.len() as f64;
            let percentile =
                |p: usize| echo.latencies[(echo.latencies.len() - 1) * p / 100].as_secs_f64() * 1e6;
            vec![
                round_trips / echo.elapsed.as_secs_f64(),
                percentile(50),
                percentile(99),
                per(round_trips, 1e6),
            ]
        }
        "chat" => {
            let chat = clients::chat(server.addr, clients, messages)?;
            vec![
                chat.delivered as f64 / chat.elapsed.as_secs_f64(),
                (chat.expected - chat.delivered) as f64,
                per(chat.delivered as f64, 1e9),
            ]
        }
        "udp" => {
            let blast = clients::udp(server.addr, clients, messages)?;
            let received = server.settled_count()?;
            vec![
                received as f64 / blast.elapsed.as_secs_f64(),
                received as f64 * 100.0 / blast.sent as f64,
                per(received as f64, 1e9),
            ]
        }
        "stall" => {
            let never = clients::stall(server.addr, 0)?;
            let slow = clients::stall(server.addr, 2048)?;
            let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
            vec![
                ms(never.longest_gap),
                ms(never.elapsed),
                ms(slow.longest_gap),
                ms(slow.elapsed),
            ]
        }
        "abuse" => {
            let abuse = clients::abuse(server.addr, messages)?;
            let ms = |p: usize| {
                abuse
                    .latencies
                    .get(abuse.latencies.len().saturating_sub(1) * p / 100)
                    .map_or(f64::NAN, |latency| latency.as_secs_f64() * 1e3)
            };
            vec![
                ms(50),
                ms(99),
                ms(100),
                abuse.lost as f64,
                abuse.stuck as f64,
            ]
        }
        _ => {
            let conns = clients::conns(server.addr, clients, || server.rss())?;
            vec![
                conns.connect_all.as_secs_f64() * 1e3,
                conns.broadcast.as_secs_f64() * 1e3,
                conns.bytes_per_conn.map_or(f64::NAN, |bytes| bytes as f64),
            ]
        }
    })
}

/// A server being measured: a child process (or an external address), its
/// address, and its stdout lines (the UDP servers' counts).
struct Running {
    child: Option<Child>,
    addr: SocketAddr,
    stdout: Option<Receiver<String>>,
}

impl Running {
    fn start(target: Target, scenario: &str) -> io::Result<Running> {
        let protocol = match scenario {
            "conns" | "stall" | "abuse" => "chat",
            other => other,
        };
        match target {
            Target::External(addr) => Ok(Running {
                child: None,
                addr,
                stdout: None,
            }),
            Target::Netcourse | Target::Raw => {
                let kind = format!(
                    "{protocol}-{}",
                    if target == Target::Raw {
                        "raw"
                    } else {
                        "netcourse"
                    }
                );
                let mut ours = Command::new(std::env::current_exe()?);
                ours.args(["--serve", &kind]);
                Running::spawn(&mut ours)
            }
            Target::Node => {
                let script = match protocol {
                    "echo" => "ch2-a1-tcp-server.js",
                    "chat" => "bench-chat-server.js",
                    _ => "bench-udp-server.js",
                };
                let mut node = Command::new("node");
                // Port 0: each Node server says where it listens, as ours do.
                node.arg(node_programs().join(script)).arg("0");
                Running::spawn(&mut node)
            }
        }
    }

    /// Starts `command` and waits until it listens: every server, ours and
    /// Node's, says `listening on ADDR` on stderr.
    fn spawn(command: &mut Command) -> io::Result<Running> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = lines(child.stdout.take());
        let stderr = lines(child.stderr.take());
        let line = stderr
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the server did not start"))?;
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, line))?;
        Ok(Running {
            child: Some(child),
            addr,
            stdout: Some(stdout),
        })
    }

    /// The server's resident memory in bytes (`VmRSS` of `/proc/PID/status`).
    fn rss(&self) -> Option<u64> {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.as_ref()?.id())).ok()?;
        let kb = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?;
        Some(
            kb.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()?
                * 1024,
        )
    }

    /// The server's CPU time so far, all its threads, user and system
    /// (`utime` and `stime` of `/proc/PID/stat`, in ticks of 10 ms).
    fn cpu(&self) -> Option<Duration> {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.as_ref()?.id())).ok()?;
        // The command name may hold spaces; the fields after it do not.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

    /// The UDP server's count once it stops growing: its `received N` lines
    /// (every 100 ms for ours, every second for Node's) until two agree.
    fn settled_count(&self) -> io::Result<u64> {
        let stdout = self.stdout.as_ref().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "an external UDP server's count is unknown",
            )
        })?;
        // Skip what was said during the blast.
        while stdout.try_recv().is_ok() {}
        let mut last = None;
        loop {
            let line = stdout.recv_timeout(Duration::from_secs(5)).map_err(|_| {
                io::Error::new(io::ErrorKind::TimedOut, "the UDP server stopped counting")
            })?;
            let Some(count) = line.strip_prefix("received ").and_then(|n| n.parse().ok()) else {
                continue;
            };
            if last == Some(count) {
                return Ok(count);
            }
            last = Some(count);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Each line of a child's pipe, on a channel.
fn lines(pipe: Option<impl io::Read + Send + 'static>) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(pipe) = pipe {
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Where the Node programs are: `docs/node/` in this repository.
fn node_programs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/node")
}

/// `--node` needs Node.js 18 or newer on `PATH`: says so in one line, and
/// exits 1, when it is missing or older, before any server has started.
fn check_node() {
    const WHAT: &str = "install Node.js 18 or newer, or drop --node";
    let version = match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => output.stdout,
        Ok(_) => fail(format_args!("--node: `node --version` failed; {WHAT}")),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            fail(format_args!("--node: `node` is not on PATH; {WHAT}"))
        }
        Err(err) => fail(format_args!("--node: cannot run `node`: {err}; {WHAT}")),
    };
    // `v20.20.2`: the major version is the number after the `v`.
    let version = String::from_utf8_lossy(&version).trim().to_string();
    let major = version
        .strip_prefix('v')
        .and_then(|v| v.split('.').next())
        .and_then(|major| major.parse::<u32>().ok());
    if !matches!(major, Some(major) if major >= 18) {
        fail(format_args!("--node: found Node.js {version}; {WHAT}"));
    }
}
