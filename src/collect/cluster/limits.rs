//! Every bound on what the cluster collector reads from an API server, in one place: time (for the
//! whole run, per request, waiting to retry), size (per answer) and count (pages and objects per
//! list), and the shared budget that enforces them while a run goes on.
//!
//! Place in the pipeline: the bottom of the cluster collector, beside `transport`. `fetch` (the
//! lists and configz) and `collector` (its node list) take their bounds from a [`Limits`]; a
//! [`Budget`] is made once per run from it and shared by every request of that run. A server that
//! repeats a continue token, hands out new ones forever, answers without end, or keeps saying 429
//! ends the run in bounded time with coverage gaps, never a hang.
//!
//! Must not: decide what a failure means for coverage (the callers do), or print anything but the
//! rate-limited "still waiting" note of [`Budget::note`].

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The bounds of one run against one API server. The defaults are what the CLI uses when no flag
/// says otherwise; each is documented with its reason.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The whole run: once it has passed, no request is sent and what is left becomes gaps
    /// (`--timeout`, default 10 minutes; a 150k-pod cluster reads in about a minute). `None`: no limit.
    pub run_timeout: Option<Duration>,
    /// One request, answer included (`--request-timeout`, default 30 s like kubectl's).
    pub request_timeout: Duration,
    /// Retries of one request on 429, 5xx, timeouts and connection errors (default 4).
    pub max_retries: u32,
    /// First retry delay; doubles on each retry (with jitter) up to `backoff_max` (default 250 ms).
    pub backoff_base: Duration,
    /// Longest retry delay of our own (default 8 s).
    pub backoff_max: Duration,
    /// The longest `Retry-After` honoured in one wait (default 60 s).
    pub max_retry_after: Duration,
    /// Time the whole run may spend on requests that are retried (the failed attempt plus the wait
    /// before the next), shared by every request: a server that keeps answering 429 with a long
    /// `Retry-After` is given up on after this (default 2 minutes).
    pub retry_budget: Duration,
    /// Retries of configz reads for the whole run (default 4): a kubelet that answers 503 through
    /// the node proxy is usually down, and 500 of them must not cost 2,500 requests.
    pub configz_retries: u32,
    /// Largest answer read for one request, in bytes (`--max-page-bytes`, default 128 MiB; a page
    /// of 500 pods is about 2 MiB). A larger or endless answer is cut off and is a gap.
    pub max_page_bytes: u64,
    /// Pages read for one list (default 10,000: five million objects at 500 a page).
    pub max_pages: u32,
    /// Objects read for one list (default 2,000,000).
    pub max_objects: u64,
    /// How often, at most, the "still waiting" note is printed to stderr while a request or a
    /// retry wait lasts longer than this (default 5 s). Zero turns the notes off.
    pub note_every: Duration,
}

/// Default of `--timeout`.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// Default of `--request-timeout` (kubectl's).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of `--max-page-bytes`.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 128 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            run_timeout: Some(DEFAULT_RUN_TIMEOUT),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_retries: 4,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            retry_budget: Duration::from_secs(120),
            configz_retries: 4,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            max_pages: 10_000,
            max_objects: 2_000_000,
            note_every: Duration::from_secs(5),
        }
    }
}

/// The shared state that enforces [`Limits`] during one run.
#[derive(Debug)]
pub struct Budget {
    /// When the run must stop sending requests.
    pub(crate) deadline: Option<Instant>,
    retry_left: Mutex<Duration>,
    configz_retries_left: Mutex<u32>,
    last_note: Mutex<Option<Instant>>,
    note_every: Duration,
    /// Names the server in notes.
    server: String,
}

impl Budget {
    /// A budget starting now; `server` names the API server in notes.
    pub fn start(limits: &Limits, server: &str) -> Budget {
        let now = Instant::now();
        Budget {
            deadline: limits.run_timeout.and_then(|t| now.checked_add(t)),
            retry_left: Mutex::new(limits.retry_budget),
            configz_retries_left: Mutex::new(limits.configz_retries),
            last_note: Mutex::new(None),
            note_every: limits.note_every,
            server: server.to_string(),
        }
    }

