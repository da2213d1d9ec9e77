//! Request routing and answers of the fake API server.
//!
//! Place in the pipeline: inside the fake API server (test support). Maps each HTTP request to a
//! discovery document, a list page, one object, a configz body, an access review, or a `Status`
//! error shaped like the real API server's; applies injected faults; logs every request.
//!
//! Must not: accept writes (anything but GET, and POST of a SelfSubjectAccessReview, is answered
//! 405) unless started with a [`super::NodeSim`], whose pods and namespaces [`super::live`]
//! answers; or block on anything but the request body.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};

use super::faults::{self, Fault, Shape};
use super::live::{Live, NodeSim};
use super::store::{Collection, Entry, Store, with_type_meta};
use super::{FakeConfig, Injection, Log, LoggedRequest, discovery, table};
use dockershim_audit::collect::cluster::kinds::ResourceKind;

/// The identity named in 403 messages.
pub(crate) const USER: &str = "system:serviceaccount:dockershim-audit:dockershim-audit";

/// Body type of every answer.
pub(crate) type FakeBody = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Shared server state.
pub(crate) struct State {
    store: Store,
    forbid: HashSet<String>,
    injections: Mutex<Vec<(Injection, u32)>>,
    faults: Vec<Fault>,
    legacy_cronjobs: bool,
    pub(crate) token: Option<String>,
    pub(crate) log: Log,
    addr: SocketAddr,
    /// Pods and namespaces clients create (only with a [`NodeSim`]).
    pub(crate) live: Option<Live>,
}

impl State {
    pub(crate) fn new(cfg: FakeConfig, addr: SocketAddr, nodes: Option<NodeSim>) -> State {
        let FakeConfig { snapshot, forbid, inject, faults, cronjob_v1beta1_only, server_version, token } = cfg;
        let injections = inject
            .into_iter()
            .map(|i| {
                let times = match &i {
                    Injection::TooManyRequests { times, .. }
                    | Injection::ServerError { times, .. }
                    | Injection::ExpireContinue { times, .. }
                    | Injection::DropConnection { times, .. } => *times,
                };
                (i, times)
            })
            .collect();
        State {
            store: Store::build(snapshot, server_version.as_deref(), cronjob_v1beta1_only),
            forbid: forbid.into_iter().collect(),
            injections: Mutex::new(injections),
            faults,
            legacy_cronjobs: cronjob_v1beta1_only,
            token,
            log: Mutex::new(Vec::new()),
            addr,
            live: nodes.map(Live::new),
        }
    }

    /// Takes one use of the first injection matching the request, if any.
    fn take_injection(&self, key: &str, has_continue: bool) -> Option<Injection> {
        let mut list = self.injections.lock().ok()?;
        for (inj, remaining) in list.iter_mut() {
            let (resource, needs_continue) = match inj {
                Injection::TooManyRequests { resource, .. }
                | Injection::ServerError { resource, .. }
                | Injection::DropConnection { resource, .. } => (resource, false),
                Injection::ExpireContinue { resource, .. } => (resource, true),
            };
            if *remaining > 0 && (resource == key || resource == "*") && (!needs_continue || has_continue) {
                *remaining -= 1;
                return Some(inj.clone());
            }
        }
        None
    }
}

/// An answer before it becomes an HTTP response.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    retry_after: Option<u32>,
    /// How the body is sent (whole, cut off, endless, dripped).
    pub(crate) shape: Shape,
}

impl Reply {
    pub(crate) fn json(status: u16, body: impl Into<Bytes>) -> Reply {
        Reply { status, body: body.into(), retry_after: None, shape: Shape::Full }
    }

    pub(crate) fn value(status: u16, v: &Value) -> Reply {
        Reply::json(status, v.to_string())
    }

    pub(crate) fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Reply {
        let mut v = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code,
        });
        if let Some(d) = details {
            v["details"] = d;
        }
        Reply::value(code, &v)
    }

    fn not_found(message: &str) -> Reply {
        Reply::status(404, "NotFound", message, None)
    }
}

