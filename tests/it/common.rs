//! Helpers shared by the integration tests: the tool's binary, the fixtures, and reading the
//! tool's JSON results.
//!
//! Place in the pipeline: test support only.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The real binary, with colour off.
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("dockershim-audit").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// `fixtures/<p>` of the repository.
pub fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(p)
}

/// (rule id, `path:line` or "-") of one finding of a JSON report.
pub fn rule_and_place(finding: &Value) -> (String, String) {
    let l = &finding["location"];
    let at = match (l["path"].as_str(), l["line"].as_u64()) {
        (Some(p), Some(n)) => format!("{p}:{n}"),
        _ => "-".into(),
    };
    (finding["ruleId"].as_str().unwrap().to_string(), at)
}
