//! The server's seats: how many connections it holds at once, in all and
//! from each address, which one gives its seat up when a newcomer finds
//! them all taken, and why a connection is turned away ([`DropReason`],
//! what the server's `'drop'` listener hears). Chapter 3 teaches these
//! rules ("The connection limit", "Seats no crowd can take").
//!
//! The server takes a seat for each connection `accept` returns, and the
//! connection's thread gives it back just before its `'close'`. Everything
//! here is counting, so a test can play any address.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What [`default_max_connections`] returns where std cannot read the
/// process's limits (anywhere but Linux and Android): a guess, enough for
/// most programs and few enough threads for any machine. Where the process
/// may open fewer descriptors (macOS starts a shell with 256), `accept`
/// fails first, and its back-off (see
/// [`Server::on_error`](super::Server::on_error)) takes over, unless you set
/// [`Server::max_connections`](super::Server::max_connections) lower.
pub const FALLBACK_MAX_CONNECTIONS: usize = 1024;

/// Descriptors the process holds besides the server's connections: stdin,
/// stdout and stderr, the listener, the wake-up connection of
/// [`ServerHandle::close`](super::ServerHandle::close) (both its ends), a
/// pipe or a file a program opens.
const RESERVED_DESCRIPTORS: u64 = 32;

/// How many accepted connections may wait between the accept loop and the
/// server's thread, which seats them: while that many wait, the accept loop
/// waits too, and new clients wait in the kernel's queue (the listen
/// backlog), where they cost the process no descriptor. So connections that
/// are accepted but not yet seated hold at most this many descriptors, plus
/// the one the accept loop holds and the one the server's thread is seating.
pub(super) const ACCEPT_QUEUE: usize = 32;

/// How many seats may be reclaimed at once before their connections have
/// closed: each still holds its descriptor until its thread has heard
/// `'close'`. When this many are closing, a newcomer to a full server is
/// dropped ([`DropReason::ServerFull`]) rather than take one more.
pub(super) const MAX_RECLAIMING: usize = 16;

/// Every descriptor the server may hold outside its seats:
/// [`RESERVED_DESCRIPTORS`], the accept queue and the two in hand, and the
/// reclaimed seats still closing. [`default_max_connections`] leaves these
/// out, so that `accept` never fails for want of a descriptor.
const OUTSIDE_SEATS: u64 = RESERVED_DESCRIPTORS + ACCEPT_QUEUE as u64 + 2 + MAX_RECLAIMING as u64;

/// Threads one connection may run: its own, and a chat peer's writer.
const THREADS_PER_CONNECTION: u64 = 2;

/// The default [`Server::max_connections_per_ip`](super::Server::max_connections_per_ip)
/// is the total divided by this: one address may hold an eighth of the
/// seats.
pub(super) const ADDRESS_SHARE: usize = 8;

/// The default for [`Server::max_connections`](super::Server::max_connections):
/// as many connections as this process can hold open at once, each holding
/// `descriptors_per_connection` descriptors (1 for a connection's socket; 2
/// for a [`chat::Room`](crate::chat::Room)'s member, whose stream the room
/// keeps a clone of: see
/// [`Server::descriptors_per_connection`](super::Server::descriptors_per_connection)).
///
/// Each connection is a thread and its descriptors, and a process may open
/// only so many of either: on Linux and macOS, past its open-files limit
/// (`ulimit -n`) `accept` fails with `EMFILE`, and every other client with
/// it. So on Linux this reads the soft limits in `/proc/self/limits`, leaves
/// out the descriptors the server holds outside its seats (a few for the
/// process, the accept queue, seats being reclaimed), and divides the rest;
/// it takes the smaller of that and half the `Max processes` limit (which
/// counts threads, for the whole user). Elsewhere, where std cannot read the
/// limits, it is [`FALLBACK_MAX_CONNECTIONS`].
///
/// Memory is not counted: an idle connection costs a few pages (chapter 6
/// of the course measures it), so a process allowed a million descriptors
/// should set [`Server::max_connections`](super::Server::max_connections)
/// itself, and a server that must hold that many wants an event loop (epoll
/// on Linux, kqueue on macOS, I/O completion ports on Windows, or async
/// Rust), not threads.
pub fn default_max_connections(descriptors_per_connection: usize) -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(max) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| max_connections_for(&limits, descriptors_per_connection))
    {
        return max;
    }
    let _ = descriptors_per_connection;
    FALLBACK_MAX_CONNECTIONS
}