/// Answers one request and logs it.
pub(crate) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<FakeBody>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_string);
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = if method == Method::POST {
        match Limited::new(req.into_body(), 1 << 20).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        }
    } else {
        Bytes::new()
    };
    let reply = if method == Method::POST && !content_type.is_empty() && !content_type.contains("json") {
        Reply::status(
            415,
            "UnsupportedMediaType",
            &format!("the fake API server reads JSON only, not {content_type} (kubectl auth can-i sends protobuf)"),
            None,
        )
    } else {
        route(&state, &method, &path, query.as_deref(), accept.as_deref(), authorization.as_deref(), &body)
    };
    if let Ok(mut log) = state.log.lock() {
        log.push(LoggedRequest {
            method: method.to_string(),
            path,
            query,
            status: if reply.shape == Shape::Drop { 0 } else { reply.status },
            accept,
        });
    }
    Ok(into_response(reply))
}

fn into_response(reply: Reply) -> Response<FakeBody> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    type Chunk = Result<Frame<Bytes>, Box<dyn std::error::Error + Send + Sync>>;
    let body: FakeBody = match reply.shape {
        Shape::Full => Full::new(reply.body).map_err(|never| match never {}).boxed(),
        Shape::Drop => {
            let half = reply.body.slice(..reply.body.len() / 2);
            let frames: Vec<Chunk> =
                vec![Ok(Frame::data(half)), Err("connection dropped on purpose by the fake API server".into())];
            StreamBody::new(futures::stream::iter(frames)).boxed()
        }
        Shape::Endless => {
            let padding = Bytes::from(vec![b' '; 64 * 1024]);
            let head =
                futures::stream::iter([Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Frame::data(reply.body))]);
            let tail = futures::stream::repeat_with(move || Ok(Frame::data(padding.clone())));
            StreamBody::new(futures::StreamExt::chain(head, tail)).boxed()
        }
        Shape::Drip(every) => {
            let bytes = reply.body;
            let drip = futures::stream::unfold(0usize, move |i| {
                let bytes = bytes.clone();
                async move {
                    if i > 0 {
                        tokio::time::sleep(every).await;
                    }
                    // One byte at a time; after the body, blanks forever.
                    let chunk = if i < bytes.len() { bytes.slice(i..i + 1) } else { Bytes::from_static(b" ") };
                    Some((Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Frame::data(chunk)), i + 1))
                }
            });
            StreamBody::new(drip).boxed()
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("Cache-Control", HeaderValue::from_static("no-cache, private"));
    if let Some(secs) = reply.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        headers.insert(header::RETRY_AFTER, v);
    }
    response
}

/// What a path addresses.
enum Target<'a> {
    Version,
    Discovery(Value),
    List { res: &'static ResourceKind, api_version: String, ns: Option<&'a str> },
    Get { res: &'static ResourceKind, api_version: String, ns: Option<&'a str>, name: &'a str },
    Configz { node: &'a str },
    AccessReview,
    NotFound,
}

impl Target<'_> {
    /// The resource name injections and `forbid` match.
    fn key(&self) -> &str {
        match self {
            Target::Version => "version",
            Target::Discovery(_) => "discovery",
            Target::List { res, .. } | Target::Get { res, .. } => res.plural,
            Target::Configz { .. } => "nodes/proxy",
            Target::AccessReview => "selfsubjectaccessreviews",
            Target::NotFound => "",
        }
    }
}

