//! Scanning a document that is read as a stream, for files too big to decode whole: the
//! decoded bytes pass through a window that holds the unfinished record and one chunk, so a
//! 50 MB gzip (half a gigabyte of JSON) costs a few megabytes, not its decoded size. The
//! records found are exactly those the whole-buffer splitter finds (a test holds them equal).

use std::io::Read;
use std::sync::Arc;

use super::split::{Records, SplitError, skip_value};
use super::{FileScan, Scanner};

/// How much decoded data one read adds to the window.
const CHUNK: usize = 4 << 20;
/// The top-level keys before `Records` must fit in this much (they are tiny in practice).
const FRAME_LIMIT: usize = 64 << 20;

/// Why a streamed document could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("corrupt or truncated gzip: {0}")]
    Read(#[from] std::io::Error),
    #[error("decompressed size would exceed the limit of {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Split(#[from] SplitError),
}

/// A window over the decoded stream: `buf[..]` holds bytes from `offset` on.
struct Window<R> {
    reader: R,
    buf: Vec<u8>,
    total: u64,
    max: u64,
    eof: bool,
}

impl<R: Read> Window<R> {
    /// Drops the first `keep_from` bytes and reads one more chunk. False at the end.
    fn refill(&mut self, keep_from: usize) -> Result<bool, StreamError> {
        self.buf.drain(..keep_from);
        if self.eof {
            return Ok(false);
        }
        let before = self.buf.len();
        (&mut self.reader)
            .take(CHUNK as u64)
            .read_to_end(&mut self.buf)?;
        let n = self.buf.len() - before;
        self.total += n as u64;
        if self.total > self.max {
            return Err(StreamError::TooLarge(self.max));
        }
        self.eof = n == 0;
        Ok(n > 0)
    }
}

impl Scanner {
    /// Scans a `{"Records":[...]}` document read from `reader`, reading at most `max_bytes`.
    /// Returns the scan and the number of decoded bytes.
    pub fn scan_stream(
        &mut self,
        reader: impl Read,
        object: &Arc<str>,
        max_bytes: u64,
    ) -> Result<(FileScan, u64), StreamError> {
        let mut w = Window {
            reader,
            buf: Vec::with_capacity(2 * CHUNK),
            total: 0,
            max: max_bytes,
            eof: false,
        };
        // The frame: everything up to the `[` of `Records`.
        let mut pos = loop {
            match Records::array_start(&w.buf) {
                Ok(p) => break p,
                Err(SplitError::Truncated(_)) if w.buf.len() < FRAME_LIMIT && w.refill(0)? => {}
                Err(e) => return Err(e.into()),
            }
        };
        let mut out = FileScan::default();
        let mut first = true;
        loop {
            while pos < w.buf.len() && w.buf[pos].is_ascii_whitespace() {
                pos += 1;
            }
            let Some(&byte) = w.buf.get(pos) else {
                if !w.refill(pos)? {
                    return Err(SplitError::Truncated(w.total as usize).into());
                }
                pos = 0;
                continue;
            };
            match (first, byte) {
                (_, b']') => break,
                (false, b',') => {
                    pos += 1;
                    first = true;
                    continue;
                }
                (false, _) => return Err(SplitError::Malformed(pos).into()),
                (true, _) => {}
            }
            // An element; a scalar ending at the window's edge may go on past it.
            match skip_value(&w.buf, pos) {
                Ok(span) if span.end < w.buf.len() || w.eof => {
                    let index = out.records as usize;
                    out.records += 1;
                    if span.needle || span.unicode {
                        self.take(&w.buf[pos..span.end], index, object, &mut out);
                    }
                    pos = span.end;
                    first = false;
                }
                Ok(_) | Err(SplitError::Truncated(_)) => {
                    if !w.refill(pos)? {
                        return Err(SplitError::Truncated(w.total as usize).into());
                    }
                    pos = 0;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok((out, w.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out a few bytes at a time, to cut records at every place.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn doc() -> String {
        let mut recs = Vec::new();
        for i in 0..50 {
            recs.push(format!(
                r#"{{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventID":"r{i}","eventTime":"2026-03-14T10:00:00Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","pad":"{}","responseElements":{{"instancesSet":{{"items":[{{"instanceId":"i-{i:017x}"}}]}}}}}}"#,
                "x}\\\"".repeat(i * 7)
            ));
            recs.push(format!(r#"{{"eventName":"GetObject","n":{i}}}"#));
        }
        format!(
            "{{\"meta\": {{\"Records\": 0}}, \"Records\" : [ {} ] }}",
            recs.join(" ,\n")
        )
    }

    #[test]
    fn stream_scan_equals_whole_scan_at_any_cut() {
        let d = doc();
        let name: Arc<str> = Arc::from("t");
        let whole = Scanner::default().scan(d.as_bytes(), &name).unwrap();
        for step in [1, 7, 64, 1000, 1 << 20] {
            let (streamed, total) = Scanner::default()
                .scan_stream(Trickle(d.as_bytes(), step), &name, 1 << 30)
                .unwrap();
            assert_eq!(total as usize, d.len());
            assert_eq!(streamed.records, whole.records, "step {step}");
            assert_eq!(streamed.events, whole.events, "step {step}");
        }
    }

    #[test]
    fn truncation_and_cap() {
        let d = doc();
        let name: Arc<str> = Arc::from("t");
        let cut = &d.as_bytes()[..d.len() - 10];
        let err = Scanner::default()
            .scan_stream(cut, &name, 1 << 30)
            .unwrap_err();
        assert!(
            matches!(err, StreamError::Split(SplitError::Truncated(_))),
            "{err}"
        );
        let err = Scanner::default()
            .scan_stream(d.as_bytes(), &name, 100)
            .unwrap_err();
        assert!(matches!(err, StreamError::TooLarge(100)), "{err}");
        let err = Scanner::default()
            .scan_stream(&br#"{"a":1}"#[..], &name, 1 << 30)
            .unwrap_err();
        assert!(
            matches!(err, StreamError::Split(SplitError::NoRecords)),
            "{err}"
        );
    }
}