/// How many connections the limits in `limits` (the text of
/// `/proc/self/limits`) allow, each holding `descriptors` descriptors, or
/// `None` if they do not say how many files may be open. At least one: a
/// server with no seat at all could not be told apart from a broken one.
// Only Linux and Android read the file; elsewhere only the tests call this.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn max_connections_for(limits: &str, descriptors: usize) -> Option<usize> {
    let files = soft_limit(limits, "Max open files")?;
    let descriptors = u64::try_from(descriptors.max(1)).unwrap_or(u64::MAX);
    let by_files = files.saturating_sub(OUTSIDE_SEATS) / descriptors;
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
    /// Every seat was taken, and none could be reclaimed: 16 connections
    /// that gave their seats up were still closing, the most the server
    /// lets close at once. Node's `maxConnections` refuses every newcomer
    /// to a full server this way.
    ServerFull,
    /// Seats remained, but the peer's address (its IPv6 /64) held
    /// [`Server::max_connections_per_ip`](super::Server::max_connections_per_ip)
    /// connections already.
    AddressFull,
    /// An open connection, not a newcomer: a newcomer found every seat
    /// taken, and this connection, idle longest, gave its seat up. Its
    /// handler hears `'error'` (`ConnectionAborted`, with this reason), then
    /// `'close'`.
    Reclaimed,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::ServerFull => "the server is full",
            DropReason::AddressFull => "too many connections from this address",
            DropReason::Reclaimed => "idle longest: its seat went to a newcomer",
        })
    }
}

/// The address group a seat is counted under: an IPv4 address is one
/// group, and so is an IPv6 /64, the block one network (a home, a server)
/// is given, in which one machine can pick as many addresses as it likes.
/// An IPv4 client of an IPv6 listener (`::ffff:a.b.c.d`) counts as its IPv4
/// address.
fn group(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 => v4,
    }
}

/// What the seats know of one seated connection while it runs: when it
/// was last heard from, and whether its seat has been reclaimed. Shared by
/// the seats and the connection's read loop, which writes the first
/// (`heard`, at each `'data'`) and reads the second.
#[derive(Debug)]
pub(super) struct Activity {
    /// The seats' clock: when the server started.
    epoch: Instant,
    /// Nanoseconds from `epoch` to the last `'data'` (or to `accept`): fine
    /// enough that of two events one after the other, the later reads
    /// later.
    last_heard: AtomicU64,
    /// Set when a newcomer took this connection's seat.
    reclaimed: AtomicBool,
}

impl Activity {
    fn new(epoch: Instant) -> Activity {
        let activity = Activity {
            epoch,
            last_heard: AtomicU64::new(0),
            reclaimed: AtomicBool::new(false),
        };
        activity.heard();
        activity
    }

    /// The connection was heard from just now.
    pub(super) fn heard(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_heard.store(now, Ordering::Relaxed);
    }

    /// Whether a newcomer has taken this connection's seat.
    pub(super) fn is_reclaimed(&self) -> bool {
        self.reclaimed.load(Ordering::SeqCst)
    }

    /// The error a reclaimed connection ends with: its handler's `'error'`.
    pub(super) fn reclaimed_error() -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!("the server was full: {}", DropReason::Reclaimed),
        )
    }
}

/// One seated connection, as the seats see it.
#[derive(Debug)]
struct Seated {
    remote: SocketAddr,
    activity: Arc<Activity>,
}

