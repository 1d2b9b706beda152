//! The server's seats: how many connections it holds at once, in all and
//! from each address, and why it turns one away ([`DropReason`], what the
//! server's `'drop'` listener hears). Chapter 3 teaches these rules ("The
//! connection limit"). They are numbers only, so a test can play any
//! address; the server takes a seat for each connection `accept` returns,
//! and the connection's thread gives it back.

use std::collections::hash_map::{Entry, HashMap};
use std::fmt;
use std::net::IpAddr;

/// What [`default_max_connections`] returns where std cannot read the
/// process's limits (anywhere but Linux and Android): a guess, enough for
/// most programs and few enough threads for any machine. Where the process
/// may open fewer descriptors (macOS starts a shell with 256), `accept`
/// fails first, and its back-off (see [`Server::on_error`](super::Server::on_error)) takes over,
/// unless you set [`Server::max_connections`](super::Server::max_connections) lower.
pub const FALLBACK_MAX_CONNECTIONS: usize = 1024;

/// Descriptors [`default_max_connections`] leaves to the rest of the
/// process: stdin, stdout and stderr, the listener, the wake-up connection
/// of [`ServerHandle::close`](super::ServerHandle::close), a pipe or a file a program opens.
const RESERVED_DESCRIPTORS: u64 = 32;

/// Descriptors one connection may hold: its socket, and the clone
/// (`try_clone`) that a second thread writes through, as a
/// [`chat::Room`](crate::chat::Room) keeps for each peer.
const DESCRIPTORS_PER_CONNECTION: u64 = 2;

/// Threads one connection may run: its own, and a chat peer's writer.
const THREADS_PER_CONNECTION: u64 = 2;

/// The default [`Server::max_connections_per_ip`](super::Server::max_connections_per_ip) is the total divided by
/// this: one address may hold an eighth of the seats.
pub(super) const ADDRESS_SHARE: usize = 8;

/// The default for [`Server::max_connections`](super::Server::max_connections): as many connections as this
/// process can hold open at once.
///
/// Each connection is a thread and a descriptor (two for a chat peer), and
/// a process may open only so many of either: on Linux and macOS, past its
/// open-files limit (`ulimit -n`) `accept` fails with `EMFILE`, and every
/// other client with it. So on Linux this reads the soft limits in `/proc/self/limits`,
/// leaves a few descriptors for the rest of the process, and counts two per
/// connection; it takes the smaller of that and half the `Max processes`
/// limit (which counts threads, for the whole user). Elsewhere, where std
/// cannot read the limits, it is [`FALLBACK_MAX_CONNECTIONS`].
///
/// Memory is not counted: an idle connection costs a few pages (chapter 6
/// of the course measures it), so a process allowed a million descriptors
/// should set [`Server::max_connections`](super::Server::max_connections) itself, and a server that must
/// hold that many wants an event loop (epoll on Linux, kqueue on macOS, I/O
/// completion ports on Windows, or async Rust), not threads.
pub fn default_max_connections() -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(max) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| max_connections_for(&limits))
    {
        return max;
    }
    FALLBACK_MAX_CONNECTIONS
}

/// How many connections the limits in `limits` (the text of
/// `/proc/self/limits`) allow, or `None` if they do not say how many files
/// may be open.
// Only Linux and Android read the file; elsewhere only the tests call this.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn max_connections_for(limits: &str) -> Option<usize> {
    let files = soft_limit(limits, "Max open files")?;
    let by_files = files.saturating_sub(RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION;
    // "unlimited" reads as u64::MAX, which takes no part in the minimum.
    let by_threads =
        soft_limit(limits, "Max processes").unwrap_or(u64::MAX) / THREADS_PER_CONNECTION;
    let max = by_files.min(by_threads).max(1);
    Some(usize::try_from(max).unwrap_or(usize::MAX))
}

/// The soft limit on the line of `limits` that starts with `name`:
///
/// ```text
/// Limit                     Soft Limit           Hard Limit           Units
/// Max open files            1024                 524288               files
/// ```
///
/// `unlimited` is `u64::MAX`.
fn soft_limit(limits: &str, name: &str) -> Option<u64> {
    let line = limits.lines().find(|line| line.starts_with(name))?;
    match line[name.len()..].split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        soft => soft.parse().ok(),
    }
}

/// Why the server dropped a connection: what its `'drop'` listener
/// ([`Server::on_drop`](super::Server::on_drop)) hears besides the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Every seat was taken: [`Server::max_connections`](super::Server::max_connections) connections were
    /// open. Node's `maxConnections`, and its only reason.
    ServerFull,
    /// Seats remained, but the peer's IP address held
    /// [`Server::max_connections_per_ip`](super::Server::max_connections_per_ip) connections already.
    AddressFull,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::ServerFull => "the server is full",
            DropReason::AddressFull => "too many connections from this address",
        })
    }
}

