//! Finds the byte range of every record in a `{"Records":[...]}` document without building
//! any value. The document frame (the top-level keys, the array's commas) is read byte by
//! byte; each record, the bulk of the bytes, is skipped 64 bytes at a time by
//! `structural::skip_container`. It also notes whether a record holds a `\u` escape, which
//! is the only way a needle of the pre-filter could be hidden from a byte search.

use std::ops::Range;

use super::structural::{Span, skip_container};

/// One element of the `Records` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub range: Range<usize>,
    /// The record contains a `\uXXXX` escape somewhere in its strings.
    pub has_unicode_escape: bool,
    /// The record contains a pre-filter needle (`prefilter::ANCHORS`).
    pub has_needle: bool,
}

/// Why a document could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("no top-level \"Records\" array")]
    NoRecords,
    #[error("malformed JSON near byte {0}")]
    Malformed(usize),
    #[error("document ends inside a record (truncated?) at byte {0}")]
    Truncated(usize),
}

/// Iterates the records of a document. After an error it yields nothing more.
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    First,
    Next,
    Done,
}

impl<'a> Records<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            state: State::Start,
        }
    }

    fn ws(&mut self) {
        while self.pos < self.buf.len() && self.buf[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), SplitError> {
        self.ws();
        match self.peek() {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(SplitError::Malformed(self.pos)),
            None => Err(SplitError::Truncated(self.pos)),
        }
    }

    /// For the stream scanner: the offset just after the `[` of the `Records` array.
    pub(crate) fn array_start(buf: &'a [u8]) -> Result<usize, SplitError> {
        let mut r = Records::new(buf);
        r.open()?;
        Ok(r.pos)
    }

    /// Walks the top-level object to the `[` of its `Records` member.
    fn open(&mut self) -> Result<(), SplitError> {
        self.expect(b'{')?;
        loop {
            self.ws();
            match self.peek() {
                Some(b'"') => {
                    let key_start = self.pos + 1;
                    let (end, _) = skip_string(self.buf, self.pos)?;
                    let is_records = &self.buf[key_start..end - 1] == b"Records";
                    self.pos = end;
                    self.expect(b':')?;
                    self.ws();
                    if is_records {
                        return self.expect(b'[');
                    }
                    let end = skip_value(self.buf, self.pos)?.end;
                    self.pos = end;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => return Err(SplitError::NoRecords),
                        Some(_) => return Err(SplitError::Malformed(self.pos)),
                        None => return Err(SplitError::Truncated(self.pos)),
                    }
                }
                Some(b'}') => return Err(SplitError::NoRecords),
                Some(_) => return Err(SplitError::Malformed(self.pos)),
                None => return Err(SplitError::Truncated(self.pos)),
            }
        }
    }

    fn next_record(&mut self) -> Result<Option<RawRecord>, SplitError> {
        if self.state == State::Start {
            self.open()?;
            self.state = State::First;
        }
        self.ws();
        match (self.state, self.peek()) {
            (_, None) => return Err(SplitError::Truncated(self.pos)),
            (State::First | State::Next, Some(b']')) => {
                self.state = State::Done;
                return Ok(None);
            }
            (State::Next, Some(b',')) => {
                self.pos += 1;
                self.ws();
            }
            (State::Next, Some(_)) => return Err(SplitError::Malformed(self.pos)),
            _ => {}
        }
        let start = self.pos;
        let span = skip_value(self.buf, start)?;
        self.pos = span.end;
        self.state = State::Next;
        Ok(Some(RawRecord {
            range: start..span.end,
            has_unicode_escape: span.unicode,
            has_needle: span.needle,
        }))
    }
}

impl Iterator for Records<'_> {
    type Item = Result<RawRecord, SplitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == State::Done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                self.state = State::Done;
                Some(Err(e))
            }
        }
    }
}

/// `buf[at]` is `"`: returns the index after the closing quote and whether a `\u` was seen.
fn skip_string(buf: &[u8], at: usize) -> Result<(usize, bool), SplitError> {
    let mut pos = at + 1;
    let mut unicode = false;
    loop {
        match memchr::memchr2(b'"', b'\\', &buf[pos..]) {
            Some(off) if buf[pos + off] == b'"' => return Ok((pos + off + 1, unicode)),
            Some(off) => {
                let esc = pos + off + 1;
                unicode |= buf.get(esc) == Some(&b'u');
                pos = esc + 1;
                if pos > buf.len() {
                    return Err(SplitError::Truncated(buf.len()));
                }
            }
            None => return Err(SplitError::Truncated(buf.len())),
        }
    }
}