/// A connection whose seat a newcomer took: the server ends it and tells
/// its `'drop'` listener.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Reclaimed {
    /// The connection's number, its key in the server's list of open ones.
    pub(super) id: u64,
    pub(super) remote: SocketAddr,
}

/// The server's seats: which connections hold one, counted in all and by
/// address group, against the server's two limits; and, when they are all
/// taken, which one gives its seat to a newcomer.
#[derive(Debug)]
pub(super) struct Seats {
    /// [`Server::max_connections`](super::Server::max_connections).
    max: usize,
    /// [`Server::max_connections_per_ip`](super::Server::max_connections_per_ip).
    max_per_group: usize,
    /// The clock of every [`Activity`].
    epoch: Instant,
    /// The seated connections, by number.
    seated: HashMap<u64, Seated>,
    /// Seated connections from each address group. A group whose last one
    /// has closed is removed, so this holds at most `max` entries, however
    /// many addresses come and go.
    by_group: HashMap<IpAddr, usize>,
    /// Connections whose seat was reclaimed and which have not closed yet:
    /// at most [`MAX_RECLAIMING`].
    reclaiming: HashSet<u64>,
}

impl Seats {
    pub(super) fn new(max: usize, max_per_group: usize) -> Seats {
        Seats {
            max,
            max_per_group,
            epoch: Instant::now(),
            seated: HashMap::new(),
            by_group: HashMap::new(),
            reclaiming: HashSet::new(),
        }
    }

    /// A seat for connection `id` from `remote`, and the connection that
    /// gave its seat up for it if every seat was taken; or why there is
    /// none.
    ///
    /// The rules, in order: an address group holds at most its share
    /// ([`DropReason::AddressFull`]); when every seat is taken, the
    /// connection heard from least recently (the earliest accepted, should
    /// two have been heard from at the same nanosecond) gives its seat up, unless
    /// [`MAX_RECLAIMING`] are still closing ([`DropReason::ServerFull`]).
    pub(super) fn take(
        &mut self,
        id: u64,
        remote: SocketAddr,
    ) -> Result<(Arc<Activity>, Option<Reclaimed>), DropReason> {
        let group = group(remote.ip());
        if self.by_group.get(&group).copied().unwrap_or(0) >= self.max_per_group {
            return Err(DropReason::AddressFull);
        }
        let mut reclaimed = None;
        if self.seated.len() >= self.max {
            if self.reclaiming.len() >= MAX_RECLAIMING {
                return Err(DropReason::ServerFull);
            }
            let idle_longest = self
                .seated
                .iter()
                .min_by_key(|(id, seated)| {
                    (seated.activity.last_heard.load(Ordering::Relaxed), **id)
                })
                .map(|(id, _)| *id);
            let Some(victim) = idle_longest else {
                return Err(DropReason::ServerFull); // max is 0: no seat at all
            };
            let seated = self.unseat(victim).expect("a seated connection");
            seated.activity.reclaimed.store(true, Ordering::SeqCst);
            self.reclaiming.insert(victim);
            reclaimed = Some(Reclaimed {
                id: victim,
                remote: seated.remote,
            });
        }
        let activity = Arc::new(Activity::new(self.epoch));
        *self.by_group.entry(group).or_insert(0) += 1;
        let seated = Seated {
            remote,
            activity: Arc::clone(&activity),
        };
        self.seated.insert(id, seated);
        Ok((activity, reclaimed))
    }

    /// Gives back the seat of connection `id`, now closed: its own, or the
    /// one it gave a newcomer (then it was still counted as closing).
    pub(super) fn release(&mut self, id: u64) {
        if !self.reclaiming.remove(&id) {
            self.unseat(id);
        }
    }

