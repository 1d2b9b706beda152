//! The room's limits: the numbers behind its rules, set once when the room
//! is made, with the defaults and why each is what it is.

use std::time::Duration;

/// The default for [`Limits::max_line`]: 64 KiB, far more than anyone
/// types. It is also the most one connection holds while it waits for a
/// line's `\n`.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// The default for [`Limits::max_sendq`]: 1 MiB held for one member. Enough
/// for a reader to ride out a burst (the default [flood
/// burst](DEFAULT_FLOOD_BURST) is a quarter of it); little enough that a
/// room holds at most this much for each client that stops reading, and
/// only until it is evicted. (IRC servers give a client class a SendQ of a
/// few hundred KB to a few MB; Redis cuts a pub/sub client off at 32 MB.)
pub const DEFAULT_MAX_SENDQ: usize = 1024 * 1024;

/// The default for [`Limits::max_room_sendq`]: 64 MiB for all members'
/// SendQs together, the SendQs of 64 members at their cap. A room with more
/// clients than that not reading at once evicts the largest first, so that
/// an attacker who opens many connections cannot multiply the cap. (NATS
/// holds at most 64 MB for one connection; Redis's `maxmemory-clients`, the
/// same rule for all clients together, is off unless set.)
pub const DEFAULT_MAX_ROOM_SENDQ: usize = 64 * 1024 * 1024;

/// The default for [`Limits::write_timeout`]. A member whose socket takes
/// no byte for this long, while the room has lines for it, is not reading,
/// and is evicted. (NATS's `write_deadline` is 10 s.)
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// The default for [`Limits::flood_rate`]: 1 MiB a second for one client's
/// input, after its burst. A thousand times what anyone types, so no chat
/// notices it, and slow enough that a reader on a loopback, in any
/// language, keeps up with one such sender (chapter 6 measures both).
pub const DEFAULT_FLOOD_RATE: usize = 1024 * 1024;

/// The default for [`Limits::flood_burst`]: 256 KiB read at full speed
/// before flood control slows a client down. It stays well below
/// [`DEFAULT_MAX_SENDQ`]: a burst as large as the cap could fill the SendQ of
/// a reader that reads as fast as it can, and evict it.
pub const DEFAULT_FLOOD_BURST: usize = 256 * 1024;

/// A room's limits: what it allows one client, set when the room is made
/// ([`Room::with_limits`](super::Room::with_limits)) and the same for every
/// clone of it. Each field is the number of one of the room's rules (see
/// the [module](super) docs).
///
/// Start from the defaults and change what you need; every setter takes
/// and returns the limits:
///
/// ```
/// use netcourse::chat::{Limits, Room, DEFAULT_MAX_SENDQ};
/// use std::time::Duration;
///
/// let room = Room::with_limits(
///     Limits::default()
///         .max_line(1024)
///         .write_timeout(Duration::from_millis(500))
///         .flood_rate(None), // no flood control
/// );
/// assert_eq!(room.limits().max_line, 1024);
/// assert_eq!(room.limits().max_sendq, DEFAULT_MAX_SENDQ);
/// ```
///
/// The struct is `#[non_exhaustive]`: a later version may add a limit
/// without breaking your code, which is why it is built with setters and
/// not with a struct literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest line a client may send, in bytes, not counting its `\n`
    /// (default [`DEFAULT_MAX_LINE`]). A longer one is an error for that
    /// client only: it is told, and disconnected. This also bounds what one
    /// connection buffers while it waits for a `\n`.
    pub max_line: usize,
    /// The SendQ cap: the most the room holds for one member, counted as
    /// [`SendQ`](super#the-rules) counts it (default
    /// [`DEFAULT_MAX_SENDQ`]). A member whose SendQ a line would take past
    /// it is evicted.
    pub max_sendq: usize,
    /// The room's total: the most all members' SendQs may hold together
    /// (default [`DEFAULT_MAX_ROOM_SENDQ`]). When a line would take the
    /// total past it, the members with the largest SendQs are evicted
    /// first, until it fits.
    pub max_room_sendq: usize,
    /// The write timeout: how long a member's socket may take no byte while
    /// the room has lines for it, before the member is evicted (default
    /// [`DEFAULT_WRITE_TIMEOUT`]). A zero timeout evicts a member as soon as
    /// one short write takes nothing.
    pub write_timeout: Duration,
    /// Flood control: how many bytes a second one client may send after
    /// its [burst](Limits::flood_burst), or `None` for no flood control
    /// (default [`DEFAULT_FLOOD_RATE`]). Past it, the client's own thread
    /// stops reading it for a while, so that TCP slows the flooder down,
    /// and nobody else.
    pub flood_rate: Option<usize>,
    /// How many bytes a client may send at full speed before flood control
    /// holds it to [`flood_rate`](Limits::flood_rate) (default
    /// [`DEFAULT_FLOOD_BURST`]). Keep it well below
    /// [`max_sendq`](Limits::max_sendq).
    pub flood_burst: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line: DEFAULT_MAX_LINE,
            max_sendq: DEFAULT_MAX_SENDQ,
            max_room_sendq: DEFAULT_MAX_ROOM_SENDQ,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            flood_rate: Some(DEFAULT_FLOOD_RATE),
            flood_burst: DEFAULT_FLOOD_BURST,
        }
    }
}

