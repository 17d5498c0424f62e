//! The command line: argument definitions, turning them into a job, output formatting and
//! exit codes. Declared from `main.rs` only, so the engine never depends on clap or the
//! terminal.

pub mod args;
pub mod exit;
pub mod report;
