//! A4, doc A's UDP client: sends `hello world` (or the words given) to port
//! 41234 on this machine, prints how many bytes went, and exits.
//!
//! UDP has no connection: `send` hands the datagram to the kernel and
//! returns, without knowing whether anything listens at the other end. So
//! with no server running this client still prints `sent 11 bytes` and exits
//! 0, as the Node snippet does; the datagram is simply lost.
//!
//! The document builds its message with `new Buffer("hello world")`,
//! deprecated since Node 6 (`Buffer.from`); here it is a byte string.
//!
//! Run: `cargo run --example udp_client [-- --host HOST --port PORT] [MESSAGE...]`.

mod common;

use common::{Args, OrExit};
use netcourse::udp::{Family, Socket};
use std::net::IpAddr;

fn main() {
    let args = Args::parse(41234);
    let message = if args.rest.is_empty() {
        "hello world".to_string()
    } else {
        args.rest.join(" ")
    };
    // dgram.createSocket("udp4"), as the document; "udp6" for an IPv6 --host.
    let family = match args.host.parse() {
        Ok(IpAddr::V6(_)) => Family::IPv6,
        _ => Family::IPv4,
    };
    let client = Socket::create(family).or_exit("cannot create a UDP socket");
    let message = message.as_bytes();
    let bytes = client
        .send(message, 0, message.len(), args.port, args.host.as_str())
        .or_exit(format_args!("cannot send to {}:{}", args.host, args.port));
    // The send callback: it gets `bytes`, then calls client.close(); here
    // the socket closes when it is dropped, at the end of main.
    println!("sent {bytes} bytes to {}:{}", args.host, args.port);
}
