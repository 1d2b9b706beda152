//! Line framing: TCP carries bytes, not messages, so the room keeps the
//! start of each line until its `\n` arrives, and hands on complete lines
//! only.

use std::io;

/// Line framing for a byte stream: the start of a line waits here until its
/// `\n` arrives, and what is handed on is complete lines only.
///
/// A line ends at `\n`, so a `\r\n` line is a line too (its `\r` stays part
/// of it, byte for byte; [`lines`] strips it). The bytes need not be UTF-8.
///
/// ```
/// use netcourse::chat::{lines, LineBuffer};
///
/// let mut buffer = LineBuffer::new(100);
/// // One read: a whole line and the start of the next.
/// let got = buffer.push(b"one\ntw", |complete| complete.to_vec())?;
/// assert_eq!(got.as_deref(), Some(&b"one\n"[..]));
/// // The next read finishes it, and brings two more.
/// let got = buffer.push(b"o\r\nthree\nfour\n", |complete| {
///     lines(complete).map(|line| line.to_vec()).collect::<Vec<_>>()
/// })?;
/// assert_eq!(got.unwrap(), [&b"two"[..], b"three", b"four"]);
/// // A read with no `\n` hands on nothing.
/// assert_eq!(buffer.push(b"fi", |_| ())?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct LineBuffer {
    /// The unfinished line. It holds no memory between lines, so a client
    /// that once sent a long line does not keep that much for the rest of
    /// its connection.
    partial: Vec<u8>,
    /// The longest line accepted, without its `\n`: the most `partial`
    /// ever holds.
    max_line: usize,
}

impl LineBuffer {
    /// An empty buffer that accepts lines of up to `max_line` bytes, not
    /// counting the `\n`.
    pub fn new(max_line: usize) -> LineBuffer {
        LineBuffer {
            partial: Vec::new(),
            max_line,
        }
    }

    /// Takes the bytes of one read, and calls `complete` once, with every
    /// line they complete, in one slice (each line with its `\n`), if they
    /// complete any. Returns what `complete` returned, or `None` if it was
    /// not called.
    ///
    /// When the read's lines all ended at the read's end, which is usual,
    /// `complete` gets a slice of `data` itself: nothing is copied.
    ///
    /// # Errors
    /// `InvalidData` if a line is longer than `max_line`. The lines before it
    /// are handed on first; the buffer is emptied, and is not meant to be
    /// used again (the stream's framing is lost).
    pub fn push<R>(
        &mut self,
        data: &[u8],
        complete: impl FnOnce(&[u8]) -> R,
    ) -> io::Result<Option<R>> {
        // 1. Find where the complete lines end (just past the last `\n`),
        //    stopping early at a line that is too long.
        let mut end = 0; // the acceptable complete lines are data[..end]
        let mut carried = self.partial.len(); // the line's bytes from earlier reads
        let mut too_long = false;
        for (i, _) in data.iter().enumerate().filter(|&(_, &byte)| byte == b'\n') {
            if carried + (i - end) > self.max_line {
                too_long = true;
                break;
            }
            end = i + 1;
            carried = 0;
        }
        // The unfinished line at the end of the read counts too: this is
        // what keeps memory bounded when no `\n` ever comes.
        too_long |= carried + (data.len() - end) > self.max_line;

        // 2. Hand on the complete lines, in one slice.
        let handed = if end == 0 {
            None
        } else if self.partial.is_empty() {
            Some(complete(&data[..end]))
        } else {
            // The first line began in an earlier read: join it up.
            self.partial.extend_from_slice(&data[..end]);
            let handed = complete(&self.partial);
            self.partial = Vec::new();
            Some(handed)
        };

        // 3. Keep the unfinished line for the next read.
        if too_long {
            self.partial = Vec::new();
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line longer than {} bytes", self.max_line),
            ));
        }
        self.keep(&data[end..]);
        Ok(handed)
    }

    /// Keeps `rest`, the start of a line, for the next read. The buffer
    /// grows as a `Vec` does (doubling), but never past `max_line`: an
    /// unfinished line costs its connection at most `max_line` bytes.
    fn keep(&mut self, rest: &[u8]) {
        let needed = self.partial.len() + rest.len(); // at most max_line
        if needed > self.partial.capacity() {
            let target = (self.partial.capacity() * 2).clamp(needed, self.max_line.max(needed));
            self.partial.reserve_exact(target - self.partial.len());
        }
        self.partial.extend_from_slice(rest);
    }
}

