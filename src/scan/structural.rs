//! Finds the end of a JSON object or array 64 bytes at a time, the way simdjson's first
//! stage does: bit masks of quotes, backslashes and brackets, escapes resolved with carries,
//! string interiors by a prefix XOR of the unescaped quotes, and only brackets outside
//! strings counted. simd-json computes the same masks internally but does not expose them;
//! this is the part of it a record splitter needs, and it runs several times faster than a
//! byte loop. On x86_64 it uses SSE2 (part of the baseline); elsewhere a portable loop
//! builds the masks. `skip_container_scalar` is the plain reference the tests compare with.
//!
//! The same pass also runs the pre-filter: each needle (`prefilter::ANCHORS`) has a rare
//! pair of adjacent bytes, found with two more compares per needle on the block already in
//! registers; the few places where a pair occurs are checked for the whole needle. So the
//! decoded bytes are read once after decompression, not once to split and again to search.

const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;

use super::prefilter::ANCHORS;

/// Bit masks of one 64-byte block: bit i describes byte i.
#[derive(Default, Clone, Copy)]
struct Masks {
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
    u: u64,
    /// Bytes that begin an anchor pair of some needle.
    pair: u64,
}

/// What skipping one container found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The index after the closing bracket.
    pub end: usize,
    /// A `\u` escape occurs inside.
    pub unicode: bool,
    /// A pre-filter needle occurs inside.
    pub needle: bool,
}

/// Whether a whole needle whose anchor pair starts at `p` is in `buf`.
fn needle_at(buf: &[u8], p: usize) -> bool {
    ANCHORS
        .iter()
        .any(|(needle, off)| p >= *off && buf.get(p - off..p - off + needle.len()) == Some(*needle))
}

/// Checks the anchor pairs of `bits` (relative to `base`) for whole needles.
fn any_needle(buf: &[u8], base: usize, mut bits: u64) -> bool {
    while bits != 0 {
        if needle_at(buf, base + bits.trailing_zeros() as usize) {
            return true;
        }
        bits &= bits - 1;
    }
    false
}

/// The masks of one block from vectors of `$width` bytes, written once for SSE2 and AVX2:
/// the intrinsics differ only in their names and lane width.
#[cfg(target_arch = "x86_64")]
macro_rules! block_masks {
    ($block:expr, $width:literal, $vec:ty, $bits:ty, $load:ident, $set1:ident, $cmpeq:ident,
     $or:ident, $and:ident, $zero:ident, $movemask:ident) => {{
        let block: &[u8; 65] = $block;
        let mut m = Masks::default();
        for i in 0..64 / $width {
            // SAFETY: the caller made sure the CPU has these instructions; the loads read
            // `$width` bytes at offsets up to 65 - `$width` inside `block`.
            unsafe {
                let v: $vec = $load(block.as_ptr().add($width * i).cast());
                let next: $vec = $load(block.as_ptr().add($width * i + 1).cast());
                let mut pair = $zero();
                for (needle, off) in ANCHORS {
                    let first = $cmpeq(v, $set1(needle[off] as i8));
                    let second = $cmpeq(next, $set1(needle[off + 1] as i8));
                    pair = $or(pair, $and(first, second));
                }
                // `{`/`[` and `}`/`]` differ only in bit 0x20: one compare finds both.
                let folded = $or(v, $set1(0x20));
                let bits = |c: u8, x: $vec| $movemask($cmpeq(x, $set1(c as i8))) as $bits as u64;
                let shift = $width * i;
                m.quote |= bits(b'"', v) << shift;
                m.backslash |= bits(b'\\', v) << shift;
                m.open |= bits(b'{', folded) << shift;
                m.close |= bits(b'}', folded) << shift;
                m.u |= bits(b'u', v) << shift;
                m.pair |= ($movemask(pair) as $bits as u64) << shift;
            }
        }
        m
    }};
}

/// SSE2, part of the x86_64 baseline.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks(block: &[u8; 65]) -> Masks {
    use std::arch::x86_64::*;
    block_masks!(
        block,
        16,
        __m128i,
        u16,
        _mm_loadu_si128,
        _mm_set1_epi8,
        _mm_cmpeq_epi8,
        _mm_or_si128,
        _mm_and_si128,
        _mm_setzero_si128,
        _mm_movemask_epi8
    )
}

