//! Solutions to the exercises of chapter 1 (`docs/01-sockets.md`) that need
//! code: the two errors a socket program meets first.

use std::io;
use std::net::{TcpListener, TcpStream};

/// Exercise 2: nothing listens, so the kernel answers the handshake with a
/// reset. Node's `net.connect` emits `'error'` with `ECONNREFUSED`.
#[test]
fn connecting_to_a_port_nobody_listens_on_is_refused() {
    // A port that was free a moment ago and that nothing listens on now.
    // "A moment ago" is not "now": another program may take the port in
    // between, so a port that turns out to be taken is traded for another.
    for _ in 0..10 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        match TcpStream::connect(("127.0.0.1", port)) {
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => return,
            _ => continue, // taken in between
        }
    }
    panic!("no port stayed closed in ten tries");
}

/// Exercise 3: one port, one listener. Node's `server.listen` emits the
/// server's `'error'` with `EADDRINUSE`.
#[test]
fn a_second_listener_on_the_same_port_is_addr_in_use() {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let error = TcpListener::bind(first.local_addr().unwrap()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
}