/// The lines of a slice of complete lines, each without its `\n` or
/// `\r\n`: for a client printing what [`LineBuffer::push`] handed on.
pub fn lines(complete: &[u8]) -> impl Iterator<Item = &[u8]> {
    complete.split_inclusive(|&byte| byte == b'\n').map(|line| {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        line.strip_suffix(b"\r").unwrap_or(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `reads` one at a time; returns every batch handed on.
    fn frame(max_line: usize, reads: &[&[u8]]) -> io::Result<Vec<Vec<u8>>> {
        let mut buffer = LineBuffer::new(max_line);
        let mut batches = Vec::new();
        for read in reads {
            if let Some(batch) = buffer.push(read, |lines| lines.to_vec())? {
                batches.push(batch);
            }
        }
        Ok(batches)
    }

    #[test]
    fn complete_lines_of_one_read_are_one_batch() {
        let batches = frame(10, &[b"a\nb\nc", b"c\n", b"\n", b"d"]).unwrap();
        assert_eq!(batches, [&b"a\nb\n"[..], b"cc\n", b"\n"]);
    }

    #[test]
    fn a_line_of_exactly_max_line_is_accepted_one_more_is_not() {
        assert_eq!(frame(3, &[b"ab", b"c\n"]).unwrap(), [b"abc\n"]);
        assert_eq!(
            frame(3, &[b"abc\r\n"]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        // No `\n` needed to know: the fourth byte is one too many.
        assert!(frame(3, &[b"ab", b"cd"]).is_err());
    }

    #[test]
    fn lines_before_a_too_long_one_are_handed_on_first() {
        let mut buffer = LineBuffer::new(3);
        let mut handed = Vec::new();
        let result = buffer.push(b"ok\nyes\ntoo long\nlost\n", |lines| {
            handed.extend_from_slice(lines)
        });
        assert!(result.is_err());
        assert_eq!(handed, b"ok\nyes\n");
    }

    #[test]
    fn an_endless_line_holds_at_most_max_line() {
        let mut buffer = LineBuffer::new(1000);
        let chunk = [b'x'; 100];
        let mut pushes = 0;
        while buffer.push(&chunk, |_| ()).is_ok() {
            assert!(buffer.partial.len() <= 1000);
            assert!(buffer.partial.capacity() <= 1000);
            pushes += 1;
        }
        assert_eq!(pushes, 10);
        assert_eq!(buffer.partial.capacity(), 0);
    }

    #[test]
    fn an_unfinished_line_grows_by_doubling_and_never_past_max_line() {
        // Doubling: a line that arrives a byte at a time is copied a few
        // times, not once per read.
        let mut buffer = LineBuffer::new(1000);
        buffer.push(&[b'x'; 100], |_| ()).unwrap();
        buffer.push(b"x", |_| ()).unwrap();
        assert!(buffer.partial.capacity() >= 200, "not doubled");
        // Whatever the reads' sizes, the buffer never holds more than
        // max_line, even where doubling would take it past.
        for chunk in [1, 7, 300, 333, 999] {
            let mut buffer = LineBuffer::new(1000);
            let data = vec![b'x'; chunk];
            while buffer.push(&data, |_| ()).is_ok() {
                assert!(buffer.partial.capacity() <= 1000, "reads of {chunk}");
            }
        }
    }

    #[test]
    fn lines_strips_both_endings() {
        let got: Vec<&[u8]> = lines(b"a\r\nb\n\n\xff\n").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"", b"\xff"]);
    }
}