/// The same masks from 32-byte AVX2 vectors (half the instructions of SSE2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn masks_avx2(block: &[u8; 65]) -> Masks {
    use std::arch::x86_64::*;
    block_masks!(
        block,
        32,
        __m256i,
        u32,
        _mm256_loadu_si256,
        _mm256_set1_epi8,
        _mm256_cmpeq_epi8,
        _mm256_or_si256,
        _mm256_and_si256,
        _mm256_setzero_si256,
        _mm256_movemask_epi8
    )
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn masks(block: &[u8; 65]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block[..64].iter().enumerate() {
        let bit = 1u64 << i;
        if ANCHORS
            .iter()
            .any(|(n, off)| b == n[*off] && block[i + 1] == n[*off + 1])
        {
            m.pair |= bit;
        }
        match b {
            b'"' => m.quote |= bit,
            b'\\' => m.backslash |= bit,
            b'{' | b'[' => m.open |= bit,
            b'}' | b']' => m.close |= bit,
            b'u' => m.u |= bit,
            _ => {}
        }
    }
    m
}

/// Which bytes are escaped by a backslash, carrying an escape across blocks (simdjson's
/// branch-free odd-length backslash run detection).
fn escaped(backslash: u64, next_is_escaped: &mut u64) -> u64 {
    if backslash == 0 {
        return std::mem::take(next_is_escaped);
    }
    let potential = backslash & !*next_is_escaped;
    let maybe_escaped_and_odd = (potential << 1) | ODD_BITS;
    let code = maybe_escaped_and_odd.wrapping_sub(potential) ^ ODD_BITS;
    let escaped = code ^ (backslash | *next_is_escaped);
    *next_is_escaped = (code & backslash) >> 63;
    escaped
}

/// Each bit set from an opening quote up to (not including) its closing quote.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// `buf[at]` is `{` or `[` outside any string. Returns the index after its matching close
/// and whether a `\u` escape or a needle occurs inside, or None when the buffer ends first
/// (or a close has no open).
pub fn skip_container(buf: &[u8], at: usize) -> Option<Span> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { skip_container_avx2(buf, at) };
    }
    skip_with(buf, at, masks)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn skip_container_avx2(buf: &[u8], at: usize) -> Option<Span> {
    // SAFETY (of the calls inside): this function only runs where AVX2 exists.
    skip_with(buf, at, |b| masks_avx2(b))
}

/// The block loop, inlined into each caller so that the mask function is compiled with the
/// caller's target features.
#[inline(always)]
fn skip_with(buf: &[u8], at: usize, masks: impl Fn(&[u8; 65]) -> Masks) -> Option<Span> {
    let mut depth: u32 = 0;
    let mut next_is_escaped = 0u64;
    let mut in_string_carry = 0u64;
    let mut unicode = false;
    let mut needle = false;
    let mut base = at;
    let mut tail = [b' '; 65];
    while base < buf.len() {
        // The block and one byte more, for pairs that cross into the next block.
        let block: &[u8; 65] = match buf.get(base..base + 65) {
            Some(b) => b.try_into().expect("65 bytes"),
            None => {
                let rest = &buf[base..];
                tail[..rest.len()].copy_from_slice(rest);
                &tail
            }
        };
        let m = masks(block);
        let esc = escaped(m.backslash, &mut next_is_escaped);
        let escaped_u = esc & m.u;
        let in_string = prefix_xor(m.quote & !esc) ^ in_string_carry;
        in_string_carry = ((in_string as i64) >> 63) as u64;
        let mut structural = (m.open | m.close) & !in_string & !esc;
        while structural != 0 {
            let i = structural.trailing_zeros();
            let bit = 1u64 << i;
            if m.open & bit != 0 {
                depth += 1;
            } else {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    // Escapes and needles before the end count; later ones belong to what
                    // follows (a needle never holds a bracket, so none straddles the end).
                    let mask = if i == 63 { u64::MAX } else { (bit << 1) - 1 };
                    return Some(Span {
                        end: base + i as usize + 1,
                        unicode: unicode || escaped_u & mask != 0,
                        needle: needle || any_needle(buf, base, m.pair & mask),
                    });
                }
            }
            structural &= structural - 1;
        }
        unicode |= escaped_u != 0;
        needle = needle || any_needle(buf, base, m.pair);
        base += 64;
    }
    None
}

