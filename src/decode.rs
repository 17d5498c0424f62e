//! Turns the raw bytes of one log object into its JSON text: gzip (one or many members) or
//! plain JSON, with a cap on the decompressed size.
//!
//! The fast path decompresses the whole buffer at once with libdeflate, sized from the gzip
//! trailer (about twice as fast as streaming zlib on these small files). The trailer only
//! holds the size mod 2^32 and describes the *last* member, so it is trusted only when it is
//! plausible and the one member it decoded used the whole input; anything else (several
//! members, lying or oversize trailers) takes the streaming path, which enforces the cap as
//! it goes.

use std::io::Read;

use crate::error::ObjectError;
use crate::inflate::Inflater;

/// The largest ratio deflate can reach; a trailer claiming more is lying.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// What kind of content an object holds, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Json,
}

/// Decides gzip or plain JSON from the leading bytes; anything else is not a log file.
pub fn sniff(raw: &[u8]) -> Option<Encoding> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        return Some(Encoding::Gzip);
    }
    let first = raw.iter().find(|b| !b.is_ascii_whitespace())?;
    matches!(first, b'{' | b'[').then_some(Encoding::Json)
}

/// Files whose gzip trailer claims more than this are scanned as a stream, so that one huge
/// file costs a bounded window of memory instead of its whole decoded size.
pub const WHOLE_BUFFER_LIMIT: u64 = 64 << 20;

