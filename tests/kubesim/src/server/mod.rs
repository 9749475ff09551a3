//! The API server's HTTP side: authentication, injected faults, the request log, and the route
//! table ([`route`]) that sends each request to its handler — discovery, authorization, CRUD,
//! lists, watches, logs, evictions — one file each.
//!
//! To serve a new path: a handler in a file of its own, and an arm in [`route`] (non-resource
//! paths in [`discovery::route`]).

mod authz;
mod crud;
mod discovery;
mod eviction;
mod list;
mod logs;
mod watch;

use authz::{denied, forbidden, not_found_path};
use crud::parse_body;
pub(crate) use crud::prepare_create;
pub use crud::{unview, view};
use list::{selectors, wants_table};

use crate::controllers::{cascade_delete, default_pod_spec, delete_pod};
use crate::kubelet;
use crate::patch;
use crate::registry::{self, ResDef, RESOURCES};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::state::{RequestRecord, Shared, State};
use crate::store::{fields_of, plural_group, set_managed_fields, ApiError, WatchEvent};
use crate::table;
use crate::util;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub type Body = BoxBody<Bytes, Infallible>;

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

fn json_resp(code: u16, v: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "application/json")
        .header("Audit-Id", util::new_uid())
        .body(full(serde_json::to_vec(v).unwrap()))
        .unwrap()
}

fn err_resp(e: &ApiError) -> Response<Body> {
    let mut r = json_resp(e.code, &e.to_status());
    // apimachinery writes details.retryAfterSeconds as the Retry-After header too.
    if let Some(s) = e
        .details
        .as_ref()
        .and_then(|d| d["retryAfterSeconds"].as_i64())
    {
        r.headers_mut()
            .insert("Retry-After", s.to_string().parse().expect("header value"));
    }
    r
}

fn text_resp(code: u16, s: String) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "text/plain")
        .body(full(s))
        .unwrap()
}

fn stream_resp(ct: &str, rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let s = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Response::builder()
        .status(200)
        .header("Content-Type", ct)
        .header("Cache-Control", "no-cache, private")
        .body(BodyExt::boxed(StreamBody::new(s)))
        .unwrap()
}

pub struct Ctx {
    pub shared: Arc<Shared>,
    pub port: u16,
}

impl Ctx {
    /// Lets go of the state after a write and wakes the control loop, which acts on it.
    fn written(&self, st: std::sync::MutexGuard<'_, State>) {
        drop(st);
        self.shared.wake.notify_one();
    }
}

/// What a handler answers: a response, or the API error to send.
type Reply = Result<Response<Body>, ApiError>;

/// The object a request names: its resource, namespace ("" when cluster-scoped), name and
/// subresource (`status`, `scale`…).
#[derive(Clone, Copy)]
struct Target<'a> {
    def: &'static ResDef,
    ns: &'a str,
    name: &'a str,
    sub: Option<&'a str>,
}

struct Req {
    method: String,
    path: String,
    q: HashMap<String, String>,
    accept: String,
    content_type: String,
    user: String,
    user_agent: String,
    body: Bytes,
}

impl Req {
    fn qb(&self, k: &str) -> bool {
        matches!(self.q.get(k).map(|s| s.as_str()), Some("true") | Some("1"))
    }
    fn qi(&self, k: &str) -> Option<i64> {
        self.q.get(k).and_then(|s| s.parse().ok())
    }
    fn full_object(&self) -> bool {
        self.q.get("includeObject").is_some_and(|v| v == "Object")
    }
    fn dry_run(&self) -> bool {
        self.q.get("dryRun").is_some_and(|d| !d.is_empty())
    }
    fn manager(&self) -> String {
        self.q.get("fieldManager").cloned().unwrap_or_else(|| {
            self.user_agent
                .split('/')
                .next()
                .unwrap_or("unknown")
                .to_string()
        })
    }
}

