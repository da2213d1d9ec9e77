//! Helpers shared by the integration tests that read the tool's JSON results.
//!
//! Place in the pipeline: test support only.

use serde_json::Value;

/// (rule id, `path:line` or "-") of one finding of a JSON report.
pub fn rule_and_place(finding: &Value) -> (String, String) {
    let l = &finding["location"];
    let at = match (l["path"].as_str(), l["line"].as_u64()) {
        (Some(p), Some(n)) => format!("{p}:{n}"),
        _ => "-".into(),
    };
    (finding["ruleId"].as_str().unwrap().to_string(), at)
}
