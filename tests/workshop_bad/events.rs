//! The events server of the workshop's solution (ch3-events), for the
//! grader's tests, with one of its rules changed by [`Mistakes`], the way a
//! learner might have written it.

use crate::common::{Args, OrExit};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

const IDLE: Duration = Duration::from_millis(1000);

/// What the learner got wrong.
#[derive(Clone, Copy)]
pub struct Mistakes {
    /// After 'timeout', the timer goes on running.
    pub timer_not_stopped: bool,
    /// A read that timed out is taken for an error.
    pub timeout_is_an_error: bool,
}

pub fn serve(mistakes: Mistakes) {
    let args = Args::parse(8124);
    let listener = TcpListener::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    let addr = listener.local_addr().or_exit("local address");
    println!("server: listening {addr}");
    eprintln!("listening on {addr}");
    for socket in listener.incoming() {
        let Ok(socket) = socket else { continue };
        thread::spawn(move || connection(socket, mistakes));
    }
}

fn connection(mut socket: TcpStream, mistakes: Mistakes) {
    match socket.peer_addr() {
        Ok(peer) => println!("server: connection from {peer}"),
        Err(_) => println!("server: connection from an unknown address"),
    }
    let had_error = match events(&mut socket, mistakes) {
        Ok(()) => false,
        Err(error) => {
            println!("socket: error {error}");
            true
        }
    };
    println!("socket: close, had_error {had_error}");
}

fn events(socket: &mut TcpStream, mistakes: Mistakes) -> io::Result<()> {
    socket.write_all(b"hi")?;
    let written = 2;
    let mut read = 0;
    socket.set_read_timeout(Some(IDLE))?;
    let mut buf = [0; 64 * 1024];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => {
                println!("socket: end, {read} bytes read, {written} written");
                let _ = socket.shutdown(Shutdown::Write);
                return Ok(());
            }
            Ok(n) => {
                read += n;
                println!("socket: data {n} bytes");
            }
            Err(e)
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                    && !mistakes.timeout_is_an_error =>
            {
                println!("socket: timeout, nothing for {} ms", IDLE.as_millis());
                if !mistakes.timer_not_stopped {
                    socket.set_read_timeout(None)?;
                }
                let _ = socket.shutdown(Shutdown::Write);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