/// The byte-at-a-time reference for `skip_container`.
pub fn skip_container_scalar(buf: &[u8], at: usize) -> Option<Span> {
    let mut depth = 0u32;
    let mut pos = at;
    let mut unicode = false;
    let mut in_string = false;
    while pos < buf.len() {
        let b = buf[pos];
        // Like the masks, a backslash escapes the next byte wherever it stands (outside a
        // string it is invalid JSON anyway, which the full parse rejects).
        if b == b'\\' {
            unicode |= buf.get(pos + 1) == Some(&b'u');
            pos += 2;
            continue;
        }
        if in_string {
            if b == b'"' {
                in_string = false;
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        let inside = &buf[at..=pos];
                        let needle = ANCHORS
                            .iter()
                            .any(|(n, _)| inside.windows(n.len()).any(|w| w == *n));
                        return Some(Span {
                            end: pos + 1,
                            unicode,
                            needle,
                        });
                    }
                }
                _ => {}
            }
        }
        pos += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(end: usize, unicode: bool) -> Option<Span> {
        Some(Span {
            end,
            unicode,
            needle: false,
        })
    }

    #[test]
    fn needles_are_found_in_any_block_position_and_only_inside() {
        for needle in super::super::prefilter::needles() {
            let needle = std::str::from_utf8(needle).unwrap();
            for pad in [0, 1, 30, 55, 56, 57, 60, 62, 63, 64, 100] {
                let s = format!(r#"{{"{}":"{needle}"}}, "{needle}""#, "p".repeat(pad));
                let got = skip_container(s.as_bytes(), 0).unwrap();
                assert!(got.needle, "{needle} after {pad}");
                check(s.as_bytes());
                let cut = &needle[..needle.len() - 1];
                let s = format!(r#"{{"{}":"{cut}"}} {needle}"#, "p".repeat(pad));
                assert!(
                    !skip_container(s.as_bytes(), 0).unwrap().needle,
                    "{cut} after {pad}"
                );
                check(s.as_bytes());
            }
        }
    }

    fn check(s: &[u8]) {
        let want = skip_container_scalar(s, 0);
        assert_eq!(skip_container(s, 0), want, "{}", String::from_utf8_lossy(s));
        // The portable-width path too, where the machine would pick AVX2.
        assert_eq!(
            skip_with(s, 0, masks),
            want,
            "{}",
            String::from_utf8_lossy(s)
        );
    }

    #[test]
    fn simple_cases() {
        assert_eq!(skip_container(b"{}", 0), span(2, false));
        assert_eq!(skip_container(br#"{"a":"}"} tail"#, 0), span(9, false));
        assert_eq!(skip_container(br#"{"a":"\"}"}"#, 0), span(11, false));
        assert_eq!(skip_container(br#"{"a":"\\"}"#, 0), span(10, false));
        assert_eq!(skip_container(br#"{"a":"\u0041"}"#, 0), span(14, true));
        assert_eq!(skip_container(br#"{"a":"\\u"}"#, 0), span(11, false));
        assert_eq!(skip_container(br#"{"a":1} "\u0041""#, 0), span(7, false));
        assert_eq!(skip_container(br#"{"a":"#, 0), None);
        assert_eq!(skip_container(b"[[]", 0), None);
    }

    #[test]
    fn long_values_cross_blocks() {
        for n in [0, 1, 50, 62, 63, 64, 65, 127, 128, 129, 1000] {
            for filler in ["x", "\\\\", "\\\"", "}", "\\u0041", "\\"] {
                let body = filler.repeat(n);
                let body = if body.ends_with('\\') && !body.ends_with("\\\\") {
                    format!("{body}\\")
                } else {
                    body
                };
                let s = format!(r#"{{"k":"{body}","n":[{{"x":"]"}}]}}, {{"#);
                check(s.as_bytes());
                let s = format!(r#"{{"k":[{}]}}"#, "{}".repeat(n));
                check(s.as_bytes());
            }
        }
    }

    /// Random JSON-like soup of quotes, backslashes, brackets and letters at every offset:
    /// the SIMD masks must agree with the byte loop everywhere.
    #[test]
    fn random_soup_agrees_with_scalar() {
        let alphabet = b"\"\\{}[]u,:ab rCerrorCodeRunInstances";
        let mut state = 0x1234_5678_9abc_def1u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 300) as usize;
            let mut s = vec![b'{'];
            let mut x = state;
            for _ in 0..len {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push(alphabet[(x >> 59) as usize % alphabet.len()]);
            }
            check(&s);
        }
    }
}
