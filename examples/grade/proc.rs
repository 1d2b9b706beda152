//! What the grader asks the operating system about the learner's program:
//! which ports it listens on, and how much memory it holds. Linux tells,
//! in its `/proc` files; elsewhere each function returns `None`, and the
//! grader says plainly which check it could not make.
//!
//! - `/proc/PID/fd/N` are links, `socket:[INODE]` for each socket the
//!   process has open;
//! - `/proc/PID/net/tcp` (`tcp6`, `udp`, `udp6`) list every socket of the
//!   process's network namespace, one a line, with its local address and
//!   port, its state, its queues and its inode: a socket is the program's
//!   own when its inode is one of the program's;
//! - `/proc/PID/status` has `VmHWM`, the most memory the process has held
//!   in RAM (its peak resident set size).

use std::collections::HashSet;
use std::fs;

/// A socket's protocol, and so which tables list it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

/// One line of `/proc/PID/net/tcp`: a socket.
struct Socket {
    local_port: u16,
    remote_port: u16,
    /// `0A` is TCP's LISTEN.
    state: u8,
    /// Bytes waiting to be sent (or to be acknowledged).
    tx_queue: u64,
    /// Bytes received and not read yet.
    rx_queue: u64,
    inode: u64,
}

/// The sockets that `/proc/PID/net/FILE` lists, for each FILE of `files`.
fn sockets(pid: u32, files: &[&str]) -> Option<Vec<Socket>> {
    let mut sockets = Vec::new();
    for file in files {
        let table = fs::read_to_string(format!("/proc/{pid}/net/{file}")).ok()?;
        // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when
        //  retrnsmt uid timeout inode ...", after a line of headings.
        for line in table.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = |field: &str| {
                let (_, port) = field.rsplit_once(':')?;
                u16::from_str_radix(port, 16).ok()
            };
            let socket = || {
                let (tx, rx) = fields.get(4)?.split_once(':')?;
                Some(Socket {
                    local_port: port(fields.get(1)?)?,
                    remote_port: port(fields.get(2)?)?,
                    state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
                    tx_queue: u64::from_str_radix(tx, 16).ok()?,
                    rx_queue: u64::from_str_radix(rx, 16).ok()?,
                    inode: fields.get(9)?.parse().ok()?,
                })
            };
            if let Some(socket) = socket() {
                sockets.push(socket);
            }
        }
    }
    Some(sockets)
}

/// The inodes of the sockets the process has open.
fn inodes(pid: u32) -> Option<HashSet<u64>> {
    let mut inodes = HashSet::new();
    for fd in fs::read_dir(format!("/proc/{pid}/fd")).ok()? {
        let Ok(link) = fs::read_link(fd.ok()?.path()) else {
            continue; // closed since the directory was read
        };
        let link = link.to_string_lossy();
        if let Some(inode) = link
            .strip_prefix("socket:[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|inode| inode.parse().ok())
        {
            inodes.insert(inode);
        }
    }
    Some(inodes)
}

/// The ports the process `pid` itself listens on (TCP) or is bound to
/// (UDP), in order; `None` where `/proc` cannot tell.
pub fn own_ports(pid: u32, transport: Transport) -> Option<Vec<u16>> {
    let own = inodes(pid)?;
    let (files, listening): (&[&str], fn(&Socket) -> bool) = match transport {
        Transport::Tcp => (&["tcp", "tcp6"], |socket| socket.state == 0x0A),
        Transport::Udp => (&["udp", "udp6"], |_| true),
    };
    let mut ports: Vec<u16> = sockets(pid, files)?
        .iter()
        .filter(|socket| own.contains(&socket.inode) && listening(socket))
        .map(|socket| socket.local_port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    Some(ports)
}

/// The bytes on their way to the server on `port`, in the kernel: sent by
/// its clients and not read by the server yet (in the clients' send queues,
/// or in the server's receive queues). `None` where `/proc` cannot tell.
pub fn to_server(pid: u32, port: u16) -> Option<u64> {
    let sockets = sockets(pid, &["tcp", "tcp6"])?;
    let queued = sockets
        .iter()
        .filter(|socket| socket.state != 0x0A)
        .map(|socket| match socket {
            // The server's end of a connection: what it has not read.
            _ if socket.local_port == port => socket.rx_queue,
            // A client's end: what it has not sent yet.
            _ if socket.remote_port == port => socket.tx_queue,
            _ => 0,
        })
        .sum();
    Some(queued)
}

/// The most memory the process has held in RAM so far (`VmHWM`), in
/// bytes; `None` where `/proc` cannot tell.
pub fn peak_memory(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    // "VmHWM:	    2048 kB"
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
