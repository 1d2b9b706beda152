//! A UDP client that waits for its answer without a read timeout. The old
//! grader said "it was still running after 6 s", with no word of why.

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::net::UdpSocket;

fn main() {
    let args = Args::parse(41234);
    let client = UdpSocket::bind("127.0.0.1:0").or_exit("bind");
    let message = if args.rest.is_empty() {
        "hello world".to_string()
    } else {
        args.rest.join(" ")
    };
    let bytes = client
        .send_to(message.as_bytes(), args.addr())
        .or_exit("send");
    println!("sent {bytes} bytes to {}:{}", args.host, args.port);
    let mut answer = [0; 1024];
    let (size, rinfo) = client.recv_from(&mut answer).or_exit("receive");
    let text = String::from_utf8_lossy(&answer[..size]);
    println!("client got: {text} from {}:{}", rinfo.ip(), rinfo.port());
}
