//! Hostile answers of the fake API server: the misbehaving server the tool's bounds are tested
//! against (issue 14) — continue tokens that repeat or never end, lists without `items`, answers
//! that are huge, endless or dripped one byte at a time.
//!
//! Place in the pipeline: inside the fake API server (test support). [`super::handler`] asks
//! [`answer`] before serving a request normally; 429 storms and odd `/version` bodies are plain
//! configuration ([`super::Injection::TooManyRequests`] with `resource: "*"`,
//! [`super::FakeConfig::server_version`]).
//!
//! Must not: hold anything per connection beyond the one answer, or end a stream on its own (the
//! client's bounds must).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use super::handler::Reply;

/// A misbehaving answer, for every request to `resource` (a lowercase plural, `nodes/proxy`,
/// `version`, or `*` for every request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Every list page hands out the same continue token, so the listing never ends.
    RepeatContinue {
        /// Resource whose lists misbehave.
        resource: String,
    },
    /// Every list page (the first page of objects, again) hands out a new continue token, forever.
    EndlessContinue {
        /// Resource whose lists misbehave.
        resource: String,
    },
    /// Lists answer 200 with this body: `{}`, `{"items":null}`, a `Status`.
    NoItems {
        /// Resource whose lists misbehave.
        resource: String,
        /// The body answered.
        body: String,
    },
    /// Lists answer a valid, empty list padded to `bytes` bytes (with a Content-Length).
    HugeBody {
        /// Resource whose lists misbehave.
        resource: String,
        /// Size of the answer.
        bytes: usize,
    },
    /// Answers are a chunked body that never ends.
    EndlessBody {
        /// Resource whose answers misbehave.
        resource: String,
    },
    /// Answers send one byte, then one more every `every_ms`, and never end.
    SlowDrip {
        /// Resource whose answers misbehave.
        resource: String,
        /// Milliseconds between bytes.
        every_ms: u64,
    },
}

impl Fault {
    fn resource(&self) -> &str {
        match self {
            Fault::RepeatContinue { resource }
            | Fault::EndlessContinue { resource }
            | Fault::NoItems { resource, .. }
            | Fault::HugeBody { resource, .. }
            | Fault::EndlessBody { resource }
            | Fault::SlowDrip { resource, .. } => resource,
        }
    }

    /// Whether the fault concerns only list requests.
    fn lists_only(&self) -> bool {
        matches!(
            self,
            Fault::RepeatContinue { .. }
                | Fault::EndlessContinue { .. }
                | Fault::NoItems { .. }
                | Fault::HugeBody { .. }
        )
    }
}

/// How an answer's body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The whole body at once.
    Full,
    /// Half the body, then the connection is cut.
    Drop,
    /// The body, then padding in 64 KiB chunks, forever.
    Endless,
    /// The body one byte at a time, then nothing, forever.
    Drip(Duration),
}

/// Counts the tokens [`Fault::EndlessContinue`] hands out.
static ENDLESS: AtomicU64 = AtomicU64::new(0);

/// The faulty answer for a request to `key`, if a fault applies. `normal` serves the request
/// normally (the first page of a list, for the continue faults).
pub(crate) fn answer(faults: &[Fault], key: &str, is_list: bool, normal: impl FnOnce() -> Reply) -> Option<Reply> {
    let fault = faults.iter().find(|f| (f.resource() == key || f.resource() == "*") && (is_list || !f.lists_only()))?;
    Some(match fault {
        Fault::RepeatContinue { .. } => with_continue(normal(), "cmVwZWF0ZWQ"),
        Fault::EndlessContinue { .. } => {
            let n = ENDLESS.fetch_add(1, Ordering::Relaxed);
            with_continue(normal(), &format!("ZW5kbGVzcw-{n}"))
        }
        Fault::NoItems { body, .. } => Reply::json(200, body.clone()),
        Fault::HugeBody { bytes, .. } => {
            let head = br#"{"kind":"List","apiVersion":"v1","metadata":{},"items":[],"padding":""#;
            let mut out = Vec::with_capacity((*bytes).max(head.len() + 2));
            out.extend_from_slice(head);
            out.resize((*bytes).max(head.len() + 2) - 2, b'x');
            out.extend_from_slice(b"\"}");
            Reply::json(200, out)
        }
        Fault::EndlessBody { .. } => {
            let mut r = Reply::json(200, Bytes::from_static(br#"{"kind":"List","apiVersion":"v1","items":["#));
            r.shape = Shape::Endless;
            r
        }
        Fault::SlowDrip { every_ms, .. } => {
            let mut r = Reply::json(200, Bytes::from_static(br#"{"kind":"List","apiVersion":"v1","items":[]}"#));
            r.shape = Shape::Drip(Duration::from_millis((*every_ms).max(1)));
            r
        }
    })
}

/// The reply with its list's `metadata.continue` set to `token`.
fn with_continue(reply: Reply, token: &str) -> Reply {
    let Ok(mut v) = serde_json::from_slice::<Value>(&reply.body) else { return reply };
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("continue".into(), Value::String(token.to_string()));
        meta.remove("remainingItemCount");
    }
    Reply::value(reply.status, &v)
}