    /// Takes connection `id` off its seat and its group's count.
    fn unseat(&mut self, id: u64) -> Option<Seated> {
        let seated = self.seated.remove(&id)?;
        let group = group(seated.remote.ip());
        if let Some(count) = self.by_group.get_mut(&group) {
            *count -= 1;
            if *count == 0 {
                self.by_group.remove(&group);
            }
        }
        Some(seated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses no test machine can connect from: the seats are counts,
    /// and any address will do.
    fn from(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40_000)
    }

    /// Fills `seats` with `n` connections from `ip`, numbered from `first`.
    fn fill(seats: &mut Seats, first: u64, n: u64, ip: &str) {
        for id in first..first + n {
            let (_, reclaimed) = seats.take(id, from(ip)).unwrap();
            assert_eq!(reclaimed, None);
        }
    }

    /// Connection `id` was last heard from at `at` (nanoseconds, here
    /// chosen by the test).
    fn heard_at(seats: &Seats, id: u64, at: u64) {
        seats.seated[&id]
            .activity
            .last_heard
            .store(at, Ordering::Relaxed);
    }

    #[test]
    fn one_address_takes_its_share_and_the_others_the_rest() {
        let mut seats = Seats::new(64, 16);
        fill(&mut seats, 0, 16, "192.0.2.1");
        // The 17th from the same address: refused, with seats to spare.
        assert_eq!(
            seats.take(16, from("192.0.2.1")).err(),
            Some(DropReason::AddressFull)
        );
        assert_eq!(seats.seated.len(), 16);
        // Three more addresses fill the server.
        for n in 2..=4 {
            fill(&mut seats, n * 100, 16, &format!("192.0.2.{n}"));
        }
        assert_eq!(seats.seated.len(), 64);
        // The attacker is still held to its share, full server or not.
        assert_eq!(
            seats.take(999, from("192.0.2.1")).err(),
            Some(DropReason::AddressFull)
        );
    }

    #[test]
    fn a_newcomer_to_a_full_server_takes_the_seat_idle_longest() {
        let mut seats = Seats::new(4, 4);
        fill(&mut seats, 0, 4, "192.0.2.1");
        for (id, at) in [(0, 50), (1, 10), (2, 30), (3, 10)] {
            heard_at(&seats, id, at);
        }
        let heard_last = u64::MAX;
        // 1 and 3 were heard from at the same time, longest ago: the
        // earlier accepted gives its seat up.
        let (_, reclaimed) = seats.take(10, from("198.51.100.7")).unwrap();
        let victim = reclaimed.expect("a seat given up");
        assert_eq!((victim.id, victim.remote), (1, from("192.0.2.1")));
        heard_at(&seats, 10, heard_last);
        assert!(seats.reclaiming.contains(&1));
        assert!(!seats.seated.contains_key(&1));
        assert_eq!(seats.seated.len(), 4);
        // The next newcomer takes 3's seat.
        let (_, reclaimed) = seats.take(11, from("198.51.100.8")).unwrap();
        assert_eq!(reclaimed.map(|r| r.id), Some(3));
        // A closing connection gives back nothing twice, and is forgotten.
        seats.release(1);
        seats.release(1);
        assert!(!seats.reclaiming.contains(&1));
        assert_eq!(seats.seated.len(), 4);
    }

    #[test]
    fn a_reclaimed_connection_is_told_and_its_group_forgets_it() {
        let mut seats = Seats::new(1, 1);
        let (first, _) = seats.take(0, from("192.0.2.1")).unwrap();
        assert!(!first.is_reclaimed());
        let (_, reclaimed) = seats.take(1, from("192.0.2.2")).unwrap();
        assert_eq!(reclaimed.map(|r| r.id), Some(0));
        assert!(first.is_reclaimed());
        // 192.0.2.1 holds nothing now: it may come back (and take 1's seat).
        assert!(!seats.by_group.contains_key(&group(from("192.0.2.1").ip())));
        assert!(seats.take(2, from("192.0.2.1")).is_ok());
    }

    #[test]
    fn no_more_than_max_reclaiming_seats_close_at_once() {
        let mut seats = Seats::new(1, 1);
        seats.take(0, from("192.0.2.1")).unwrap();
        for id in 1..=MAX_RECLAIMING as u64 {
            let (_, reclaimed) = seats.take(id, from(&format!("198.51.100.{id}"))).unwrap();
            assert_eq!(reclaimed.map(|r| r.id), Some(id - 1));
        }
        // MAX_RECLAIMING connections are still closing: the next is dropped.
        assert_eq!(
            seats.take(100, from("203.0.113.1")).err(),
            Some(DropReason::ServerFull)
        );
        // One of them closes: a newcomer may reclaim again.
        seats.release(0);
        assert!(seats.take(101, from("203.0.113.2")).is_ok());
    }

    #[test]
    fn a_seat_given_back_is_free_again_and_forgotten_at_zero() {
        let mut seats = Seats::new(2, 1);
        seats.take(0, from("192.0.2.1")).unwrap();
        seats.take(1, from("2001:db8::1")).unwrap();
        seats.release(0);
        assert!(!seats.by_group.contains_key(&group(from("192.0.2.1").ip())));
        let (_, reclaimed) = seats.take(2, from("192.0.2.3")).unwrap();
        assert_eq!(reclaimed, None, "a free seat, nothing reclaimed");
        // Giving back a seat that was never taken changes nothing.
        seats.release(99);
        assert_eq!(seats.seated.len(), 2);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_group_and_ipv4_addresses_are_apart() {
        let mut seats = Seats::new(8, 1);
        seats.take(0, from("2001:db8:1:2::1")).unwrap();
        // Another address in the same /64: the same host.
        assert_eq!(
            seats
                .take(1, from("2001:db8:1:2:ffff:ffff:ffff:ffff"))
                .err(),
            Some(DropReason::AddressFull)
        );
        // The next /64 is another network.
        assert!(seats.take(2, from("2001:db8:1:3::1")).is_ok());
        // An IPv4 /24 is not grouped: two neighbours are two addresses.
        seats.take(3, from("192.0.2.1")).unwrap();
        assert!(seats.take(4, from("192.0.2.2")).is_ok());
    }

    #[test]
    fn an_ipv4_client_of_an_ipv6_listener_counts_as_its_ipv4_address() {
        let mut seats = Seats::new(8, 1);
        seats.take(0, from("192.0.2.1")).unwrap();
        assert_eq!(
            seats.take(1, from("::ffff:192.0.2.1")).err(),
            Some(DropReason::AddressFull)
        );
        seats.release(0);
        assert!(seats.by_group.is_empty());
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
    fn the_total_leaves_what_the_server_holds_outside_its_seats() {
        // 1024 - (32 + 32 + 2 + 16) = 942 descriptors for seats: the files
        // decide, not the 96,364 processes.
        assert_eq!(OUTSIDE_SEATS, 82);
        assert_eq!(max_connections_for(LIMITS, 1), Some(942));
        // A chat room's member holds two.
        assert_eq!(max_connections_for(LIMITS, 2), Some(471));
        let few_threads = LIMITS.replace("96364                96364", "200 200");
        assert_eq!(max_connections_for(&few_threads, 1), Some(100));
        let no_thread_limit = LIMITS.replace("96364                96364", "unlimited unlimited");
        assert_eq!(max_connections_for(&no_thread_limit, 1), Some(942));
        // A tiny limit still leaves one seat; no limit line, no answer.
        let tiny = LIMITS.replace("1024  ", "90    ");
        assert_eq!(max_connections_for(&tiny, 1), Some(8));
        let tinier = LIMITS.replace("1024  ", "8     ");
        assert_eq!(max_connections_for(&tinier, 1), Some(1));
        assert_eq!(max_connections_for("Limit Soft Limit\n", 1), None);
    }

    /// The default is read from this process's own limits, as the test
    /// above reads a sample of them, for each count of descriptors.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_default_total_is_read_from_this_process_limits() {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        for descriptors in [1, 2] {
            assert_eq!(
                Some(default_max_connections(descriptors)),
                max_connections_for(&limits, descriptors)
            );
        }
    }
}