/// The server's seats: how many connections are open, in all and from each
/// IP address, against the server's two limits. Numbers only, so a test can
/// play any address: the server's thread takes a seat for each connection
/// `accept` returns (or closes it, and says why), and the connection's
/// thread gives it back through its `Seat` (in `server.rs`).
#[derive(Debug)]
pub(super) struct Seats {
    /// [`Server::max_connections`](super::Server::max_connections).
    max: usize,
    /// [`Server::max_connections_per_ip`](super::Server::max_connections_per_ip).
    max_per_address: usize,
    /// Connections open now.
    open: usize,
    /// Connections open now from each address. An address whose last one
    /// has closed is removed, so this holds at most `max` entries, however
    /// many addresses come and go.
    by_address: HashMap<IpAddr, usize>,
}

impl Seats {
    pub(super) fn new(max: usize, max_per_address: usize) -> Seats {
        Seats {
            max,
            max_per_address,
            open: 0,
            by_address: HashMap::new(),
        }
    }

    /// A seat for a connection from `ip`, or why there is none: no seat
    /// at all, or seats, but none for this address.
    pub(super) fn take(&mut self, ip: IpAddr) -> Result<(), DropReason> {
        let ip = ip.to_canonical();
        if self.open >= self.max {
            return Err(DropReason::ServerFull);
        }
        if self.by_address.get(&ip).copied().unwrap_or(0) >= self.max_per_address {
            return Err(DropReason::AddressFull);
        }
        self.open += 1;
        *self.by_address.entry(ip).or_insert(0) += 1;
        Ok(())
    }

    /// Gives back a seat that [`take`](Seats::take) gave a connection from
    /// `ip`.
    pub(super) fn release(&mut self, ip: IpAddr) {
        if let Entry::Occupied(mut entry) = self.by_address.entry(ip.to_canonical()) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
            self.open -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses no test machine can connect from: the seats are numbers,
    /// and any address will do.
    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn one_address_takes_its_share_and_the_others_the_rest() {
        let mut seats = Seats::new(64, 16);
        let attacker = ip("192.0.2.1");
        for _ in 0..16 {
            seats.take(attacker).unwrap();
        }
        // The 17th from the same address: refused, with seats to spare.
        assert_eq!(seats.take(attacker), Err(DropReason::AddressFull));
        assert_eq!(seats.open, 16);
        // Three more addresses fill the server...
        for n in 2..=4 {
            for _ in 0..16 {
                seats.take(ip(&format!("192.0.2.{n}"))).unwrap();
            }
        }
        // ...and then everyone is refused, for want of any seat.
        assert_eq!(seats.take(ip("198.51.100.7")), Err(DropReason::ServerFull));
        assert_eq!(seats.take(attacker), Err(DropReason::ServerFull));
    }

    #[test]
    fn a_seat_given_back_is_free_again_and_forgotten_at_zero() {
        let mut seats = Seats::new(2, 1);
        let (a, b) = (ip("192.0.2.1"), ip("2001:db8::1"));
        seats.take(a).unwrap();
        seats.take(b).unwrap();
        assert_eq!(seats.take(ip("192.0.2.3")), Err(DropReason::ServerFull));
        seats.release(a);
        assert!(!seats.by_address.contains_key(&a));
        seats.take(ip("192.0.2.3")).unwrap();
        // Giving back a seat that was never taken changes nothing.
        seats.release(ip("203.0.113.9"));
        assert_eq!(seats.open, 2);
    }

    #[test]
    fn an_ipv4_client_of_an_ipv6_listener_counts_as_its_ipv4_address() {
        let mut seats = Seats::new(8, 1);
        seats.take(ip("192.0.2.1")).unwrap();
        assert_eq!(
            seats.take(ip("::ffff:192.0.2.1")),
            Err(DropReason::AddressFull)
        );
        seats.release(ip("::ffff:192.0.2.1"));
        assert_eq!(seats.open, 0);
    }

    /// `/proc/self/limits` as Linux 6 writes it (trimmed).
    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max stack size            8388608              unlimited            bytes     
Max processes             96364                96364                processes 
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
";

    #[test]
    fn limits_are_read_from_the_soft_column() {
        assert_eq!(soft_limit(LIMITS, "Max open files"), Some(1024));
        assert_eq!(soft_limit(LIMITS, "Max cpu time"), Some(u64::MAX));
        assert_eq!(soft_limit(LIMITS, "Max nice priority"), None);
        assert_eq!(soft_limit("Max open files  many", "Max open files"), None);
    }

    #[test]
    fn the_total_leaves_room_and_counts_two_descriptors_a_connection() {
        // (1024 - 32) / 2: the files decide, not the 96,364 processes.
        assert_eq!(max_connections_for(LIMITS), Some(496));
        let few_threads = LIMITS.replace("96364                96364", "200 200");
        assert_eq!(max_connections_for(&few_threads), Some(100));
        let no_thread_limit = LIMITS.replace("96364                96364", "unlimited unlimited");
        assert_eq!(max_connections_for(&no_thread_limit), Some(496));
        // A tiny limit still leaves one seat; no limit line, no answer.
        let tiny = LIMITS.replace("1024  ", "40    ");
        assert_eq!(max_connections_for(&tiny), Some(4));
        let tinier = LIMITS.replace("1024  ", "8     ");
        assert_eq!(max_connections_for(&tinier), Some(1));
        assert_eq!(max_connections_for("Limit Soft Limit\n"), None);
    }

    #[test]
    fn the_default_total_is_at_least_one() {
        assert!(default_max_connections() >= 1);
    }
}
