//! A bounded in-memory pipe between two threads: the SSH session's thread
//! writes the stream in, the archive's thread reads it out. At most
//! [`CHUNKS`] chunks of at most [`CHUNK`] bytes wait in it, so however
//! large the stream, memory stays flat: a full pipe blocks the writer
//! (and with it the SSH channel's window, which stops the host).
//!
//! Dropping the reader makes the next write fail (`BrokenPipe`), which is
//! how a refusal on the archive side stops the stream; dropping the writer
//! is the end of the stream for the reader.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Largest chunk passed at once.
pub const CHUNK: usize = 64 * 1024;
/// Chunks that may wait in the pipe.
pub const CHUNKS: usize = 8;

pub fn pipe() -> (PipeReader, PipeWriter) {
    let (tx, rx) = sync_channel(CHUNKS);
    (
        PipeReader {
            rx,
            chunk: Vec::new(),
            at: 0,
        },
        PipeWriter { tx },
    )
}

pub struct PipeWriter {
    tx: SyncSender<Vec<u8>>,
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(CHUNK);
        self.tx
            .send(buf[..n].to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reading side stopped"))?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub struct PipeReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.chunk = next;
                    self.at = 0;
                }
                // The writer is gone: end of stream.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_a_stream_larger_than_its_capacity_in_order() {
        let (mut r, mut w) = pipe();
        let data: Vec<u8> = (0..(CHUNK * CHUNKS * 3)).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let t = std::thread::spawn(move || {
            w.write_all(&sent).unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        t.join().unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn a_dropped_reader_breaks_the_writer() {
        let (r, mut w) = pipe();
        drop(r);
        let e = w.write_all(b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