/// An object ready to scan: its bytes in memory (the input itself, or decompressed into the
/// caller's buffer), or a stream of them.
pub enum Decoded<'a> {
    /// Plain JSON: the input is the document.
    Plain(&'a [u8]),
    /// Gzip decompressed whole into the `out` buffer given to `open`.
    Inflated,
    Stream(Box<dyn Read + 'a>),
}

/// Reusable decompression state for one worker thread.
pub struct Decoder {
    inflater: Inflater,
    max_bytes: u64,
}

impl Decoder {
    pub fn new(max_bytes: u64) -> Self {
        Self {
            inflater: Inflater::default(),
            max_bytes,
        }
    }

    /// Decodes `raw` whole into `out` (for callers that want the bytes, not a scan): `open`,
    /// then a stream read to its end under the same cap. `object` names the source in errors.
    pub fn decode(
        &mut self,
        object: &str,
        raw: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ObjectError> {
        let max = self.max_bytes;
        match self.open(object, raw, out)? {
            Decoded::Inflated => {}
            Decoded::Plain(bytes) => {
                out.clear();
                out.extend_from_slice(bytes);
            }
            Decoded::Stream(reader) => {
                out.clear();
                reader
                    .take(max + 1)
                    .read_to_end(out)
                    .map_err(|e| ObjectError::Gzip {
                        object: object.to_string(),
                        detail: e.to_string(),
                    })?;
                if out.len() as u64 > max {
                    out.clear();
                    return Err(ObjectError::TooLarge {
                        object: object.to_string(),
                        limit: max,
                    });
                }
            }
        }
        Ok(())
    }

    /// Decodes `raw` for scanning: plain JSON as it is, gzip whole into `out` when its
    /// trailer is trustworthy and not above `WHOLE_BUFFER_LIMIT`, otherwise as a stream
    /// (the stream's reader enforces nothing: the stream scanner caps what it reads).
    pub fn open<'a>(
        &mut self,
        object: &str,
        raw: &'a [u8],
        out: &mut Vec<u8>,
    ) -> Result<Decoded<'a>, ObjectError> {
        match sniff(raw) {
            Some(Encoding::Json) if raw.len() as u64 > self.max_bytes => {
                Err(ObjectError::TooLarge {
                    object: object.to_string(),
                    limit: self.max_bytes,
                })
            }
            Some(Encoding::Json) => Ok(Decoded::Plain(raw)),
            Some(Encoding::Gzip) => {
                if self.whole_buffer(raw, out) {
                    Ok(Decoded::Inflated)
                } else {
                    out.clear();
                    Ok(Decoded::Stream(Box::new(
                        flate2::read::MultiGzDecoder::new(raw),
                    )))
                }
            }
            None => Err(self.not_a_log(object, raw)),
        }
    }

    fn not_a_log(&self, object: &str, raw: &[u8]) -> ObjectError {
        ObjectError::NotCloudTrail {
            object: object.to_string(),
            detail: if raw.is_empty() {
                "empty file".to_string()
            } else {
                "neither gzip nor JSON".to_string()
            },
        }
    }

    /// The libdeflate path. Returns false when the trailer cannot be trusted, claims more than
    /// `WHOLE_BUFFER_LIMIT`, or the data does not decode as one member of exactly that size;
    /// the caller then streams.
    fn whole_buffer(&mut self, raw: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(trailer) = raw.len().checked_sub(8).map(|at| &raw[at..]) else {
            return false;
        };
        let isize = u64::from(u32::from_le_bytes(
            trailer[4..].try_into().expect("4 bytes"),
        ));
        let plausible = isize <= self.max_bytes.min(WHOLE_BUFFER_LIMIT)
            && isize <= raw.len() as u64 * MAX_DEFLATE_RATIO;
        if !plausible {
            return false;
        }
        // libdeflate checks the member's own CRC and size; a second member shows as input
        // left over.
        self.inflater
            .gzip_member(raw, out, isize as usize)
            .is_some_and(|m| m.input_used == raw.len() && m.output_len as u64 == isize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn single_member_round_trips() {
        let data = br#"{"Records":[{"eventID":"a"}]}"#;
        let mut out = Vec::new();
        Decoder::new(1 << 20)
            .decode("x", &gz(data), &mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn single_member_takes_the_whole_buffer_path() {
        let data = br#"{"Records":[{"eventID":"a"}]}"#.repeat(100);
        let mut out = Vec::new();
        assert!(Decoder::new(1 << 20).whole_buffer(&gz(&data), &mut out));
        assert_eq!(out, data);
    }

    #[test]
    fn multi_member_of_equal_sizes_is_not_cut_short() {
        // Two members with identical content have the same size in each trailer: only the
        // CRC check tells the fast path it saw one member of two.
        let half = br#"{"Records":[{"a":1}]}"#;
        let mut raw = gz(half);
        raw.extend(gz(half));
        let mut out = Vec::new();
        Decoder::new(1 << 20).decode("x", &raw, &mut out).unwrap();
        assert_eq!(out.len(), half.len() * 2);
    }

    #[test]
    fn multi_member_split_document() {
        let doc = br#"{"Records":[{"eventID":"a"},{"eventID":"b"}]}"#;
        let mut raw = gz(&doc[..10]);
        raw.extend(gz(&doc[10..]));
        let mut out = Vec::new();
        Decoder::new(1 << 20).decode("x", &raw, &mut out).unwrap();
        assert_eq!(out, doc);
    }

    #[test]
    fn truncated_gzip_is_an_error_naming_the_object() {
        let raw = gz(&vec![b'x'; 10_000]);
        let err = Decoder::new(1 << 20)
            .decode("logs/a.json.gz", &raw[..raw.len() / 2], &mut Vec::new())
            .unwrap_err();
        assert!(matches!(err, ObjectError::Gzip { .. }), "{err}");
        assert!(err.to_string().contains("logs/a.json.gz"));
    }

    #[test]
    fn size_cap_is_enforced_even_when_the_trailer_lies() {
        let mut raw = gz(&vec![b' '; 100_000]);
        let n = raw.len();
        raw[n - 4..].copy_from_slice(&10u32.to_le_bytes()); // claims 10 bytes
        let err = Decoder::new(50_000)
            .decode("x", &raw, &mut Vec::new())
            .unwrap_err();
        assert!(matches!(err, ObjectError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn plain_json_and_garbage() {
        let mut out = Vec::new();
        let mut d = Decoder::new(1 << 20);
        d.decode("x", b"  \n{\"Records\":[]}", &mut out).unwrap();
        assert!(out.ends_with(b"[]}"));
        let err = d
            .decode("junk.bin", b"\x00\x01garbage", &mut out)
            .unwrap_err();
        assert!(matches!(err, ObjectError::NotCloudTrail { .. }));
        assert!(d.decode("empty", b"", &mut out).is_err());
    }
}
