//! A solution to the workshop's ch4-server step: A3, the UDP server, that
//! answers every datagram. Try your own first.

#[path = "../../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::net::UdpSocket;

/// The largest datagram there is (over IPv6; 65,507 bytes over IPv4).
const MAX_DATAGRAM: usize = 65_527;

fn main() {
    let args = Args::parse(41234);
    let server = UdpSocket::bind(args.addr())
        .or_exit(format_args!("cannot listen on {}:{}", args.host, args.port));
    // 'listening'
    let address = server.local_addr().or_exit("local address");
    println!("server listening {}:{}", address.ip(), address.port());
    eprintln!("listening on {address}");

    // Big enough for any datagram, so that none is cut.
    let mut msg = vec![0; MAX_DATAGRAM];
    loop {
        // 'message': one whole datagram, and who sent it (rinfo).
        let Ok((size, rinfo)) = server.recv_from(&mut msg) else {
            continue;
        };
        let text = String::from_utf8_lossy(&msg[..size]);
        println!("server got: {text} from {}:{}", rinfo.ip(), rinfo.port());
        // The answer goes back to the sender. If it is lost, so be it: UDP.
        let answer = format!("got {size} bytes");
        let _ = server.send_to(answer.as_bytes(), rinfo);
    }
}
