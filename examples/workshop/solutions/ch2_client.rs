//! A solution to the workshop's ch2-client step: A2, the client, with
//! nothing but `std::net`. Try your own first.

#[path = "../../common/mod.rs"]
mod common;

use common::{Args, OrExit};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

fn main() {
    let args = Args::parse(8124);
    let mut client =
        TcpStream::connect(args.addr()).or_exit(format_args!("{}:{}", args.host, args.port));
    // 'connect'
    println!("client connected");
    client.write_all(b"world!\r\n").or_exit("cannot send");

    let mut buf = [0; 8 * 1024];
    let mut ended = false;
    loop {
        match client.read(&mut buf).or_exit("cannot read") {
            // 'end': the server's FIN.
            0 => break,
            // 'data': print it; after the first, end our side.
            n => {
                println!("{}", String::from_utf8_lossy(&buf[..n]));
                if !ended {
                    client.shutdown(Shutdown::Write).or_exit("cannot end");
                    ended = true;
                }
            }
        }
    }
    println!("client disconnected");
}