pub async fn handle(
    ctx: Arc<Ctx>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let hdr = |k: &str| {
        req.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let auth = hdr("authorization");
    let accept = hdr("accept");
    let content_type = hdr("content-type");
    let user_agent = hdr("user-agent");
    let is_watch = matches!(q.get("watch").map(|s| s.as_str()), Some("true") | Some("1"))
        || path.contains("/watch/")
        || (q.get("follow").is_some_and(|f| f == "true") && path.ends_with("/log"));
    let latency = ctx.shared.faults.lock().unwrap().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    ctx.shared.unhung().await;
    hold_if_asked(&ctx.shared, &method, &path, &query).await;
    let user = {
        let st = ctx.shared.lock();
        auth.strip_prefix("Bearer ")
            .and_then(|t| st.tokens.get(t.trim()).cloned())
    };
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let resp = match &user {
        None => err_resp(&ApiError::new(401, "Unauthorized", "Unauthorized")),
        Some(user) => {
            let injected = {
                let mut f = ctx.shared.faults.lock().unwrap();
                let full_path = if query.is_empty() {
                    path.clone()
                } else {
                    format!("{path}?{query}")
                };
                let mut hit = None;
                for r in f.fail.iter_mut() {
                    if r.remaining > 0
                        && (r.method == "*" || r.method.eq_ignore_ascii_case(&method))
                        && full_path.contains(&r.path_contains)
                    {
                        r.remaining -= 1;
                        hit = Some(r.status);
                        break;
                    }
                }
                f.fail.retain(|r| r.remaining > 0);
                hit
            };
            match injected {
                Some(code) => {
                    let (reason, msg) = match code {
                        429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
                        503 => ("ServiceUnavailable", "the server is currently unable to handle the request"),
                        504 => ("Timeout", "the server was unable to return a response in the time allotted"),
                        400 => ("BadRequest", "the server rejected our request for an unknown reason (injected fault)"),
                        401 => ("Unauthorized", "Unauthorized"),
                        403 => ("Forbidden", "forbidden: injected fault"),
                        404 => ("NotFound", "the server could not find the requested resource"),
                        405 => ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
                        409 => ("Conflict", "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again"),
                        410 => ("Expired", "too old resource version"),
                        422 => ("Invalid", "the request is invalid (injected fault)"),
                        _ => ("InternalError", "an error on the server (\"injected fault\") has prevented the request from succeeding"),
                    };
                    let details = if code >= 500 {
                        json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "injected fault"}]})
                    } else {
                        json!({})
                    };
                    let mut r = err_resp(&ApiError::new(code, reason, msg).with_details(details));
                    if code == 429 || code == 503 {
                        r.headers_mut().insert("Retry-After", "1".parse().unwrap());
                    }
                    r
                }
                None => {
                    let r = Req {
                        method: method.clone(),
                        path: path.clone(),
                        q,
                        accept: accept.clone(),
                        content_type,
                        user: user.clone(),
                        user_agent,
                        body,
                    };
                    match route(&ctx, &r).await {
                        Ok(resp) => resp,
                        Err(e) => err_resp(&e),
                    }
                }
            }
        }
    };
    let status = resp.status().as_u16();
    ctx.shared.requests.lock().unwrap().push(RequestRecord {
        method,
        path,
        query,
        accept,
        user: user.unwrap_or_default(),
        status,
        watch: is_watch,
        at: started,
    });
    Ok(resp)
}

/// Holds a request that matches a hold rule until the rules no longer match it.
async fn hold_if_asked(shared: &Shared, method: &str, path: &str, query: &str) {
    let full = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let matches = |f: &crate::state::FaultState| {
        f.hold
            .iter()
            .any(|(m, p)| (m == "*" || m.eq_ignore_ascii_case(method)) && full.contains(p.as_str()))
    };
    if !matches(&shared.faults.lock().unwrap()) {
        return;
    }
    shared.faults.lock().unwrap().held += 1;
    let mut rx = shared.hang.subscribe();
    while matches(&shared.faults.lock().unwrap()) {
        if rx.changed().await.is_err() {
            break;
        }
    }
    shared.faults.lock().unwrap().held -= 1;
}