fn resolve<'a>(state: &State, segments: &[&'a str]) -> Target<'a> {
    let legacy = state.legacy_cronjobs;
    let (group, version, rest) = match segments {
        ["version"] => return Target::Version,
        ["api"] => return Target::Discovery(discovery::api_versions(state.addr)),
        ["apis"] => return Target::Discovery(discovery::api_groups(legacy)),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Target::NotFound,
    };
    let Some(served) = discovery::served(group, version, legacy) else { return Target::NotFound };
    let api_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    let find = |plural: &str| -> Option<&'static ResourceKind> { served.iter().copied().find(|r| r.plural == plural) };
    match rest {
        [] => Target::Discovery(discovery::resource_list(group, version, &served)),
        ["selfsubjectaccessreviews"] if group == "authorization.k8s.io" => Target::AccessReview,
        ["nodes", node, "proxy", "configz"] if group.is_empty() => Target::Configz { node },
        ["namespaces", ns, plural] => match find(plural) {
            Some(res) if res.namespaced => Target::List { res, api_version, ns: Some(ns) },
            _ => Target::NotFound,
        },
        ["namespaces", ns, plural, name] => match find(plural) {
            Some(res) if res.namespaced => Target::Get { res, api_version, ns: Some(ns), name },
            _ => Target::NotFound,
        },
        [plural] => match find(plural) {
            Some(res) => Target::List { res, api_version, ns: None },
            None => Target::NotFound,
        },
        [plural, name] => match find(plural) {
            Some(res) if !res.namespaced => Target::Get { res, api_version, ns: None, name },
            _ => Target::NotFound,
        },
        _ => Target::NotFound,
    }
}

