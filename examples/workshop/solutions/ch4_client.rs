//! A solution to the workshop's ch4-client step: A4, the UDP client, that
//! waits one second for the answer. Try your own first.

#[path = "../../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::io::ErrorKind;
use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

fn main() {
    let args = Args::parse(41234);
    let message = if args.rest.is_empty() {
        "hello world".to_string()
    } else {
        args.rest.join(" ")
    };
    // Any port, on every address of the host's family: Node's createSocket.
    let any = match args.host.parse() {
        Ok(IpAddr::V6(_)) => "[::]:0",
        _ => "0.0.0.0:0",
    };
    let client = UdpSocket::bind(any).or_exit("cannot create a UDP socket");
    let bytes = client
        .send_to(message.as_bytes(), args.addr())
        .or_exit(format_args!("cannot send to {}:{}", args.host, args.port));
    println!("sent {bytes} bytes to {}:{}", args.host, args.port);

    // Nobody tells a UDP client that nobody listens: it must stop waiting.
    client
        .set_read_timeout(Some(Duration::from_secs(1)))
        .or_exit("cannot set a timeout");
    let mut answer = vec![0; 65_527];
    match client.recv_from(&mut answer) {
        Ok((size, rinfo)) => {
            let text = String::from_utf8_lossy(&answer[..size]);
            println!("client got: {text} from {}:{}", rinfo.ip(), rinfo.port());
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            common::fail("no answer within 1 s")
        }
        Err(e) => common::fail(format_args!("cannot receive: {e}")),
    }
}