/// `services/NAME[:PORT]/proxy/PATH` (see `svcproxy`), authorized as the verb of its method.
fn service_proxy(ctx: &Arc<Ctx>, r: &Req, ns: &str, id: &str, path: &str) -> Reply {
    let verb = match r.method.as_str() {
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => "get",
    };
    let def = registry::find("", "v1", "services").ok_or_else(not_found_path)?;
    let mut st = ctx.shared.lock();
    if denied(&st, &r.user, verb, def, Some("proxy")) {
        return Err(forbidden(&r.user, verb, def, Some("proxy"), ns, Some(id)));
    }
    let (code, body) = crate::svcproxy::respond(&mut st, ns, id, path, &r.method)?;
    Ok(text_resp(code, body))
}

async fn route(ctx: &Arc<Ctx>, r: &Req) -> Reply {
    let segs: Vec<&str> = r
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(resp) = discovery::route(ctx, &segs, r) {
        return resp;
    }
    if let ["api", "v1", "namespaces", ns, "services", id, "proxy", rest @ ..] = segs.as_slice() {
        return service_proxy(ctx, r, ns, id, &rest.join("/"));
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(not_found_path()),
    };
    // legacy /watch/ prefix
    let (rest, watch_prefix) = match rest {
        ["watch", r @ ..] => (r, true),
        r => (r, false),
    };
    let (ns, plural, name, sub): (String, &str, Option<&str>, Option<&str>) = match rest {
        ["namespaces", n] if group.is_empty() => (String::new(), "namespaces", Some(*n), None),
        ["namespaces", n, s @ ("status" | "finalize")] if group.is_empty() => {
            (String::new(), "namespaces", Some(*n), Some(*s))
        }
        ["namespaces", n, p] => (n.to_string(), *p, None, None),
        ["namespaces", n, p, name] => (n.to_string(), *p, Some(*name), None),
        ["namespaces", n, p, name, s] => (n.to_string(), *p, Some(*name), Some(*s)),
        [p] => (String::new(), *p, None, None),
        [p, name] => (String::new(), *p, Some(*name), None),
        [p, name, s] => (String::new(), *p, Some(*name), Some(*s)),
        _ => return Err(not_found_path()),
    };
    let def = registry::find(group, version, plural).ok_or_else(not_found_path)?;
    if let Some(s) = sub {
        if !def.subresources.contains(&s) {
            return Err(not_found_path());
        }
    }
    if !def.namespaced && !ns.is_empty() {
        return Err(not_found_path());
    }
    let watch = watch_prefix || r.qb("watch");
    let verb = match (r.method.as_str(), name) {
        ("GET", None) if watch => "watch",
        ("GET", Some(_)) if watch => "watch",
        ("GET", None) => "list",
        ("GET", Some(_)) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", None) => "deletecollection",
        ("DELETE", Some(_)) => "delete",
        _ => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource".to_string(),
            ))
        }
    };
    {
        let st = ctx.shared.lock();
        if denied(&st, &r.user, verb, def, sub) {
            return Err(forbidden(&r.user, verb, def, sub, &ns, name));
        }
    }
    let ns_opt = if def.namespaced && !ns.is_empty() {
        Some(ns.as_str())
    } else {
        None
    };
    let at = |name, sub| Target {
        def,
        ns: &ns,
        name,
        sub,
    };
    match (verb, name, sub) {
        ("watch", _, _) => {
            let mut q = r.q.clone();
            if let Some(n) = name {
                q.insert("fieldSelector".into(), format!("metadata.name={n}"));
            }
            watch::watch(ctx, def, ns_opt, &q, list::wants_table(r))
        }
        ("list", None, _) => list::list(ctx, def, ns_opt, r),
        ("get", Some(n), Some("log")) => logs::logs(ctx, &ns, n, r),
        ("get", Some(n), s) => crud::get(ctx, at(n, s), r),
        ("create", Some(n), Some("eviction")) => eviction::eviction(ctx, &ns, n, r),
        ("create", None, None) if def.storage == "selfsubjectaccessreviews" => {
            authz::self_subject_access_review(ctx, r)
        }
        ("create", None, None) => crud::create(ctx, def, &ns, r),
        ("update", Some(n), s) => crud::update(ctx, at(n, s), r),
        ("patch", Some(n), s) => crud::patch(ctx, at(n, s), r),
        ("delete", Some(n), None) => crud::delete(ctx, at(n, None), r),
        ("deletecollection", None, None) => crud::delete_collection(ctx, def, ns_opt, r),
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )),
    }
}