/// Skips one JSON value starting at `at` (no leading whitespace). Objects and arrays are
/// matched by depth; scalars end at the next delimiter. Values are not validated: the full
/// parse of a candidate record does that.
/// A scalar is never a candidate record, so its needles do not matter.
pub(crate) fn skip_value(buf: &[u8], at: usize) -> Result<Span, SplitError> {
    let scalar = |end| Span {
        end,
        unicode: false,
        needle: false,
    };
    match buf.get(at) {
        None => Err(SplitError::Truncated(at)),
        Some(b'"') => skip_string(buf, at).map(|(end, unicode)| Span {
            unicode,
            ..scalar(end)
        }),
        Some(b'{' | b'[') => skip_container(buf, at).ok_or(SplitError::Truncated(buf.len())),
        Some(b'}' | b']' | b',' | b':') => Err(SplitError::Malformed(at)),
        Some(_) => {
            let end = buf[at..]
                .iter()
                .position(|b| matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace())
                .map_or(buf.len(), |p| at + p);
            Ok(scalar(end))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(doc: &str) -> Vec<&str> {
        Records::new(doc.as_bytes())
            .map(|r| &doc[r.unwrap().range])
            .collect()
    }

    #[test]
    fn splits_compact_and_pretty_documents() {
        assert_eq!(
            texts(r#"{"Records":[{"a":1},{"b":"}"}]}"#),
            [r#"{"a":1}"#, r#"{"b":"}"}"#]
        );
        let pretty = "{\n  \"Records\" : [\n    {\n      \"a\": [1, {\"x\": \"]\"}]\n    } ,\n    {}\n  ]\n}\n";
        assert_eq!(
            texts(pretty),
            ["{\n      \"a\": [1, {\"x\": \"]\"}]\n    }", "{}"]
        );
    }

    #[test]
    fn records_need_not_be_the_first_key() {
        let doc = r#"{"meta":{"Records":"no"},"list":[1,{"}":2}],"Records":[{"k":"v"}]}"#;
        assert_eq!(texts(doc), [r#"{"k":"v"}"#]);
    }

    #[test]
    fn escaped_quotes_and_backslashes_do_not_confuse_it() {
        let doc = r#"{"Records":[{"p":"{\"a\":\"}\\\"\"}","q":"\\"},{"r":1}]}"#;
        assert_eq!(
            texts(doc),
            [r#"{"p":"{\"a\":\"}\\\"\"}","q":"\\"}"#, r#"{"r":1}"#]
        );
    }

    #[test]
    fn unicode_escapes_are_reported() {
        let doc = r#"{"Records":[{"a":"kms\u002eamazonaws.com"},{"b":"\\u"}]}"#;
        let flags: Vec<bool> = Records::new(doc.as_bytes())
            .map(|r| r.unwrap().has_unicode_escape)
            .collect();
        assert_eq!(flags, [true, false]);
    }

    #[test]
    fn non_object_elements_are_yielded_for_the_caller_to_reject() {
        assert_eq!(
            texts(r#"{"Records":[null, 12 ,"s",{}]}"#),
            ["null", "12", "\"s\"", "{}"]
        );
        assert_eq!(texts(r#"{"Records":[]}"#), Vec::<&str>::new());
    }

    #[test]
    fn errors() {
        let err = |d: &str| Records::new(d.as_bytes()).find_map(Result::err).unwrap();
        assert_eq!(err(r#"{"eventVersion":"1.0"}"#), SplitError::NoRecords);
        assert!(matches!(
            err(r#"{"Records":[{"a":"b"#),
            SplitError::Truncated(_)
        ));
        assert!(matches!(
            err(r#"{"Records":[{"a":1} {"b":2}]}"#),
            SplitError::Malformed(_)
        ));
        assert!(matches!(err(r#"["x"]"#), SplitError::Malformed(0)));
        assert!(matches!(err(""), SplitError::Truncated(0)));
    }
}
