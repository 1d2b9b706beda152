//! The read side of a connection, as the read loop wants it: one `read()`
//! at a time, into a buffer that exists only once data has come. What it
//! saves is measured in chapter 6 ("What a thread per connection costs").

use std::io::{self, BufRead, BufReader};
use std::net::TcpStream;

/// How many bytes one `read` may return, so the most one `'data'` event
/// carries: 64 KiB, as Node reads. A connection allocates this buffer only
/// when its first byte arrives, and then costs only the pages data has been
/// written to, not all 64 KiB (see `Reader` in the source).
pub const READ_BUFFER: usize = 64 * 1024;

/// The read side of a connection: `read()` as the read loop wants it, with
/// a buffer that exists only once data has come.
///
/// Most connections spend most of their life waiting (a chat room's, an idle
/// keep-alive), and a waiting thread should cost no more than its stack. So
/// until the first byte arrives the thread waits in `peek`, which needs no
/// buffer (it looks at the data without taking it); only then does the
/// 64 KiB buffer get allocated, and it is kept for the rest of the
/// connection. (Chapter 6 measures what that saves.)
pub(super) struct Reader<'a> {
    stream: &'a TcpStream,
    /// `None` until the first byte arrives. A `BufReader`'s buffer, because
    /// std reads into it without zeroing it first, so even once allocated it
    /// costs only the pages data has been written to.
    buffer: Option<BufReader<&'a TcpStream>>,
}

impl<'a> Reader<'a> {
    /// The read side of `stream`, with no buffer yet.
    pub(super) fn new(stream: &'a TcpStream) -> Reader<'a> {
        Reader {
            stream,
            buffer: None,
        }
    }

    /// One `read()`: the bytes the kernel had (at most [`READ_BUFFER`]), or
    /// none at the peer's FIN. Call [`consume`](Reader::consume) once they
    /// have been handled.
    pub(super) fn read(&mut self) -> io::Result<&[u8]> {
        if self.buffer.is_none() && self.stream.peek(&mut [0])? == 0 {
            return Ok(&[]); // FIN before any data
        }
        let stream = self.stream;
        self.buffer
            .get_or_insert_with(|| BufReader::with_capacity(READ_BUFFER, stream))
            // On an empty BufReader, one fill_buf() is one read() on the stream.
            .fill_buf()
    }

    /// Marks the bytes of the last `read()` as handled.
    pub(super) fn consume(&mut self, n: usize) {
        if let Some(buffer) = &mut self.buffer {
            buffer.consume(n);
        }
    }
}
