//! Chapter 3's step: a server that prints a line for each event of each
//! connection, as A5 does, written with nothing but `std::net`.
//!
//! Three clients, one after the other: one that talks and ends politely,
//! one that resets the connection, one that stays silent until the server's
//! idle timeout ends it (and then stays a little longer, to see that the
//! timer was stopped).

use crate::check::{connect, read_exactly, read_fin, secs, show_len, Failure, See, PATIENCE};
use crate::lang::t;
use crate::program::NoLine;
use crate::Grader;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

const A5: See = See(
    "03-events.md",
    "All of them in one run: A5",
    "一次全部触发：A5",
);
const LOOPS: See = See(
    "03-events.md",
    "The loops behind the events",
    "事件背后的循环",
);
const TIMEOUT: See = See(
    "03-events.md",
    "`'timeout'`: a connection that goes quiet",
    "`'timeout'`：沉默下来的连接",
);
const END: See = See("03-events.md", "`'end'` and half-close", "`'end'` 与半关闭");
const ERROR: See = See(
    "03-events.md",
    "`'error'`: when a connection fails",
    "`'error'`：连接失败时",
);

/// What the server writes to every client on 'connection'.
const HI: &[u8] = b"hi";
/// How long a connection may stay silent before 'timeout'.
const IDLE: Duration = Duration::from_millis(1000);

pub fn events(g: &Grader) -> Result<(), Failure> {
    g.check(t!(
        "it greets each client with \"hi\"",
        "它给每个客户端发 \"hi\""
    ));
    let (mut server, addr) = g.server(&A5)?;

    // A client that says hello! and ends politely.
    let mut alice = connect(addr, &A5)?;
    greeted(&mut alice)?;
    g.ok();
    let me = local(&alice);
    g.check("'listening'".to_string());
    server.expect(
        t!("Started the server", "启动服务器之后"),
        &format!("server: listening {addr}"),
        &A5,
    )?;
    g.ok();
    g.check("'connection'".to_string());
    let connection = format!("server: connection from {me}");
    server.expect(
        t!("Connected from {me}", "从 {me} 连接之后"),
        &connection,
        &A5,
    )?;
    g.ok();
    g.check("'data'".to_string());
    let _ = alice.write_all(b"hello!");
    let _ = alice.shutdown(Shutdown::Write);
    server.expect(
        t!("Sent \"hello!\" (6 bytes)", "发送 \"hello!\"（6 字节）之后"),
        "socket: data 6 bytes",
        &A5,
    )?;
    g.ok();
    g.check(t!(
        "'end', the server's FIN, then 'close'",
        "'end'、服务器的 FIN，然后是 'close'"
    ));
    let did = t!("Sent FIN after \"hello!\"", "在 \"hello!\" 之后发送 FIN");
    server.expect(&did, "socket: end, 6 bytes read, 2 written", &END)?;
    read_fin(&mut alice).map_err(|heard| {
        Failure::new(
            &did,
            t!(
                "the server's FIN after its 'end'",
                "在它的 'end' 之后收到服务器的 FIN"
            ),
            heard,
            &END,
        )
    })?;
    server.expect(&did, "socket: close, had_error false", &LOOPS)?;
    g.ok();

    // A client that resets: it closes with the greeting unread.
    g.check(t!(
        "'error', then 'close' with had_error true",
        "'error'，然后是 had_error 为 true 的 'close'"
    ));
    let rude = connect(addr, &ERROR)?;
    let me = local(&rude);
    let _ = rude.set_read_timeout(Some(PATIENCE));
    let _ = rude.peek(&mut [0; 2]);
    drop(rude);
    let did = t!(
        "Connected from {me}, then reset the connection (RST)",
        "从 {me} 连接，然后重置连接（RST）之后"
    );
    let connection = format!("server: connection from {me}");
    server.expect(&did, &connection, &A5)?;
    server.expect_where(&did, "socket: error MESSAGE", PATIENCE, &ERROR, |line| {
        line.starts_with("socket: error ")
    })?;
    server.expect(&did, "socket: close, had_error true", &ERROR)?;
    g.ok();

    // A client that says nothing.
    let idle = secs(IDLE);
    g.check(t!(
        "'timeout' after {idle} s of silence, then the server's FIN",
        "沉默 {idle} 秒之后的 'timeout'，然后是服务器的 FIN"
    ));
    let mut carol = connect(addr, &TIMEOUT)?;
    let start = Instant::now();
    let me = local(&carol);
    greeted(&mut carol)?;
    let connection = format!("server: connection from {me}");
    server.expect(
        t!("Connected from {me}", "从 {me} 连接之后"),
        &connection,
        &A5,
    )?;
    let did = t!(
        "Connected and then said nothing for {idle} s",
        "连接之后 {idle} 秒什么也不说"
    );
    let timeout = format!("socket: timeout, nothing for {} ms", IDLE.as_millis());
    server.expect_hinted(
        &did,
        &timeout,
        IDLE + PATIENCE,
        &TIMEOUT,
        |line| line == timeout,
        would_block,
    )?;
    if start.elapsed() < IDLE - Duration::from_millis(100) {
        let early = start.elapsed().as_millis();
        return Err(Failure::new(
            &did,
            t!(
                "{timeout:?} after {idle} s",
                "{idle} 秒之后打印 {timeout:?}"
            ),
            t!("it after {early} ms", "它在 {early} 毫秒之后就来了"),
            &TIMEOUT,
        ));
    }
    read_fin(&mut carol).map_err(|heard| {
        Failure::new(
            &did,
            t!(
                "the server to end the connection (FIN) after 'timeout'",
                "服务器在 'timeout' 之后结束连接（FIN）"
            ),
            heard,
            &TIMEOUT,
        )
    })?;
    g.ok();

    // The timer must be stopped: after 'timeout', another second of
    // silence brings no second 'timeout'.
    g.check(t!(
        "the timer stops after 'timeout'; the client's FIN brings 'end' and 'close'",
        "'timeout' 之后计时器就停了；客户端的 FIN 带来 'end' 和 'close'"
    ));
    let quiet = IDLE + Duration::from_secs(1);
    let wait = secs(quiet);
    let did = t!(
        "After 'timeout' and the server's FIN, said nothing for {wait} s more",
        "在 'timeout' 和服务器的 FIN 之后，又 {wait} 秒什么也不说"
    );
    match server.line(quiet) {
        Err(NoLine::Silent) => {}
        Ok(line) => {
            let shown = crate::check::show(line.as_bytes());
            let hint = if line.starts_with("socket: timeout") {
                t!(
                    ": the timer still runs; stop it once it has fired, with \
                     set_read_timeout(None)",
                    "：计时器还在走；它触发一次之后，就用 set_read_timeout(None) 把它停掉"
                )
            } else {
                would_block(&line)
            };
            return Err(Failure::new(
                &did,
                t!(
                    "nothing more until the client's FIN",
                    "在客户端发来 FIN 之前不再打印任何东西"
                ),
                format!("{shown}{hint}"),
                &TIMEOUT,
            ));
        }
        Err(NoLine::Exited(how)) => {
            return Err(Failure::new(
                &did,
                t!("the server to keep running", "服务器继续运行"),
                how,
                &TIMEOUT,
            ))
        }
    }
    drop(carol);
    let did = t!(
        "Answered the server's FIN with FIN",
        "用 FIN 回应服务器的 FIN 之后"
    );
    server.expect(&did, "socket: end, 0 bytes read, 2 written", &END)?;
    server.expect(&did, "socket: close, had_error false", &LOOPS)?;
    g.ok();
    Ok(())
}

