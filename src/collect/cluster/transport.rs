//! Raw requests to the API server with timeouts and retries (exponential backoff with jitter),
//! inside the bounds of a [`Limits`]: each answer is size-capped, each request and the whole run
//! time-capped, and retries draw on the run's shared [`Budget`].
//!
//! Place in the pipeline: the bottom of the cluster collector; `fetch` builds on it. Returns bodies
//! as bytes and failures as data ([`RequestError`]).
//!
//! Must not: send anything but GET, or POST to the SelfSubjectAccessReview endpoint (enforced in
//! [`Transport::post_access_review`]); print anything but the budget's rate-limited waiting note.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;

use super::credentials::{describe_auth_error, redact_urls};
use super::limits::{Budget, Limits, show_duration};

/// Path of the only endpoint the tool ever POSTs to.
pub(crate) const SSAR_PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// A failed request, after retries.
#[derive(Debug, Clone)]
pub(crate) enum RequestError {
    /// The server answered with an error status.
    Status {
        /// HTTP status.
        code: u16,
        /// The `message` of the `Status` body, or the body text.
        message: String,
    },
    /// No answer: connection refused or dropped, DNS, TLS.
    Unreachable(String),
    /// No answer within the request timeout.
    Timeout,
    /// The client could not produce credentials (exec plugin, token file).
    Credentials(String),
    /// The answer was larger than [`Limits::max_page_bytes`] (or never ended).
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The run reached its `--timeout` before this request could be answered.
    Deadline,
}

impl RequestError {
    /// HTTP status, when the server answered.
    pub(crate) fn code(&self) -> Option<u16> {
        match self {
            RequestError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// One line for a gap's reason.
    pub(crate) fn describe(&self) -> String {
        match self {
            RequestError::Status { code, message } => {
                let canonical = StatusCode::from_u16(*code).ok().and_then(|s| s.canonical_reason());
                match canonical {
                    Some(r) if message.is_empty() => format!("{code} {r}"),
                    Some(r) => format!("{code} {r}: {message}"),
                    None => format!("HTTP {code}: {message}"),
                }
            }
            RequestError::Unreachable(cause) => format!("no answer from the API server: {cause}"),
            RequestError::Timeout => "the API server did not answer in time".to_string(),
            RequestError::Credentials(cause) => format!("cannot obtain credentials: {cause}"),
            RequestError::TooLarge { limit } => {
                format!("the answer was larger than {} (--max-page-bytes) and was not read", show_bytes(*limit))
            }
            RequestError::Deadline => "not read: the run reached its --timeout".to_string(),
        }
    }
}

/// Bytes in words: `128 MiB`, `4 KiB`, `100 bytes`.
pub(crate) fn show_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// One answered request.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Bytes,
}

/// Sends requests through a kube client with a retry policy.
pub(crate) struct Transport<'a> {
    client: &'a kube::Client,
    limits: &'a Limits,
    budget: &'a Budget,
    rng: Mutex<XorShift>,
}

/// How often a request may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retries {
    /// Up to [`Limits::max_retries`], within the run's retry budget.
    Normal,
    /// At most once, and only while the run's configz retries last (a kubelet behind the node
    /// proxy that answers 503 is usually down).
    Configz,
}

impl<'a> Transport<'a> {
    pub(crate) fn new(client: &'a kube::Client, limits: &'a Limits, budget: &'a Budget) -> Transport<'a> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Transport { client, limits, budget, rng: Mutex::new(XorShift::new(seed)) }
    }

    /// GET `path_and_query`, retrying transient failures; the body on 2xx.
    pub(crate) async fn get(&self, path_and_query: &str) -> Result<Bytes, RequestError> {
        self.with_retries(Method::GET, path_and_query, None, Retries::Normal).await
    }

    /// GET with a chosen retry policy.
    pub(crate) async fn get_with(&self, path_and_query: &str, retries: Retries) -> Result<Bytes, RequestError> {
        self.with_retries(Method::GET, path_and_query, None, retries).await
    }

    /// POSTs a SelfSubjectAccessReview (persists nothing); the response body.
    pub(crate) async fn post_access_review(&self, body: Vec<u8>) -> Result<Bytes, RequestError> {
        self.with_retries(Method::POST, SSAR_PATH, Some(Bytes::from(body)), Retries::Normal).await
    }

    async fn with_retries(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        retries: Retries,
    ) -> Result<Bytes, RequestError> {
        let mut attempt: u32 = 0;
        loop {
            let started = Instant::now();
            let (err, server_delay) = match self.once(method.clone(), path, body.clone()).await {
                Ok(answer) if answer.status.is_success() => return Ok(answer.body),
                Ok(answer) => {
                    let err =
                        RequestError::Status { code: answer.status.as_u16(), message: status_message(&answer.body) };
                    let retryable = answer.status == StatusCode::TOO_MANY_REQUESTS || answer.status.is_server_error();
                    if !retryable {
                        return Err(err);
                    }
                    (err, answer.retry_after)
                }
                Err(err @ (RequestError::Credentials(_) | RequestError::TooLarge { .. } | RequestError::Deadline)) => {
                    return Err(err);
                }
                Err(err) => (err, None),
            };
            let max = match retries {
                Retries::Normal => self.limits.max_retries,
                Retries::Configz => self.limits.max_retries.min(1),
            };
            if attempt >= max {
                return Err(err);
            }
            let delay =
                server_delay.map(|d| d.min(self.limits.max_retry_after)).unwrap_or_else(|| self.backoff(attempt));
            let cost = started.elapsed() + delay;
            if !self.budget.take_retry(cost, delay) {
                return Err(gave_up(err, self.limits));
            }
            if retries == Retries::Configz && !self.budget.take_configz_retry() {
                return Err(err);
            }
            self.sleep_noting(delay, || format!("{method} {}: {}", short_path(path), err.describe())).await;
            attempt += 1;
        }
    }

