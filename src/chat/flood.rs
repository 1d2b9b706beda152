//! Flood control, IRC's answer to a client that sends faster than anyone
//! can read: each connection may send so many bytes a second, after a
//! burst, and its own thread keeps count (a *token bucket*). Past its
//! allowance the thread sleeps before it reads again, so the flooder's
//! socket fills and TCP slows the flooder down, and nobody else: no other
//! client's thread ever waits for it.

use std::thread;
use std::time::{Duration, Instant};

/// One connection's allowance ([`Limits::flood_rate`] and
/// [`Limits::flood_burst`]): a bucket that holds up to `burst` bytes'
/// worth of tokens and fills at `rate` a second. Each read takes as many
/// tokens as it brought bytes; a read that takes the bucket below empty is
/// paid for by sleeping until it is back at zero.
///
/// [`Limits::flood_rate`]: super::Limits::flood_rate
/// [`Limits::flood_burst`]: super::Limits::flood_burst
#[derive(Debug)]
pub(crate) struct FloodControl {
    /// Bytes a second, at least 1.
    rate: f64,
    /// The most tokens the bucket holds: what a quiet client may send at
    /// once.
    burst: f64,
    /// The tokens in the bucket: bytes that may be read before the thread
    /// must wait. Negative after a read larger than what was left: a debt,
    /// paid by sleeping.
    tokens: f64,
    /// When the bucket was last filled.
    filled: Instant,
}

impl FloodControl {
    /// A full bucket, or `None` when flood control is off (`rate` is
    /// `None`).
    pub(crate) fn new(rate: Option<usize>, burst: usize) -> Option<FloodControl> {
        let rate = rate? as f64;
        Some(FloodControl {
            rate: rate.max(1.0),
            burst: burst as f64,
            tokens: burst as f64,
            filled: Instant::now(),
        })
    }

    /// The token bucket's arithmetic: `bytes` were read at `now`. Returns
    /// how long the connection must now wait before it reads again: zero
    /// while it is within its allowance.
    pub(crate) fn take(&mut self, bytes: usize, now: Instant) -> Duration {
        // The bucket fills at `rate` a second since it was last filled, up
        // to `burst`.
        let elapsed = now.saturating_duration_since(self.filled).as_secs_f64();
        self.filled = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.tokens -= bytes as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // The debt, at `rate`: when the bucket is back at zero.
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }

    /// `bytes` were just read: takes them, and sleeps off any debt, on the
    /// connection's own thread ("Excess Flood" on IRC, without the
    /// disconnection: the client is only read more slowly).
    pub(crate) fn pace(&mut self, bytes: usize) {
        let wait = self.take(bytes, Instant::now());
        if !wait.is_zero() {
            thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(duration: Duration) -> u128 {
        duration.as_millis()
    }

    #[test]
    fn a_client_within_its_burst_never_waits() {
        let mut flood = FloodControl::new(Some(1000), 500).unwrap();
        let t0 = Instant::now();
        assert_eq!(flood.take(300, t0), Duration::ZERO);
        assert_eq!(flood.take(200, t0), Duration::ZERO); // exactly the burst
    }

    #[test]
    fn past_its_burst_a_client_waits_for_what_it_sent_at_the_rate() {
        let mut flood = FloodControl::new(Some(1000), 500).unwrap();
        let t0 = Instant::now();
        // 500 of burst, then 1,000 more: a second's worth at 1,000 B/s.
        assert_eq!(ms(flood.take(1500, t0)), 1000);
        // It slept that second: the bucket is at zero, the next byte is
        // a millisecond's debt.
        assert_eq!(ms(flood.take(1, t0 + Duration::from_secs(1))), 1);
    }

    #[test]
    fn the_bucket_fills_at_the_rate_up_to_the_burst() {
        let mut flood = FloodControl::new(Some(1000), 500).unwrap();
        let t0 = Instant::now();
        assert_eq!(flood.take(500, t0), Duration::ZERO); // empty now
                                                         // 200 ms later: 200 tokens back.
        let t1 = t0 + Duration::from_millis(200);
        assert_eq!(flood.take(200, t1), Duration::ZERO);
        assert_eq!(ms(flood.take(100, t1)), 100);
        // A long silence fills it to the burst and no further.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(flood.take(500, t2), Duration::ZERO);
        assert_eq!(ms(flood.take(1, t2)), 1);
    }

    #[test]
    fn over_a_long_flood_the_rate_is_the_rate() {
        // 10 MB in 64 KiB reads, each paid for before the next: the time
        // it takes is what the bytes past the burst take at the rate.
        let rate = 1024 * 1024;
        let burst = 256 * 1024;
        let mut flood = FloodControl::new(Some(rate), burst).unwrap();
        let mut now = Instant::now();
        let start = now;
        let mut sent = 0;
        while sent < 10_000_000 {
            now += flood.take(64 * 1024, now);
            sent += 64 * 1024;
        }
        let took = (now - start).as_secs_f64();
        let expected = (sent - burst) as f64 / rate as f64;
        assert!(
            (took - expected).abs() < 0.001,
            "{took} s, not {expected} s"
        );
    }

    #[test]
    fn no_rate_no_flood_control() {
        assert!(FloodControl::new(None, 500).is_none());
    }
}
