//! The ch2-server stub, with the port hard-coded (the one in `IN_USE_PORT`:
//! the tests hold it, as another program would). The old stub said
//! "cannot listen on 127.0.0.1:0", the port it was given, not the one it
//! tried.

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::net::TcpListener;

fn main() {
    let _args = Args::parse(8124);
    let port: u16 = std::env::var("IN_USE_PORT")
        .or_exit("IN_USE_PORT")
        .parse()
        .or_exit("IN_USE_PORT");
    // As the stub does, with `args.addr()` replaced by a port of its own.
    let addr = ("127.0.0.1", port);
    let listener =
        TcpListener::bind(addr).or_exit(format_args!("cannot listen on {}:{}", addr.0, addr.1));
    eprintln!(
        "listening on {}",
        listener.local_addr().or_exit("local address")
    );
}
