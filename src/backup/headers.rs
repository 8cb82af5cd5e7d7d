//! A bound on tar extension headers, before the `tar` crate reads them.
//!
//! A GNU long name (`L`, `K`) or a pax header (`x`, `g`) is read whole into
//! memory by the `tar` crate, whatever size its header claims: a host (or
//! whoever made an archive) could claim a terabyte. [`ExtensionLimit`] sits
//! between the stream and the crate, follows the stream header by header
//! (a pax `size=` record moves the next entry's end, as the crate reads
//! it) and refuses an extension larger than [`MAX_EXTENSION`] and a GNU
//! sparse entry (which a backup never holds) before any of it is read.

use std::io::{self, Read};

/// Far above what a real extension holds (a path of PATH_MAX, a few pax
/// records of times and ids), far below what would hurt.
pub const MAX_EXTENSION: u64 = 64 * 1024;

const BLOCK: usize = 512;

pub struct ExtensionLimit<R> {
    inner: R,
    header: [u8; BLOCK],
    /// Bytes of `header` read / handed on.
    header_len: usize,
    header_pos: usize,
    /// Bytes of the current entry's data (padded) still to pass.
    data_left: u64,
    /// The current entry is a pax header: its records (its declared size,
    /// without the padding), to read `size=`.
    pax: Option<(Vec<u8>, usize)>,
    /// `size=` of the last pax header: the next entry's real size.
    next_size: Option<u64>,
}

impl<R: Read> ExtensionLimit<R> {
    pub fn new(inner: R) -> Self {
        ExtensionLimit {
            inner,
            header: [0; BLOCK],
            header_len: 0,
            header_pos: 0,
            data_left: 0,
            pax: None,
            next_size: None,
        }
    }

    /// Read the next 512-byte header block and judge it.
    fn next_header(&mut self) -> io::Result<()> {
        if let Some((records, _)) = self.pax.take() {
            self.next_size = pax_size(&records);
        }
        self.header_len = 0;
        self.header_pos = 0;
        while self.header_len < BLOCK {
            let n = self.inner.read(&mut self.header[self.header_len..])?;
            if n == 0 {
                break;
            }
            self.header_len += n;
        }
        if self.header_len < BLOCK || self.header.iter().all(|b| *b == 0) {
            // The end (or a cut stream, which the crate reports).
            return Ok(());
        }
        let kind = self.header[156];
        let size = octal_or_binary(&self.header[124..136])
            .ok_or_else(|| refused("a tar header with an unreadable size"))?;
        let size = match kind {
            b'L' | b'K' | b'x' | b'g' => {
                if size > MAX_EXTENSION {
                    return Err(refused(&format!(
                        "a tar extension header of {size} bytes (at most {MAX_EXTENSION} are read)"
                    )));
                }
                if kind == b'x' {
                    self.pax = Some((Vec::with_capacity(size as usize), size as usize));
                }
                size
            }
            b'S' => return Err(refused("a GNU sparse entry (a backup holds none)")),
            _ => self.next_size.take().unwrap_or(size),
        };
        self.data_left = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        Ok(())
    }
}

impl<R: Read> Read for ExtensionLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.header_pos == self.header_len && self.data_left == 0 {
            self.next_header()?;
        }
        if self.header_pos < self.header_len {
            let n = buf.len().min(self.header_len - self.header_pos);
            buf[..n].copy_from_slice(&self.header[self.header_pos..self.header_pos + n]);
            self.header_pos += n;
            return Ok(n);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.data_left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.data_left -= n as u64;
        if let Some((records, len)) = self.pax.as_mut() {
            let keep = (*len - records.len()).min(n);
            records.extend_from_slice(&buf[..keep]);
        }
        Ok(n)
    }
}

fn refused(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("refused: {what}"))
}

/// A tar numeric field: octal digits (NUL/space padded), or base-256 when
/// the first byte's high bit is set (GNU, for sizes past 8 GiB).
fn octal_or_binary(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(value);
    }
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// The `size` record of pax extended header data (`LEN key=value\n`...).
fn pax_size(records: &[u8]) -> Option<u64> {
    let mut rest = records;
    let mut size = None;
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if len <= space || len > rest.len() {
            return None;
        }
        let record = &rest[space + 1..len];
        if let Some(value) = record.strip_prefix(b"size=") {
            let value = value.strip_suffix(b"\n").unwrap_or(value);
            size = std::str::from_utf8(value).ok()?.parse().ok();
        }
        rest = &rest[len..];
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar stream through the limit, read by the tar crate: the entries'
    /// names and contents.
    fn entries(stream: &[u8]) -> io::Result<Vec<(String, Vec<u8>)>> {
        let mut archive = tar::Archive::new(ExtensionLimit::new(stream));
        let mut out = vec![];
        for e in archive.entries()? {
            let mut e = e?;
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let mut data = vec![];
            e.read_to_end(&mut data)?;
            out.push((name, data));
        }
        Ok(out)
    }

    fn gnu_long_name_archive(name_len: usize) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        let name = format!("state/{}", "n".repeat(name_len));
        b.append_data(&mut h, &name, &b"hello"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn ordinary_streams_pass_unchanged_long_names_and_pax_sizes_included() {
        let stream = gnu_long_name_archive(300);
        let got = entries(&stream).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.len(), 306);
        assert_eq!(got[0].1, b"hello");
        // A pax header whose size record overrides the ustar one (0 here).
        let records = b"16 size=1000000\n";
        let mut pax = tar::Header::new_ustar();
        pax.set_path("PaxHeader").unwrap();
        pax.set_size(records.len() as u64);
        pax.set_entry_type(tar::EntryType::XHeader);
        pax.set_cksum();
        let mut raw = pax.as_bytes().to_vec();
        raw.extend_from_slice(records);
        raw.resize(1024, 0);
        let mut h = tar::Header::new_ustar();
        h.set_path("state/big").unwrap();
        h.set_size(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        raw.extend_from_slice(h.as_bytes());
        // The ustar header says 0; the data that follows is 1 MB.
        raw.extend(std::iter::repeat_n(7u8, 1_000_000));
        raw.resize(raw.len() + 448 + 1024, 0);
        let got = entries(&raw).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.len(), 1_000_000);
    }

    #[test]
    fn an_extension_past_the_limit_is_refused_before_it_is_read() {
        // A GNU long name whose header claims 1 TiB, followed by nothing:
        // refused at the header, having read 512 bytes of the stream.
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(1 << 40);
        h.set_path("././@LongLink").unwrap();
        h.set_cksum();
        let mut counted = Counted {
            inner: h.as_bytes().to_vec(),
            read: 0,
        };
        let mut limit = ExtensionLimit::new(&mut counted);
        let err = io::copy(&mut limit, &mut io::sink()).unwrap_err();
        assert!(err.to_string().contains("1099511627776 bytes"), "{err}");
        assert_eq!(counted.read, 512);
        // Just over the limit as a real long name: refused too.
        let err = entries(&gnu_long_name_archive(MAX_EXTENSION as usize)).unwrap_err();
        assert!(err.to_string().contains("tar extension header"), "{err}");
    }

    struct Counted {
        inner: Vec<u8>,
        read: usize,
    }

    impl Read for &mut Counted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.inner.len() - self.read);
            buf[..n].copy_from_slice(&self.inner[self.read..self.read + n]);
            self.read += n;
            Ok(n)
        }
    }
}