    /// Time left before the deadline (`None`: no deadline); zero once it has passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.remaining().is_some_and(|r| r.is_zero())
    }

    /// Takes `cost` from the retry budget; false (and nothing taken) when not enough is left or
    /// the wait would end past the deadline.
    pub fn take_retry(&self, cost: Duration, wait: Duration) -> bool {
        if self.remaining().is_some_and(|r| r <= wait) {
            return false;
        }
        let mut left = self.retry_left.lock().unwrap_or_else(|p| p.into_inner());
        if *left < cost {
            *left = Duration::ZERO;
            return false;
        }
        *left -= cost;
        true
    }

    /// Takes one configz retry; false when the run's are spent.
    pub fn take_configz_retry(&self) -> bool {
        let mut left = self.configz_retries_left.lock().unwrap_or_else(|p| p.into_inner());
        if *left == 0 {
            return false;
        }
        *left -= 1;
        true
    }

    /// Prints `line` as a one-line note on stderr, unless a note was printed less than
    /// `note_every` ago (whichever request asks). Terminal or not: a CI log must show why a run
    /// is slow.
    pub fn note(&self, line: impl FnOnce() -> String) {
        if self.note_every.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut last = self.last_note.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|l| now.duration_since(l) < self.note_every) {
            return;
        }
        *last = Some(now);
        eprintln!("dockershim-audit: still waiting for {}: {}", self.server, line());
    }

    /// The interval between notes (zero: none).
    pub fn note_every(&self) -> Duration {
        self.note_every
    }
}

/// Why a paginated list had to stop before the server said it was complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStop {
    /// The server handed out a continue token it had handed out before in the same listing.
    RepeatedToken {
        /// Pages read before the repeat.
        pages: u32,
    },
    /// More pages than [`Limits::max_pages`].
    TooManyPages {
        /// The cap.
        limit: u32,
    },
    /// More objects than [`Limits::max_objects`].
    TooManyObjects {
        /// The cap.
        limit: u64,
    },
}

impl PageStop {
    /// The gap's reason, in words.
    pub fn describe(&self) -> String {
        match self {
            PageStop::RepeatedToken { pages } => format!(
                "list stopped after {pages} page(s): the server handed out the same continue token twice, so the \
                 list would never end"
            ),
            PageStop::TooManyPages { limit } => {
                format!(
                    "list stopped after {limit} pages, the most one list may take: the server kept handing out continue tokens"
                )
            }
            PageStop::TooManyObjects { limit } => {
                format!("list stopped after {limit} objects, the most one list may hold")
            }
        }
    }
}

/// Follows one paginated listing: every continue token, page and object, against the caps.
#[derive(Debug)]
pub struct Pager {
    tokens: HashSet<String>,
    pages: u32,
    objects: u64,
    max_pages: u32,
    max_objects: u64,
}

impl Pager {
    /// A pager for one listing under `limits`.
    pub fn new(limits: &Limits) -> Pager {
        Pager {
            tokens: HashSet::new(),
            pages: 0,
            objects: 0,
            max_pages: limits.max_pages,
            max_objects: limits.max_objects,
        }
    }

    /// Counts a page of `objects` that came with `next` (the continue token, if any); an error when
    /// the listing must stop.
    pub fn page(&mut self, objects: usize, next: Option<&str>) -> Result<(), PageStop> {
        self.objects(objects)?;
        self.token(next)
    }

    /// Counts the objects of a page ([`Pager::page`] in two steps, for a reader that learns a
    /// page's continue token before it has read the page's items).
    pub fn objects(&mut self, objects: usize) -> Result<(), PageStop> {
        self.objects = self.objects.saturating_add(objects as u64);
        if self.objects > self.max_objects {
            return Err(PageStop::TooManyObjects { limit: self.max_objects });
        }
        Ok(())
    }

