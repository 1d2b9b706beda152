//! B3, doc B's chat room server, on port 8080.
//!
//! Every line a client sends goes to every other client. Prints `Got a new
//! connection` and `A client connection closed` for each client, and
//! `Server error : MSG` if listening or accepting a connection fails (a port
//! in use: that line, then the one-line error on stderr), and `Server drop :
//! ADDR (WHY)` for a connection over the server's limits (`--max-connections
//! N`, `--max-per-ip N`), or one that gave its seat to a newcomer; a flood
//! of either prints one line a second. A client silent for `--idle` seconds
//! (120 unless given, 0 for never) is disconnected, so that silent clients
//! do not keep their seats for ever. The
//! snippet also listens for the server's `'close'` (`Server closed`); like
//! the snippet, this server never closes, so stop it with Ctrl-C.
//!
//! Flood control (the room's rule 6): `--flood-rate BYTES` a second per
//! client, after `--flood-burst BYTES` (the library's defaults, 1 MiB/s
//! after 256 KiB, unless given); `--flood-rate off` turns it off.
//!
//! Run: `cargo run --example chat_server [-- --host HOST --port PORT]`, then
//! `cargo run --example chat_client` in two more terminals.

mod common;

use common::{fail, Args, OrExit};
use netcourse::chat::{Limits, Room};
use netcourse::tcp::{Handler, Server, Socket};
use std::io;
use std::time::Duration;

/// The snippet's own listeners on each connection, and the idle timer the
/// snippet leaves out; the room's work (`sockets.push`, the relay,
/// `sockets.splice`) is done by the room's handler.
struct Log {
    /// How long the client may stay silent; `None` for ever.
    idle: Option<Duration>,
}

impl Handler for Log {
    // 'connection', and the client's idle timer (socket.setTimeout(idle)).
    fn on_connection(&mut self, socket: &mut Socket) -> io::Result<()> {
        common::println("Got a new connection");
        socket.set_timeout(self.idle)
    }

    // 'timeout': silent for too long; destroy() frees its seat now.
    fn on_timeout(&mut self, socket: &mut Socket) -> io::Result<()> {
        socket.destroy();
        Ok(())
    }

    // 'close'
    fn on_close(&mut self, _had_error: bool) {
        common::println("A client connection closed");
    }
}

fn main() {
    let mut args = Args::parse(8080);
    let idle = args.idle();
    // let sockets = []
    let room = Room::with_limits(flood_control(&mut args));
    let server = match Server::bind(args.addr()) {
        Ok(server) => server,
        Err(err) => {
            // Node emits the server's 'error' for a failed listen too, so the
            // snippet's listener prints its line before we give up.
            println!("Server error : {err}");
            fail(format_args!(
                "cannot listen on {}:{}: {err}",
                args.host, args.port
            ))
        }
    };
    let server = server
        // At most one line a second, so that a flood cannot flood the log.
        .on_error(|err| common::println_limited("Server error", format!("Server error : {err}")))
        .on_drop(|addr, why| {
            common::println_limited("Server drop", format!("Server drop : {addr} ({why})"))
        })
        .on_close(|| common::println("Server closed"));
    // --max-connections, --max-per-ip; the room keeps a clone of each
    // member's stream, so a member holds two descriptors.
    let server = args.seats(server, idle).descriptors_per_connection(2);
    common::say_listening(server.local_addr().or_exit("local address"));
    server
        .serve(move || room.handler_with(Log { idle }))
        .or_exit("cannot start the server");
}

/// The room's limits with `--flood-rate BYTES|off` and `--flood-burst
/// BYTES`, where given.
fn flood_control(args: &mut Args) -> Limits {
    let mut limits = Limits::default();
    match args.flag::<String>("--flood-rate").as_deref() {
        None => {}
        Some("off") => limits = limits.flood_rate(None),
        Some(rate) => {
            let rate = rate.parse().or_exit(format!(
                "bad --flood-rate '{rate}' (want bytes a second, or off)"
            ));
            limits = limits.flood_rate(Some(rate));
        }
    }
    match args.flag("--flood-burst") {
        Some(burst) => limits.flood_burst(burst),
        None => limits,
    }
}
