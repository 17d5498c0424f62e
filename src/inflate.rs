//! A safe handle on libdeflate's whole-buffer gzip decoder that also reports how much input
//! the member used. The `libdeflater` wrapper hides that number, and without it a file of
//! several members whose first and last trailers happen to agree would be cut short.

use std::ptr::NonNull;

use libdeflate_sys as sys;

/// One libdeflate decompressor (not shareable between threads; one per worker).
pub struct Inflater(NonNull<sys::libdeflate_decompressor>);

// The decompressor is plain heap state used by one thread at a time (&mut self).
unsafe impl Send for Inflater {}

/// What one call decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub input_used: usize,
    pub output_len: usize,
}

impl Default for Inflater {
    fn default() -> Self {
        // SAFETY: allocation has no preconditions; null means out of memory.
        let p = unsafe { sys::libdeflate_alloc_decompressor() };
        Self(NonNull::new(p).expect("libdeflate could not allocate a decompressor"))
    }
}

impl Inflater {
    /// Decodes the first gzip member of `input` into `out`, replacing its contents, with
    /// room for at most `limit` bytes. None when the data is bad or does not fit: the caller
    /// falls back to streaming. The output space is not zeroed first (libdeflate writes every
    /// byte it reports), which saves a memset of every file.
    pub fn gzip_member(&mut self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Option<Member> {
        out.clear();
        out.reserve(limit);
        let spare = out.spare_capacity_mut();
        let mut input_used = 0usize;
        let mut output_len = 0usize;
        // SAFETY: `input` is valid for its length; `spare` is writable for `limit` bytes
        // (reserved above) and does not overlap `input`; the out-pointers are valid usizes.
        let result = unsafe {
            sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                spare.as_mut_ptr().cast(),
                limit,
                &mut input_used,
                &mut output_len,
            )
        };
        if result != sys::libdeflate_result_LIBDEFLATE_SUCCESS || output_len > limit {
            return None;
        }
        // SAFETY: on success libdeflate initialised exactly `output_len` <= `limit` bytes.
        unsafe { out.set_len(output_len) };
        Some(Member {
            input_used,
            output_len,
        })
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: the pointer came from libdeflate_alloc_decompressor and is freed once.
        unsafe { sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}