    /// Counts a page that came with `next` (the continue token, if any), its objects aside.
    pub fn token(&mut self, next: Option<&str>) -> Result<(), PageStop> {
        self.pages = self.pages.saturating_add(1);
        let Some(token) = next else { return Ok(()) };
        if !self.tokens.insert(token.to_string()) {
            return Err(PageStop::RepeatedToken { pages: self.pages });
        }
        if self.pages >= self.max_pages {
            return Err(PageStop::TooManyPages { limit: self.max_pages });
        }
        Ok(())
    }
}

/// Parses a duration as `--timeout` and `--request-timeout` take it: `30s`, `5m`, `1h`, `250ms`,
/// `1m30s`, or a bare number of seconds. `0` means no limit (as kubectl's `--request-timeout`).
pub fn parse_duration(text: &str) -> Result<Option<Duration>, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a duration such as 30s, 5m or 1h");
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = t.parse().map_err(|_| bad())?;
        return Ok((secs > 0).then(|| Duration::from_secs(secs)));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    Ok((!total.is_zero()).then_some(total))
}

/// A duration in the words the flags take (`30s`, `10m`, `1h30m`, `250ms`).
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits { max_pages: 3, max_objects: 10, ..Limits::default() }
    }

    // See: issue 14, item 7 (a repeated continue token made the list endless).
    #[test]
    fn a_repeated_token_stops_the_listing() {
        let mut p = Pager::new(&Limits::default());
        assert_eq!(p.page(2, Some("a")), Ok(()));
        assert_eq!(p.page(2, Some("b")), Ok(()));
        assert_eq!(p.page(2, Some("a")), Err(PageStop::RepeatedToken { pages: 3 }));
    }

    #[test]
    fn pages_and_objects_are_capped() {
        let mut p = Pager::new(&small());
        assert_eq!(p.page(1, Some("a")), Ok(()));
        assert_eq!(p.page(1, Some("b")), Ok(()));
        assert_eq!(p.page(1, Some("c")), Err(PageStop::TooManyPages { limit: 3 }));
        let mut p = Pager::new(&small());
        assert_eq!(p.page(10, Some("a")), Ok(()));
        assert_eq!(p.page(1, None), Err(PageStop::TooManyObjects { limit: 10 }));
        // The last page of a list at the page cap is fine: it hands out no token.
        let mut p = Pager::new(&small());
        for t in ["a", "b"] {
            p.page(1, Some(t)).unwrap();
        }
        assert_eq!(p.page(1, None), Ok(()));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(parse_duration("45"), Ok(Some(Duration::from_secs(45))));
        assert_eq!(parse_duration("1m30s"), Ok(Some(Duration::from_secs(90))));
        assert_eq!(parse_duration("250ms"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(parse_duration("2h"), Ok(Some(Duration::from_secs(7200))));
        assert_eq!(parse_duration("0"), Ok(None));
        assert_eq!(parse_duration("0s"), Ok(None));
        for bad in ["", "s", "5x", "1.5s", "-1s", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(show_duration(Duration::from_secs(600)), "10m");
        assert_eq!(show_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn the_retry_budget_is_shared_and_bounded() {
        let b = Budget::start(&Limits { retry_budget: Duration::from_secs(10), ..Limits::default() }, "s");
        assert!(b.take_retry(Duration::from_secs(6), Duration::from_secs(6)));
        assert!(!b.take_retry(Duration::from_secs(6), Duration::from_secs(6)));
        assert!(!b.take_retry(Duration::from_secs(1), Duration::from_secs(1)), "spent means spent");
        let b = Budget::start(&Limits { configz_retries: 1, ..Limits::default() }, "s");
        assert!(b.take_configz_retry());
        assert!(!b.take_configz_retry());
        let b = Budget::start(&Limits { run_timeout: Some(Duration::from_secs(1)), ..Limits::default() }, "s");
        assert!(!b.take_retry(Duration::from_secs(2), Duration::from_secs(2)), "a wait past the deadline");
    }
}
