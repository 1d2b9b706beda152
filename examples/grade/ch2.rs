//! Chapter 2's steps: doc A's greeting server (A1) and its client (A2),
//! each written with nothing but `std::net`.

use crate::check::{
    connect, read_exactly, read_fin, send, show, show_len, End, Failure, Heard, See, PATIENCE,
};
use crate::lang::t;
use crate::program::{NoLine, Program};
use crate::Grader;
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const A1: See = See("02-tcp.md", "The server, A1", "服务器 A1");
const A2: See = See("02-tcp.md", "The client, A2", "客户端 A2");
const BY_HAND: See = See(
    "02-tcp.md",
    "Both in one process, and under the hood",
    "合在一个进程里，再看看底层",
);

/// A1's greeting. The colon is the full-width `：`, three bytes of UTF-8.
const GREETING: &str = "hello world：\n";
/// A1's answer to every chunk.
const ANSWER: &str = "你好";
/// A2's message.
const WORLD: &str = "world!\r\n";

/// The greeting server: greets, answers every chunk, serves two clients at
/// once, and answers FIN with FIN.
pub fn server(g: &Grader) -> Result<(), Failure> {
    let greeting = show(GREETING.as_bytes());
    g.check(t!(
        "it greets each client with {greeting}",
        "它给每个客户端发问候语 {greeting}"
    ));
    let (mut server, addr) = g.server(&A1)?;

    // 'connection': the greeting, byte for byte.
    let mut alice = connect(addr, &A1)?;
    read_exactly(&mut alice, GREETING.as_bytes()).map_err(|heard| {
        let mut got = heard.to_string();
        if heard.bytes == b"hello world:\n" {
            got += &t!(
                ": the colon must be the full-width \"：\" of doc A, 3 bytes of UTF-8",
                "：冒号必须是文档 A 里的全角“：”，UTF-8 编码占 3 个字节"
            );
        }
        let greeting = show_len(GREETING.as_bytes());
        Failure::new(
            t!("Connected", "连接之后"),
            t!("the greeting {greeting}", "收到问候语 {greeting}"),
            got,
            &A1,
        )
    })?;
    g.ok();

    // 'data': every chunk is answered, whatever it says.
    let answer = show(ANSWER.as_bytes());
    g.check(t!(
        "it answers every chunk with {answer}",
        "它对每个数据块都回应 {answer}"
    ));
    for chunk in [WORLD, "again"] {
        send(&mut alice, chunk.as_bytes(), &A1)?;
        read_exactly(&mut alice, ANSWER.as_bytes()).map_err(|heard| {
            let (chunk, answer) = (show(chunk.as_bytes()), show_len(ANSWER.as_bytes()));
            Failure::new(
                t!("Sent {chunk}", "发送 {chunk} 之后"),
                t!("{answer} back", "收到回应 {answer}"),
                answer_got(&heard),
                &A1,
            )
        })?;
    }
    g.ok();

    // A second client while the first is still connected.
    g.check(t!(
        "it serves two clients at once",
        "它能同时服务两个客户端"
    ));
    let mut bob = connect(addr, &BY_HAND)?;
    read_exactly(&mut bob, GREETING.as_bytes()).map_err(|heard| {
        let got = match heard.end {
            End::Silent(_) if heard.bytes.is_empty() => t!(
                "{heard}: a server that serves one connection at a time keeps the next client \
                 waiting; give each connection a thread of its own",
                "{heard}：一次只服务一个连接的服务器会让下一个客户端一直等着；\
                 给每个连接一个自己的线程"
            ),
            _ => heard.to_string(),
        };
        Failure::new(
            t!(
                "Connected a second client while the first was still connected",
                "第一个客户端还连着时，又连上第二个客户端"
            ),
            t!("its greeting too", "它也收到问候语"),
            got,
            &BY_HAND,
        )
    })?;
    send(&mut bob, b"hi", &BY_HAND)?;
    read_exactly(&mut bob, ANSWER.as_bytes()).map_err(|heard| {
        let answer = show(ANSWER.as_bytes());
        Failure::new(
            t!(
                "Sent \"hi\" from the second client",
                "第二个客户端发送 \"hi\" 之后"
            ),
            t!("{answer} back", "收到回应 {answer}"),
            answer_got(&heard),
            &BY_HAND,
        )
    })?;
    drop(bob);
    g.ok();

    // 'end': our FIN, answered by the server's FIN, not by a reset.
    g.check(t!("it answers FIN with FIN", "它用 FIN 回应 FIN"));
    let _ = alice.shutdown(Shutdown::Write);
    read_fin(&mut alice).map_err(|heard| {
        let got = match heard.end {
            _ if heard.reset() => t!(
                "{heard}: a socket closed with bytes still unread sends RST instead of FIN",
                "{heard}：关闭时还有字节没读的套接字，发出的是 RST 而不是 FIN"
            ),
            End::Silent(_) => t!(
                "{heard}: the connection stayed open",
                "{heard}：连接一直开着"
            ),
            _ => heard.to_string(),
        };
        Failure::new(
            t!(
                "Sent FIN (shutdown(Shutdown::Write), Node's end())",
                "发送 FIN（shutdown(Shutdown::Write)，即 Node 的 end()）之后"
            ),
            t!(
                "the server's FIN back (read() returning 0)",
                "收到服务器回的 FIN（read() 返回 0）"
            ),
            got,
            &BY_HAND,
        )
    })?;
    g.ok();

    // 'end' on the server: the line of A1's 'end' listener.
    g.check(t!(
        "it prints \"连接断开\" when a client ends",
        "客户端结束时它打印 \"连接断开\""
    ));
    let mut printed = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.line(left) {
            Ok(line) if line == "连接断开" => break,
            Ok(line) => printed.push(line),
            Err(why) => {
                let got = match (why, printed.is_empty()) {
                    (NoLine::Exited(how), _) => t!("nothing: {how}", "什么也没有：{how}"),
                    (NoLine::Silent, true) => {
                        let secs = PATIENCE.as_secs();
                        t!("nothing within {secs} s", "{secs} 秒内什么也没有")
                    }
                    (NoLine::Silent, false) => t!("only {printed:?}", "只有 {printed:?}"),
                };
                let name = g.name;
                return Err(Failure::new(
                    t!("Ended a connection with FIN", "用 FIN 结束一个连接之后"),
                    t!(
                        "{name} to print \"连接断开\" on stdout ('end')",
                        "{name} 在 stdout 上打印 \"连接断开\"（'end'）"
                    ),
                    got,
                    &A1,
                ));
            }
        }
    }
    g.ok();
    Ok(())
}

