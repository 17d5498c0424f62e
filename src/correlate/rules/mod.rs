//! The rules: each turns the evidence into findings. Adding a rule means a new file here,
//! one line in `run_all`, a fixture and a test.

pub mod ebs_kms_launch;

use super::Evidence;
use crate::finding::Finding;

/// Runs every rule over the evidence.
pub fn run_all(evidence: &Evidence) -> Vec<Finding> {
    ebs_kms_launch::findings(evidence)
}