impl Limits {
    /// Sets [`max_line`](Limits::max_line).
    pub fn max_line(mut self, bytes: usize) -> Limits {
        self.max_line = bytes;
        self
    }

    /// Sets [`max_sendq`](Limits::max_sendq).
    pub fn max_sendq(mut self, bytes: usize) -> Limits {
        self.max_sendq = bytes;
        self
    }

    /// Sets [`max_room_sendq`](Limits::max_room_sendq).
    pub fn max_room_sendq(mut self, bytes: usize) -> Limits {
        self.max_room_sendq = bytes;
        self
    }

    /// Sets [`write_timeout`](Limits::write_timeout).
    pub fn write_timeout(mut self, timeout: Duration) -> Limits {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`flood_rate`](Limits::flood_rate): `None` turns flood control
    /// off. A rate under 1 byte a second counts as 1: a client past its
    /// burst waits as long as its bytes take at that rate.
    pub fn flood_rate(mut self, bytes_per_second: Option<usize>) -> Limits {
        self.flood_rate = bytes_per_second;
        self
    }

    /// Sets [`flood_burst`](Limits::flood_burst).
    pub fn flood_burst(mut self, bytes: usize) -> Limits {
        self.flood_burst = bytes;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_what_their_docs_say() {
        const KIB: usize = 1024;
        const MIB: usize = 1024 * KIB;
        assert_eq!(DEFAULT_MAX_LINE, 64 * KIB);
        assert_eq!(DEFAULT_MAX_SENDQ, MIB);
        // The SendQs of 64 members at their cap.
        assert_eq!(DEFAULT_MAX_ROOM_SENDQ, 64 * DEFAULT_MAX_SENDQ);
        assert_eq!(DEFAULT_WRITE_TIMEOUT, Duration::from_secs(5));
        assert_eq!(DEFAULT_FLOOD_RATE, MIB);
        // A quarter of the SendQ cap: well below it.
        assert_eq!(DEFAULT_FLOOD_BURST * 4, DEFAULT_MAX_SENDQ);
        let limits = Limits::default();
        assert_eq!(
            (limits.max_line, limits.max_sendq, limits.max_room_sendq),
            (DEFAULT_MAX_LINE, DEFAULT_MAX_SENDQ, DEFAULT_MAX_ROOM_SENDQ)
        );
        assert_eq!(limits.write_timeout, DEFAULT_WRITE_TIMEOUT);
        assert_eq!(
            (limits.flood_rate, limits.flood_burst),
            (Some(DEFAULT_FLOOD_RATE), DEFAULT_FLOOD_BURST)
        );
    }

    #[test]
    fn each_setter_sets_its_own_limit_and_no_other() {
        let default = Limits::default();
        let set = default
            .max_line(1)
            .max_sendq(2)
            .max_room_sendq(3)
            .write_timeout(Duration::from_secs(4))
            .flood_rate(Some(5))
            .flood_burst(6);
        assert_eq!((set.max_line, set.max_sendq, set.max_room_sendq), (1, 2, 3));
        assert_eq!(set.write_timeout, Duration::from_secs(4));
        assert_eq!((set.flood_rate, set.flood_burst), (Some(5), 6));
        assert_eq!(default.flood_rate(None).flood_rate, None);
        // Each alone leaves the others at their defaults.
        assert_eq!(default.max_line(1).max_sendq, DEFAULT_MAX_SENDQ);
        assert_eq!(default.flood_burst(6).flood_rate, Some(DEFAULT_FLOOD_RATE));
    }
}