/// What to add when the server printed a read timeout as an error: the
/// message of `WouldBlock` (or `TimedOut`) does not say "timeout".
fn would_block(line: &str) -> String {
    let timed_out = [
        "os error 11)",    // Linux: EAGAIN, "Resource temporarily unavailable"
        "os error 35)",    // macOS: EAGAIN
        "os error 10060)", // Windows: WSAETIMEDOUT
    ];
    if line.starts_with("socket: error") && timed_out.iter().any(|code| line.contains(code)) {
        t!(
            ": that error is how a read timeout shows (WouldBlock on Linux and macOS, \
             TimedOut on Windows); it is 'timeout', not 'error'",
            "：读超时就是以这个错误表现出来的（Linux 和 macOS 上是 WouldBlock，\
             Windows 上是 TimedOut）；它是 'timeout'，不是 'error'"
        )
    } else {
        String::new()
    }
}

/// The address a client connected from, as the server sees it.
fn local(stream: &TcpStream) -> String {
    match stream.local_addr() {
        Ok(addr) => addr.to_string(),
        Err(_) => "?".to_string(),
    }
}

/// Reads the events program's greeting, `hi`, from a client that has just
/// connected, or says what came instead.
fn greeted(client: &mut TcpStream) -> Result<(), Failure> {
    read_exactly(client, HI).map_err(|heard| {
        let hi = show_len(HI);
        Failure::new(
            t!("Connected", "连接之后"),
            t!("the greeting {hi}", "收到问候语 {hi}"),
            heard,
            &A5,
        )
    })
}
