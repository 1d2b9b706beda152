//! A member's SendQ (IRC's name for it): the lines the room holds for one
//! member until its socket takes them. Node keeps the same thing for every
//! socket, `socket.writableLength` bytes of it, without limit; the room
//! counts what it really costs, so that its caps bound memory.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// What one queued line costs beyond its bytes, counted for every entry of
/// a SendQ: its slot in the queue (an `Arc<[u8]>`, a pointer and a length:
/// 16 bytes, and up to as much again while the queue has grown but not yet
/// filled), and the line's allocation header (two counts, 16 bytes) with
/// the allocator's rounding. 64 bytes covers them all, so a SendQ's count
/// is never below the memory it holds; chapter 6 checks it against the
/// server's measured memory. Without it a flood of 1-byte lines would cost
/// 30 times what the cap says.
pub const ENTRY_OVERHEAD: usize = 64;

/// The most lines one write hands the kernel. Linux and macOS take at most
/// 1,024 buffers in one `writev` (`IOV_MAX`), and std passes on no more;
/// building a longer list would be work thrown away, on every write.
const MAX_SLICES: usize = 1024;

/// A SendQ: lines in the room's order, each shared (`Arc`) with the SendQs
/// of every other member it was said to, so that a line is in memory once.
#[derive(Debug, Default)]
pub(crate) struct SendQ {
    /// The lines, oldest first.
    lines: VecDeque<Arc<[u8]>>,
    /// How many bytes of the first line the socket has taken already.
    sent: usize,
    /// What the queue holds, counted: each line's length plus
    /// [`ENTRY_OVERHEAD`]. A line counts in full until all of it is sent.
    bytes: usize,
}

impl SendQ {
    /// What `line` adds to a SendQ's count.
    pub(crate) fn cost(line: &[u8]) -> usize {
        line.len() + ENTRY_OVERHEAD
    }

    /// What the queue holds, counted.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the socket has taken everything.
    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Puts `line` at the back.
    pub(crate) fn push(&mut self, line: Arc<[u8]>) {
        self.bytes += SendQ::cost(&line);
        self.lines.push_back(line);
    }

    /// The first lines, at most [`MAX_SLICES`] of them, into `batch` (shared,
    /// not copied: the writer writes them outside the lock); returns how
    /// many bytes of the first are sent already.
    pub(crate) fn front(&self, batch: &mut Vec<Arc<[u8]>>) -> usize {
        batch.extend(self.lines.iter().take(MAX_SLICES).cloned());
        self.sent
    }

    /// The socket took `n` more bytes: drops the lines it took whole.
    pub(crate) fn took(&mut self, mut n: usize) {
        while let Some(first) = self.lines.front() {
            let left = first.len() - self.sent;
            if n < left {
                self.sent += n;
                return;
            }
            n -= left;
            self.sent = 0;
            self.bytes -= SendQ::cost(first);
            self.lines.pop_front();
        }
        // Empty: give back what the queue grew to, so that a member that
        // once fell far behind costs nothing while it is idle.
        self.lines = VecDeque::new();
    }
}

/// One write of `batch` to `stream`, skipping the first `sent` bytes of
/// its first line: a `writev`, all of them in one system call. Returns
/// what the socket took.
pub(crate) fn write_batch(
    mut stream: &TcpStream,
    batch: &[Arc<[u8]>],
    sent: usize,
) -> io::Result<usize> {
    let mut slices = Vec::with_capacity(batch.len());
    slices.extend(batch.iter().map(|line| IoSlice::new(line)));
    if let Some(first) = slices.first_mut() {
        *first = IoSlice::new(&batch[0][sent..]);
    }
    stream.write_vectored(&slices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Arc<[u8]> {
        Arc::from(text.as_bytes())
    }

    #[test]
    fn a_line_counts_its_bytes_and_the_overhead_until_all_of_it_is_sent() {
        let mut sendq = SendQ::default();
        sendq.push(line("hello\n"));
        sendq.push(line("hi\n"));
        assert_eq!(sendq.bytes(), 6 + 3 + 2 * ENTRY_OVERHEAD);
        sendq.took(4); // "hell"
        assert_eq!(sendq.bytes(), 6 + 3 + 2 * ENTRY_OVERHEAD);
        sendq.took(3); // "o\n" and "h"
        assert_eq!(sendq.bytes(), 3 + ENTRY_OVERHEAD);
        let mut batch = Vec::new();
        assert_eq!(sendq.front(&mut batch), 1);
        assert_eq!(&*batch[0], b"hi\n");
        sendq.took(2);
        assert_eq!(sendq.bytes(), 0);
        assert!(sendq.is_empty());
    }

    #[test]
    fn a_write_hands_the_kernel_at_most_max_slices_lines() {
        let mut sendq = SendQ::default();
        for _ in 0..3 * MAX_SLICES {
            sendq.push(line("x\n"));
        }
        let mut batch = Vec::new();
        assert_eq!(sendq.front(&mut batch), 0);
        assert_eq!(batch.len(), MAX_SLICES);
    }

    #[test]
    fn an_emptied_queue_gives_its_memory_back() {
        let mut sendq = SendQ::default();
        for _ in 0..10_000 {
            sendq.push(line("x\n"));
        }
        sendq.took(20_000);
        assert!(sendq.is_empty());
        assert_eq!(sendq.lines.capacity(), 0);
    }
}