    /// Sleeps `delay`, printing the budget's waiting note while it lasts long.
    async fn sleep_noting(&self, delay: Duration, what: impl Fn() -> String) {
        let every = self.budget.note_every();
        if every.is_zero() || delay < every {
            tokio::time::sleep(delay).await;
            return;
        }
        let end = Instant::now() + delay;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            self.budget.note(|| format!("{}; retrying in {}", what(), show_duration(round_secs(left))));
            tokio::time::sleep(left.min(every)).await;
        }
    }

    /// Exponential backoff with "equal jitter": half the step fixed, half random.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.limits.backoff_base.as_millis().max(1) as u64;
        let cap = self.limits.backoff_max.as_millis().max(1) as u64;
        let step = base.saturating_mul(1u64 << attempt.min(20)).min(cap);
        let half = step / 2;
        let jitter = match self.rng.lock() {
            Ok(mut rng) => rng.next() % (half + 1),
            Err(_) => 0,
        };
        Duration::from_millis(half + jitter)
    }

    async fn once(&self, method: Method, path: &str, body: Option<Bytes>) -> Result<Answer, RequestError> {
        // The request's own timeout, shortened to what is left of the run.
        let (allowed, by_deadline) = match self.budget.remaining() {
            Some(left) if left.is_zero() => return Err(RequestError::Deadline),
            Some(left) if left < self.limits.request_timeout => (left, true),
            _ => (self.limits.request_timeout, false),
        };
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, concat!("dockershim-audit/", env!("CARGO_PKG_VERSION")));
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(kube::client::Body::from(body.unwrap_or_default()))
            .map_err(|e| RequestError::Unreachable(format!("cannot build request for {path}: {e}")))?;
        let limit = self.limits.max_page_bytes;
        let exchange = async {
            let response = self.client.send(request).await.map_err(classify)?;
            let (parts, body) = response.into_parts();
            let cap = usize::try_from(limit).unwrap_or(usize::MAX);
            let body = match http_body_util::Limited::new(body, cap).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                    return Err(RequestError::TooLarge { limit });
                }
                Err(e) => {
                    return Err(RequestError::Unreachable(format!(
                        "connection lost while reading the answer: {}",
                        error_chain(e.as_ref())
                    )));
                }
            };
            let retry_after = parts
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Ok(Answer { status: parts.status, retry_after, body })
        };
        tokio::pin!(exchange);
        // Wait in steps, so that a long wait prints the budget's note (at most every few seconds).
        let started = Instant::now();
        let every = self.budget.note_every();
        loop {
            let left = allowed.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(if by_deadline { RequestError::Deadline } else { RequestError::Timeout });
            }
            let step = if every.is_zero() { left } else { left.min(every) };
            match tokio::time::timeout(step, &mut exchange).await {
                Ok(result) => return result,
                Err(_) => self.budget.note(|| {
                    format!(
                        "{method} {} has not answered for {} (gives up after {})",
                        short_path(path),
                        show_duration(round_secs(started.elapsed())),
                        show_duration(allowed)
                    )
                }),
            }
        }
    }
}

/// A retried error given up on because the run's retry budget is spent.
fn gave_up(err: RequestError, limits: &Limits) -> RequestError {
    let why = format!("gave up retrying: the run's retry budget of {} is spent", show_duration(limits.retry_budget));
    match err {
        RequestError::Status { code, message } if message.is_empty() => RequestError::Status { code, message: why },
        RequestError::Status { code, message } => RequestError::Status { code, message: format!("{message}; {why}") },
        RequestError::Unreachable(cause) => RequestError::Unreachable(format!("{cause}; {why}")),
        other => other,
    }
}

/// Whole seconds (at least one), for notes.
fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs().max(1))
}

/// A request path without its query (continue tokens are long and say nothing to a reader).
fn short_path(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// Maps a kube client error to a request error, with the innermost cause in words.
fn classify(err: kube::Error) -> RequestError {
    match err {
        kube::Error::Auth(e) => RequestError::Credentials(describe_auth_error(&e, None)),
        other => RequestError::Unreachable(redact_urls(&error_chain(&other))),
    }
}

/// An error and its sources, joined with ": ".
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The `message` of a `Status` body, else the (shortened) body text.
fn status_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(m) = v.get("message").and_then(|m| m.as_str())
    {
        return m.to_string();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// A small xorshift64* generator for retry jitter (not for anything secret).
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 { 0x2545_f491_4f6c_dd1d } else { seed })
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_message_from_status_or_text() {
        assert_eq!(status_message(br#"{"kind":"Status","message":"pods is forbidden"}"#), "pods is forbidden");
        assert_eq!(status_message(b"  bad gateway \n"), "bad gateway");
        let long = "é".repeat(300);
        assert!(status_message(long.as_bytes()).len() <= 200);
    }

    #[test]
    fn describe() {
        let e = RequestError::Status { code: 403, message: "nope".into() };
        assert_eq!(e.describe(), "403 Forbidden: nope");
        assert_eq!(e.code(), Some(403));
    }

    #[test]
    fn xorshift_varies() {
        let mut r = XorShift::new(0);
        let a = r.next();
        assert_ne!(a, r.next());
    }
}