/// What a sentence says of an answer that was not `你好`.
fn answer_got(heard: &Heard) -> String {
    if heard.reset() {
        t!(
            "{heard}: the server closed its socket with the chunk still unread",
            "{heard}：服务器关闭套接字时，这个数据块还没读"
        )
    } else {
        heard.to_string()
    }
}

/// The client: says `world!\r\n`, prints the first data and ends its side,
/// goes on reading until the server's FIN, then exits.
pub fn client(g: &Grader) -> Result<(), Failure> {
    // The grader plays A1.
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| {
        Failure::plain(t!(
            "The grader could not listen: {e}.",
            "评分器无法监听：{e}。"
        ))
    })?;
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(0)
        .to_string();
    g.check(t!("it connects", "它能连上"));
    let mut client = g.start(&["--host", "127.0.0.1", "--port", &port])?;

    // 'connect'.
    let name = g.name;
    let did = t!(
        "Started {name} with --port {port}",
        "用 --port {port} 启动 {name}"
    );
    let mut socket = accept(&listener, &mut client).map_err(|()| {
        let got = match client.exited() {
            Some(_) => {
                let how = client.how_it_ended();
                t!("none: {how}", "没有连接：{how}")
            }
            None => {
                let secs = PATIENCE.as_secs();
                t!("none within {secs} s", "{secs} 秒内没有连接")
            }
        };
        Failure::new(&did, t!("it to connect", "它连上来"), got, &A2)
    })?;
    let _ = socket.set_write_timeout(Some(PATIENCE));
    g.ok();

    // What it sends on 'connect', before it reads anything.
    let world = show(WORLD.as_bytes());
    g.check(t!("it sends {world}", "它发送 {world}"));
    read_exactly(&mut socket, WORLD.as_bytes()).map_err(|heard| {
        let world = show_len(WORLD.as_bytes());
        Failure::new(
            t!("Accepted the client's connection", "接受了客户端的连接之后"),
            t!(
                "{world} from it as soon as it connected",
                "它一连上就发来 {world}"
            ),
            heard,
            &A2,
        )
    })?;
    g.ok();

    // The first 'data', then client.end(): its FIN.
    g.check(t!(
        "it ends its side (FIN) after the first data",
        "收到第一份数据后，它结束自己这一侧（FIN）"
    ));
    send(&mut socket, GREETING.as_bytes(), &A2)?;
    read_fin(&mut socket).map_err(|heard| {
        let got = match heard.end {
            End::Silent(_) if heard.bytes.is_empty() => t!(
                "{heard}: end your side with shutdown(Shutdown::Write) once you have printed \
                 the first data",
                "{heard}：打印完第一份数据后，用 shutdown(Shutdown::Write) 结束你这一侧"
            ),
            _ => heard.to_string(),
        };
        let greeting = show(GREETING.as_bytes());
        Failure::new(
            t!("Sent the greeting {greeting}", "发送问候语 {greeting} 之后"),
            t!(
                "the client to print it and end its side (FIN)",
                "客户端把它打印出来，并结束自己这一侧（FIN）"
            ),
            got,
            &A2,
        )
    })?;
    g.ok();

    // The server still talks after the client's FIN: 你好, then our FIN.
    // (A server this slow is rare, but TCP allows it, and so must a client.)
    g.check(t!(
        "it prints what the server sent, to the end",
        "它把服务器发来的内容一直打印到最后"
    ));
    let sent = socket.write_all(ANSWER.as_bytes());
    let _ = socket.shutdown(Shutdown::Write);
    let answer = show(ANSWER.as_bytes());
    let did = t!(
        "After the client's FIN, sent {answer} and then FIN",
        "在客户端的 FIN 之后，发送 {answer}，然后发送 FIN"
    );
    let Some(status) = client.wait(PATIENCE) else {
        let secs = PATIENCE.as_secs();
        return Err(Failure::but(
            &did,
            t!(
                "the client to print it and exit",
                "客户端把它打印出来，然后退出"
            ),
            t!(
                "it was still running {secs} s later",
                "{secs} 秒后它还在运行"
            ),
            &A2,
        ));
    };
    if !status.success() || sent.is_err() {
        let how = client.how_it_ended();
        return Err(Failure::new(
            &did,
            t!("the client to exit with code 0", "客户端以退出码 0 退出"),
            how,
            &A2,
        ));
    }
    let mut printed = Vec::new();
    while let Ok(line) = client.line(Duration::from_secs(1)) {
        // One 'data' may end in the greeting's own "\n": an empty line.
        if !line.is_empty() {
            printed.push(line);
        }
    }
    let expected = [
        "client connected",
        "hello world：",
        ANSWER,
        "client disconnected",
    ];
    if printed != expected {
        let hint = if printed.iter().any(|line| line == ANSWER) {
            String::new()
        } else {
            t!(
                ": after client.end() a client goes on reading until the server's FIN",
                "：调用 client.end() 之后，客户端还要继续读，直到服务器的 FIN"
            )
        };
        return Err(Failure::new(
            &did,
            t!(
                "the client to print the lines {expected:?}",
                "客户端打印这几行：{expected:?}"
            ),
            format!("{printed:?}{hint}"),
            &A2,
        ));
    }
    g.ok();
    Ok(())
}

/// Accepts the client's connection, or gives up after [`PATIENCE`], or
/// as soon as the client has exited without connecting.
fn accept(listener: &TcpListener, client: &mut Program) -> Result<TcpStream, ()> {
    // std's accept has no timeout: ask without blocking, and look again
    // shortly, until the deadline.
    listener.set_nonblocking(true).map_err(|_| ())?;
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        // Asked once more after it exited: it may have connected first.
        let exited = client.exited().is_some();
        match listener.accept() {
            Ok((socket, _)) => {
                socket.set_nonblocking(false).map_err(|_| ())?;
                return Ok(socket);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock && !exited => {
                thread::sleep(Duration::from_millis(10))
            }
            Err(_) => return Err(()),
        }
    }
    Err(())
}
