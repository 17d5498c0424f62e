//! Findings as JSON Lines: one object per line, the contract's columns, times in RFC 3339.

use std::io::Write;

use crate::finding::Finding;

pub fn write(out: &mut impl Write, findings: &[Finding]) -> std::io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *out, f)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