fn route(
    state: &State,
    method: &Method,
    path: &str,
    query: Option<&str>,
    accept: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Reply {
    if let Some(token) = &state.token {
        let ok = authorization.and_then(|a| a.strip_prefix("Bearer ")).is_some_and(|t| t.trim() == token);
        if !ok {
            return Reply::status(401, "Unauthorized", "Unauthorized", None);
        }
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let target = resolve(state, &segments);
    let continue_token = param(query, "continue").filter(|c| !c.is_empty());

    // `resource: "DELETE pods"` matches only that method; a bare `pods` matches every method.
    let by_method = format!("{method} {}", target.key());
    let injected = state
        .take_injection(&by_method, continue_token.is_some())
        .or_else(|| state.take_injection(target.key(), continue_token.is_some()));
    if let Some(inj) = injected {
        match inj {
            Injection::TooManyRequests { retry_after_secs, .. } => {
                let mut r = Reply::status(
                    429,
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                    Some(json!({"retryAfterSeconds": retry_after_secs})),
                );
                r.retry_after = Some(retry_after_secs);
                return r;
            }
            Injection::ServerError { status, .. } => {
                let reason = match status {
                    503 => "ServiceUnavailable",
                    504 => "Timeout",
                    _ => "InternalError",
                };
                return Reply::status(
                    status,
                    reason,
                    "an error on the server (\"injected\") has prevented the request from succeeding",
                    None,
                );
            }
            Injection::ExpireContinue { .. } => {
                return Reply::status(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. \
                     You can start a new list without the continue parameter.",
                    None,
                );
            }
            Injection::DropConnection { .. } => {
                let mut r = serve(state, method, &target, &segments, query, accept, body, continue_token.as_deref());
                r.shape = Shape::Drop;
                if r.body.len() < 2 {
                    r.body = Bytes::from_static(b"{\"kind\":\"Status\"}");
                }
                return r;
            }
        }
    }
    let is_list = matches!(target, Target::List { .. }) && *method == Method::GET;
    if let Some(reply) = faults::answer(&state.faults, target.key(), is_list, || {
        serve(state, method, &target, &segments, query, accept, body, None)
    }) {
        return reply;
    }
    serve(state, method, &target, &segments, query, accept, body, continue_token.as_deref())
}

#[allow(clippy::too_many_arguments)]
fn serve(
    state: &State,
    method: &Method,
    target: &Target<'_>,
    segments: &[&str],
    query: Option<&str>,
    accept: Option<&str>,
    body: &[u8],
    continue_token: Option<&str>,
) -> Reply {
    if let Some(live) = &state.live
        && let Some(reply) = live.serve(&state.store, &state.forbid, method, segments, query, body)
    {
        return reply;
    }
    let is_review = matches!(target, Target::AccessReview);
    if (is_review && method != Method::POST) || (!is_review && method != Method::GET) {
        return Reply::status(
            405,
            "MethodNotAllowed",
            &format!("the fake API server is read-only: {method} is not supported here"),
            None,
        );
    }
    if param(query, "watch").is_some_and(|w| w == "true" || w == "1") {
        return Reply::status(405, "MethodNotAllowed", "watch is not supported by the fake API server", None);
    }
    let table = accept.is_some_and(|a| a.contains("as=Table"));
    match target {
        Target::NotFound => Reply::not_found("the server could not find the requested resource"),
        Target::Version => Reply::json(200, state.store.version.clone()),
        Target::Discovery(doc) => Reply::value(200, doc),
        Target::AccessReview => access_review(state, body),
        Target::Configz { node } => {
            if state.forbid.contains("nodes/proxy") {
                return forbidden("get", "nodes/proxy", "", None, Some(node), "nodes");
            }
            match state.store.configz.get(*node) {
                Some(b) => Reply::json(200, b.clone()),
                None if state.store.collections.get("nodes").and_then(|c| c.find("", node)).is_some() => Reply::status(
                    503,
                    "ServiceUnavailable",
                    &format!("error trying to reach service: dial tcp {node}:10250: connect: connection refused"),
                    None,
                ),
                None => Reply::not_found(&format!("nodes \"{node}\" not found")),
            }
        }
        Target::List { res, api_version, ns } => {
            if state.forbid.contains(res.plural) {
                return forbidden("list", res.plural, res.group, *ns, None, res.plural);
            }
            let Some(coll) = state.store.collection(res.plural) else {
                return Reply::not_found("the server could not find the requested resource");
            };
            list(state, coll, api_version, *ns, query, continue_token, table)
        }
        Target::Get { res, api_version, ns, name } => {
            if state.forbid.contains(res.plural) {
                return forbidden("get", res.plural, res.group, *ns, Some(name), res.plural);
            }
            let entry = state.store.collection(res.plural).and_then(|c| c.find(ns.unwrap_or(""), name));
            match entry {
                Some(e) if table => Reply::value(200, &table::table(res, api_version, &[e], &state.store, None, query)),
                Some(e) => Reply::json(200, with_type_meta(e, res, api_version)),
                None => Reply::status(
                    404,
                    "NotFound",
                    &format!("{} \"{name}\" not found", res.plural),
                    Some(json!({"name": name, "kind": res.plural})),
                ),
            }
        }
    }
}

/// A 403 shaped like the real one.
fn forbidden(
    verb: &str,
    resource: &str,
    group: &str,
    ns: Option<&str>,
    name: Option<&str>,
    kind_plural: &str,
) -> Reply {
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let subject = match name {
        Some(n) => format!("{kind_plural} \"{n}\""),
        None => kind_plural.to_string(),
    };
    let message = format!(
        "{subject} is forbidden: User \"{USER}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
    );
    let mut details = json!({"kind": kind_plural});
    if let Some(n) = name {
        details["name"] = json!(n);
    }
    Reply::status(403, "Forbidden", &message, Some(details))
}

/// Answers a SelfSubjectAccessReview: allowed unless the resource is in `forbid`.
fn access_review(state: &State, body: &[u8]) -> Reply {
    if state.forbid.contains("selfsubjectaccessreviews") {
        return forbidden(
            "create",
            "selfsubjectaccessreviews",
            "authorization.k8s.io",
            None,
            None,
            "selfsubjectaccessreviews",
        );
    }
    let Ok(mut review) = serde_json::from_slice::<Value>(body) else {
        return Reply::status(400, "BadRequest", "the request body is not a SelfSubjectAccessReview", None);
    };
    let attrs = review.pointer("/spec/resourceAttributes").cloned().unwrap_or(Value::Null);
    let resource = attrs.get("resource").and_then(Value::as_str).unwrap_or("");
    let sub = attrs.get("subresource").and_then(Value::as_str).filter(|s| !s.is_empty());
    let key = match sub {
        Some(s) => format!("{resource}/{s}"),
        None => resource.to_string(),
    };
    let allowed = !resource.is_empty() && !state.forbid.contains(&key);
    let status = if allowed {
        json!({"allowed": true, "reason": "RBAC: allowed by the fake API server"})
    } else {
        json!({"allowed": false})
    };
    if let Some(obj) = review.as_object_mut() {
        obj.insert("status".into(), status);
        obj.entry("metadata").or_insert_with(|| json!({"creationTimestamp": null}));
    }
    Reply::value(201, &review)
}

/// One page of a list: `limit` objects from the continue token's offset.
fn list(
    state: &State,
    coll: &Collection,
    api_version: &str,
    ns: Option<&str>,
    query: Option<&str>,
    continue_token: Option<&str>,
    table: bool,
) -> Reply {
    let scoped = coll.scope(ns);
    // A label selector keeps the matching objects (each parsed only when one is given).
    let filtered: Option<Vec<&Entry>> = match param(query, "labelSelector").filter(|s| !s.is_empty()) {
        None => None,
        Some(sel) => {
            let mut kept = Vec::new();
            for e in scoped {
                let v: Value = serde_json::from_slice(&e.json).unwrap_or(Value::Null);
                match super::live::selector_matches(&sel, v.pointer("/metadata/labels").and_then(Value::as_object)) {
                    Ok(true) => kept.push(e),
                    Ok(false) => {}
                    Err(msg) => return Reply::status(400, "BadRequest", &msg, None),
                }
            }
            Some(kept)
        }
    };
    let total = filtered.as_ref().map_or(scoped.len(), Vec::len);
    let rv = state.store.resource_version;
    let offset = match continue_token {
        None => 0,
        Some(tok) => match decode_token(tok) {
            Some((token_rv, off)) if token_rv == rv && off <= total => off,
            _ => return Reply::status(400, "BadRequest", "continue key is not valid", None),
        },
    };
    let limit = param(query, "limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    let end = match limit {
        Some(l) => offset.saturating_add(l).min(total),
        None => total,
    };
    let page: Vec<&Entry> = match &filtered {
        Some(f) => f[offset..end].to_vec(),
        None => scoped[offset..end].iter().collect(),
    };
    let remaining = total - end;
    let next = (remaining > 0).then(|| encode_token(rv, end));
    if table {
        return Reply::value(200, &table::table(coll.res, api_version, &page, &state.store, next.as_deref(), query));
    }
    let meta = match &next {
        Some(tok) => {
            format!("{{\"resourceVersion\":\"{rv}\",\"continue\":\"{tok}\",\"remainingItemCount\":{remaining}}}")
        }
        None => format!("{{\"resourceVersion\":\"{rv}\"}}"),
    };
    let head = format!(
        "{{\"kind\":\"{}\",\"apiVersion\":\"{api_version}\",\"metadata\":{meta},\"items\":[",
        coll.res.list_kind()
    );
    let size: usize = page.iter().map(|e| e.json.len() + 1).sum();
    let mut out = Vec::with_capacity(head.len() + size + 2);
    out.extend_from_slice(head.as_bytes());
    for (i, e) in page.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&e.json);
    }
    out.extend_from_slice(b"]}");
    Reply::json(200, out)
}

/// An opaque continue token: hex of `rv:offset`.
pub fn encode_token(rv: u64, offset: usize) -> String {
    format!("{rv}:{offset}").bytes().map(|b| format!("{b:02x}")).collect()
}

pub fn decode_token(tok: &str) -> Option<(u64, usize)> {
    if !tok.len().is_multiple_of(2) || tok.len() > 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..tok.len()).step_by(2).map(|i| tok.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (rv, off) = text.split_once(':')?;
    Some((rv.parse().ok()?, off.parse().ok()?))
}

/// A query parameter, percent-decoded.
pub fn param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v))
    })
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
