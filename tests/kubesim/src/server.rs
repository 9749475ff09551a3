//! HTTPS server: routing, discovery, CRUD, watch, logs, eviction.

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
                        accept,
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

fn version_json(v: &str) -> Value {
    let core = v.trim_start_matches('v');
    let mut it = core.split(['.', '-', '+']);
    let major = it.next().unwrap_or("1").to_string();
    let minor = it.next().unwrap_or("33").to_string();
    json!({
        "major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
        "minCompatibilityMajor": major, "minCompatibilityMinor": minor,
        "gitVersion": v, "gitCommit": "6bb4e5dcd2d1e8ab5c4e3a1d6fcb49a4b4d0c4a1", "gitTreeState": "clean",
        "buildDate": "2025-06-17T18:36:28Z", "goVersion": "go1.24.4", "compiler": "gc", "platform": "linux/amd64",
    })
}

fn verbs(r: &ResDef) -> Vec<&'static str> {
    if r.plural == "selfsubjectaccessreviews" {
        return vec!["create"];
    }
    if r.plural == "controllerrevisions" || r.plural == "events" {
        return vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ];
    }
    vec![
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]
}

fn resource_list(group: &str, version: &str) -> Value {
    let mut out = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut e = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": verbs(r), "storageVersionHash": util::rand_hex(8),
        });
        if !r.short.is_empty() {
            e["shortNames"] = json!(r.short);
        }
        if matches!(
            r.plural,
            "pods"
                | "deployments"
                | "replicasets"
                | "statefulsets"
                | "daemonsets"
                | "services"
                | "jobs"
                | "cronjobs"
                | "horizontalpodautoscalers"
        ) {
            e["categories"] = json!(["all"]);
        }
        out.push(e);
        for sub in r.subresources {
            let e = match *sub {
                "status" => {
                    json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]})
                }
                "log" => {
                    json!({"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]})
                }
                "eviction" => {
                    json!({"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]})
                }
                "scale" => {
                    json!({"name": format!("{}/scale", r.plural), "singularName": "", "namespaced": true, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
                }
                _ => continue,
            };
            out.push(e);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out})
}

/// A minimal OpenAPI v3 document for a group/version: PATCH operations with their GVK and the
/// `fieldValidation` parameter (kubectl then validates server-side and builds patches from its structs).
fn openapi_gv(group: &str, version: &str) -> Value {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let base = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let p = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{base}/{}/{{name}}", r.plural)
        };
        let gvk = json!({"group": group, "version": version, "kind": r.kind});
        let params = json!([{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}, {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}}]);
        let op = |verb: &str| json!({"operationId": format!("{verb}{}", r.kind), "parameters": params, "responses": {"200": {"description": "OK"}}, "x-kubernetes-action": verb, "x-kubernetes-group-version-kind": gvk});
        paths.insert(p, json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}));
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.2"}, "paths": paths, "components": {"schemas": {}}})
}

const AGGREGATED_CT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|a| {
        a.contains("as=APIGroupDiscoveryList") && a.contains("v=v2") && !a.contains("v=v2beta1")
    })
}

/// Aggregated discovery (apidiscovery.k8s.io/v2) for `/api` (core) or `/apis`.
fn aggregated(core: bool) -> Value {
    let gvs: Vec<(&str, &str)> = if core {
        vec![("", "v1")]
    } else {
        registry::groups()
    };
    let items: Vec<Value> = gvs
        .into_iter()
        .map(|(g, v)| {
            let rl = resource_list(g, v);
            let all = rl["resources"].as_array().cloned().unwrap_or_default();
            let mut res = Vec::new();
            for e in all.iter().filter(|e| !e["name"].as_str().unwrap_or("").contains('/')) {
                let name = e["name"].as_str().unwrap_or("");
                let subs: Vec<Value> = all
                    .iter()
                    .filter_map(|x| {
                        let sub = x["name"].as_str()?.strip_prefix(&format!("{name}/"))?;
                        Some(json!({
                            "subresource": sub,
                            "responseKind": {"group": x.get("group").cloned().unwrap_or(json!(g)), "version": x.get("version").cloned().unwrap_or(json!(v)), "kind": x["kind"]},
                            "verbs": x["verbs"],
                        }))
                    })
                    .collect();
                let mut r = json!({
                    "resource": name,
                    "responseKind": {"group": g, "version": v, "kind": e["kind"]},
                    "scope": if e["namespaced"] == json!(true) { "Namespaced" } else { "Cluster" },
                    "singularResource": e["singularName"],
                    "verbs": e["verbs"],
                });
                for k in ["shortNames", "categories"] {
                    if let Some(x) = e.get(k) {
                        r[k] = x.clone();
                    }
                }
                if !subs.is_empty() {
                    r["subresources"] = json!(subs);
                }
                res.push(r);
            }
            let mut meta = json!({"creationTimestamp": null});
            if !g.is_empty() {
                meta["name"] = json!(g);
            }
            json!({"metadata": meta, "versions": [{"version": v, "resources": res, "freshness": "Current"}]})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
    .with_details(json!({}))
}

fn forbidden(
    user: &str,
    verb: &str,
    def: &ResDef,
    sub: Option<&str>,
    ns: &str,
    name: Option<&str>,
) -> ApiError {
    let res = match sub {
        Some(s) => format!("{}/{}", def.plural, s),
        None => def.plural.to_string(),
    };
    let what = match name {
        Some(n) => format!("{} \"{}\"", plural_group(def), n),
        None => plural_group(def),
    };
    let scope = if ns.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{ns}\"")
    };
    let mut d = json!({"kind": def.plural});
    if let Some(n) = name {
        d["name"] = json!(n);
    }
    if !def.group.is_empty() {
        d["group"] = json!(def.group);
    }
    ApiError::new(403, "Forbidden", format!("{what} is forbidden: User \"{user}\" cannot {verb} resource \"{res}\" in API group \"{}\" {scope}", def.group)).with_details(d)
}

fn denied(st: &State, user: &str, verb: &str, def: &ResDef, sub: Option<&str>) -> bool {
    let res = match sub {
        Some(s) => format!("{}/{}", def.plural, s),
        None => def.plural.to_string(),
    };
    st.deny
        .iter()
        .any(|(u, v, r)| u == user && (v == "*" || v == verb) && (r == "*" || *r == res))
}

async fn route(ctx: &Arc<Ctx>, r: &Req) -> Result<Response<Body>, ApiError> {
    let segs: Vec<&str> = r
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => {
            let v = ctx.shared.lock().version.clone();
            return Ok(json_resp(200, &version_json(&v)));
        }
        ["healthz"] | ["readyz"] | ["livez"] => return Ok(text_resp(200, "ok".into())),
        ["openapi", "v3"] => {
            let mut paths = serde_json::Map::new();
            let mut gvs: Vec<(String, String)> = vec![("".into(), "v1".into())];
            gvs.extend(
                registry::groups()
                    .into_iter()
                    .map(|(g, v)| (g.to_string(), v.to_string())),
            );
            for (g, v) in gvs {
                let p = if g.is_empty() {
                    format!("api/{v}")
                } else {
                    format!("apis/{g}/{v}")
                };
                paths.insert(p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=KUBESIM{}", util::fnv32a(&p))}));
            }
            return Ok(json_resp(200, &json!({"paths": paths})));
        }
        ["openapi", "v3", "api", v] => return Ok(json_resp(200, &openapi_gv("", v))),
        ["openapi", "v3", "apis", g, v] => return Ok(json_resp(200, &openapi_gv(g, v))),
        ["api"] | ["apis"] if wants_aggregated(&r.accept) => {
            let mut resp = json_resp(200, &aggregated(segs[0] == "api"));
            resp.headers_mut()
                .insert("Content-Type", AGGREGATED_CT.parse().unwrap());
            return Ok(resp);
        }
        ["api"] => {
            return Ok(json_resp(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{}", ctx.port)}]}),
            ));
        }
        ["apis"] => {
            let groups: Vec<Value> = registry::groups()
                .into_iter()
                .map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
                })
                .collect();
            return Ok(json_resp(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            ));
        }
        ["api", "v1"] => return Ok(json_resp(200, &resource_list("", "v1"))),
        ["apis", g] => {
            let Some((g, v)) = registry::groups().into_iter().find(|(x, _)| x == g) else {
                return Err(not_found_path());
            };
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            return Ok(json_resp(
                200,
                &json!({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": [gv.clone()], "preferredVersion": gv}),
            ));
        }
        ["apis", g, v] => {
            if !RESOURCES.iter().any(|r| r.group == *g && r.version == *v) {
                return Err(not_found_path());
            }
            return Ok(json_resp(200, &resource_list(g, v)));
        }
        _ => {}
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
    match (verb, name, sub) {
        ("watch", _, _) => {
            let mut q = r.q.clone();
            if let Some(n) = name {
                q.insert("fieldSelector".into(), format!("metadata.name={n}"));
            }
            watch_handler(ctx, def, ns_opt, &q, wants_table(r))
        }
        ("list", None, _) => list_handler(ctx, def, ns_opt, r),
        ("get", Some(n), Some("log")) => logs_handler(ctx, &ns, n, r),
        ("get", Some(n), s) => {
            let st = ctx.shared.lock();
            let obj = st
                .store
                .get(def.storage, &ns, n)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&plural_group(def), n))?;
            let obj = view(def, obj);
            if s == Some("scale") {
                return Ok(json_resp(200, &scale_of(&obj)));
            }
            if wants_table(r) {
                return Ok(json_resp(
                    200,
                    &table::table(
                        def,
                        &[obj],
                        st.now(),
                        &st.store.rv.to_string(),
                        None,
                        r.full_object(),
                    ),
                ));
            }
            Ok(json_resp(200, &obj))
        }
        ("create", Some(n), Some("eviction")) => eviction(ctx, &ns, n, r),
        ("create", None, None) if def.storage == "selfsubjectaccessreviews" => {
            let mut obj = if r.body.starts_with(b"k8s\0") {
                crate::pb::decode_ssar(&r.body).ok_or_else(|| {
                    ApiError::bad_request("cannot decode protobuf SelfSubjectAccessReview")
                })?
            } else {
                parse_body(&r.body)?
            };
            let ra = obj
                .pointer("/spec/resourceAttributes")
                .cloned()
                .unwrap_or(json!({}));
            let verb = util::s(&ra, "/verb");
            let res = util::s(&ra, "/resource");
            let sub = util::s(&ra, "/subresource");
            let full = if sub.is_empty() {
                res.to_string()
            } else {
                format!("{res}/{sub}")
            };
            let st = ctx.shared.lock();
            let denied = st.deny.iter().any(|(u, v, rr)| {
                *u == r.user && (v == "*" || v == verb) && (rr == "*" || *rr == full)
            });
            drop(st);
            obj["apiVersion"] = json!("authorization.k8s.io/v1");
            obj["kind"] = json!("SelfSubjectAccessReview");
            obj["metadata"] = json!({"creationTimestamp": null});
            obj["status"] = if denied {
                json!({"allowed": false})
            } else {
                json!({"allowed": true})
            };
            Ok(json_resp(201, &obj))
        }
        ("create", None, None) => {
            let mut obj = parse_body(&r.body)?;
            if def.namespaced {
                let bns = util::ns(&obj).to_string();
                if !bns.is_empty() && bns != ns {
                    return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
                }
                if !ns.is_empty() {
                    util::obj_at(&mut obj, &["metadata"]).insert("namespace".into(), json!(ns));
                }
            }
            let obj = unview(def, obj);
            let mut st = ctx.shared.lock();
            let now = st.now();
            if def.storage == "namespaces"
                && st.store.get("namespaces", "", util::name(&obj)).is_none()
            {
                // fallthrough to create
            } else if def.namespaced
                && !ns.is_empty()
                && st.store.get("namespaces", "", &ns).is_none()
            {
                return Err(ApiError::not_found("namespaces", &ns));
            }
            let obj = prepare_create(def, obj);
            if r.dry_run() {
                return Ok(json_resp(201, &obj));
            }
            let created = st.store.create(def, obj, now, Some(&r.manager()), false)?;
            drop(st);
            ctx.shared.wake.notify_one();
            Ok(json_resp(201, &view(def, created)))
        }
        ("update", Some(n), s) => {
            let obj = unview(def, parse_body(&r.body)?);
            if r.dry_run() {
                return Ok(json_resp(200, &obj));
            }
            let mut st = ctx.shared.lock();
            let now = st.now();
            let updated = if s == Some("scale") {
                let mut cur = st
                    .store
                    .get(def.storage, &ns, n)
                    .cloned()
                    .ok_or_else(|| ApiError::not_found(&plural_group(def), n))?;
                cur["spec"]["replicas"] =
                    obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1));
                let u =
                    st.store
                        .update(def, &ns, n, cur, None, now, Some(&r.manager()), "Update")?;
                scale_of(&u)
            } else {
                view(
                    def,
                    st.store
                        .update(def, &ns, n, obj, s, now, Some(&r.manager()), "Update")?,
                )
            };
            drop(st);
            ctx.shared.wake.notify_one();
            Ok(json_resp(200, &updated))
        }
        ("patch", Some(n), s) => {
            let mut st = ctx.shared.lock();
            let now = st.now();
            let ct = r.content_type.clone();
            let cur = st.store.get(def.storage, &ns, n).cloned();
            let is_apply = ct.starts_with("application/apply-patch");
            let Some(cur) = cur else {
                if is_apply {
                    let mut obj: Value = serde_yaml::from_slice(&r.body)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?;
                    if def.namespaced {
                        util::obj_at(&mut obj, &["metadata"]).insert("namespace".into(), json!(ns));
                    }
                    let obj = prepare_create(def, unview(def, obj));
                    let c = st.store.create(def, obj, now, Some(&r.manager()), false)?;
                    drop(st);
                    ctx.shared.wake.notify_one();
                    return Ok(json_resp(201, &view(def, c)));
                }
                return Err(ApiError::not_found(&plural_group(def), n));
            };
            let viewed = view(def, cur.clone());
            let mut target = if s == Some("scale") {
                scale_of(&viewed)
            } else {
                viewed
            };
            let rv_before = util::s(&target, "/metadata/resourceVersion").to_string();
            patch::apply(&mut target, &ct, &r.body).map_err(|(code, msg)| {
                let reason = match code {
                    415 => "UnsupportedMediaType",
                    422 => "Invalid",
                    _ => "BadRequest",
                };
                ApiError::new(code, reason, msg)
            })?;
            if !target.is_object() {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    "the patch did not produce an object",
                ));
            }
            let mut newobj = if s == Some("scale") {
                let mut c = cur.clone();
                c["spec"]["replicas"] = target
                    .pointer("/spec/replicas")
                    .cloned()
                    .unwrap_or(json!(1));
                c
            } else {
                unview(def, target)
            };
            // a patch without an explicit resourceVersion never conflicts
            if util::s(&newobj, "/metadata/resourceVersion") == rv_before {
                util::obj_at(&mut newobj, &["metadata"]).remove("resourceVersion");
            }
            let op = if is_apply { "Apply" } else { "Update" };
            if r.dry_run() {
                return Ok(json_resp(200, &view(def, newobj)));
            }
            let mut updated = st.store.update(
                def,
                &ns,
                n,
                newobj,
                if s == Some("scale") { None } else { s },
                now,
                None,
                op,
            )?;
            let body: Value = serde_json::from_slice(&r.body)
                .or_else(|_| serde_yaml::from_slice(&r.body))
                .unwrap_or(json!({}));
            let fields = if body.is_array() {
                json!({})
            } else {
                fields_of(&body, 6)
            };
            set_managed_fields(&mut updated, &r.manager(), op, now, s, fields);
            let updated = st.store.put(def.storage, updated);
            drop(st);
            ctx.shared.wake.notify_one();
            if s == Some("scale") {
                return Ok(json_resp(200, &scale_of(&updated)));
            }
            Ok(json_resp(200, &view(def, updated)))
        }
        ("delete", Some(n), None) => {
            let opts: Value = if r.body.is_empty() {
                json!({})
            } else {
                serde_json::from_slice(&r.body).unwrap_or(json!({}))
            };
            let grace = r
                .qi("gracePeriodSeconds")
                .or_else(|| util::i(&opts, "/gracePeriodSeconds"));
            let mut st = ctx.shared.lock();
            let now = st.now();
            if st.store.get(def.storage, &ns, n).is_none() {
                return Err(ApiError::not_found(&plural_group(def), n));
            }
            if r.q.contains_key("dryRun")
                || opts
                    .get("dryRun")
                    .is_some_and(|d| d.as_array().is_some_and(|a| !a.is_empty()))
            {
                let o = st.store.get(def.storage, &ns, n).cloned().unwrap();
                return Ok(json_resp(200, &view(def, o)));
            }
            let res = if def.storage == "pods" {
                delete_pod(&mut st.store, &ns, n, grace, now)
            } else {
                cascade_delete(&mut st.store, def.storage, &ns, n, now)
            };
            drop(st);
            ctx.shared.wake.notify_one();
            Ok(json_resp(200, &view(def, res.unwrap_or(json!({})))))
        }
        ("deletecollection", None, None) => {
            let ls =
                LabelSelector::parse(r.q.get("labelSelector").map(|s| s.as_str()).unwrap_or(""))
                    .map_err(ApiError::bad_request)?;
            let fs =
                FieldSelector::parse(r.q.get("fieldSelector").map(|s| s.as_str()).unwrap_or(""))
                    .map_err(ApiError::bad_request)?;
            let mut st = ctx.shared.lock();
            let now = st.now();
            let names: Vec<(String, String)> = st
                .store
                .iter(def.storage, ns_opt)
                .filter(|o| ls.matches_obj(o) && fs.matches(o))
                .map(|o| (util::ns(o).to_string(), util::name(o).to_string()))
                .collect();
            let mut items = vec![];
            for (n_ns, n) in names {
                if let Some(o) = cascade_delete(&mut st.store, def.storage, &n_ns, &n, now) {
                    items.push(view(def, o));
                }
            }
            let rv = st.store.rv.to_string();
            drop(st);
            ctx.shared.wake.notify_one();
            Ok(json_resp(
                200,
                &json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": {"resourceVersion": rv}, "items": items}),
            ))
        }
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )),
    }
}

pub(crate) fn prepare_create(def: &ResDef, mut obj: Value) -> Value {
    if def.storage == "pods" {
        let spec = util::obj_at(&mut obj, &["spec"]);
        let mut s = Value::Object(spec.clone());
        default_pod_spec(&mut s);
        obj["spec"] = s;
    }
    if def.storage == "deployments" {
        let spec = util::obj_at(&mut obj, &["spec"]);
        spec.entry("replicas").or_insert(json!(1));
        spec.entry("revisionHistoryLimit").or_insert(json!(10));
        spec.entry("progressDeadlineSeconds").or_insert(json!(600));
        spec.entry("strategy").or_insert(json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}));
    }
    if def.storage == "services" {
        let spec = util::obj_at(&mut obj, &["spec"]);
        spec.entry("type").or_insert(json!("ClusterIP"));
        spec.entry("sessionAffinity").or_insert(json!("None"));
        if !spec.contains_key("clusterIP") {
            let ip = format!("10.96.{}.{}", fastrand::u8(0..=254), fastrand::u8(1..=254));
            spec.insert("clusterIP".into(), json!(ip));
            spec.insert("clusterIPs".into(), json!([ip]));
        }
        if let Some(ports) = spec.get_mut("ports").and_then(|p| p.as_array_mut()) {
            for p in ports.iter_mut() {
                if let Some(p) = p.as_object_mut() {
                    p.entry("protocol").or_insert(json!("TCP"));
                    let port = p.get("port").cloned().unwrap_or(json!(80));
                    p.entry("targetPort").or_insert(port);
                }
            }
        }
    }
    if def.storage == "statefulsets" {
        let spec = util::obj_at(&mut obj, &["spec"]);
        spec.entry("replicas").or_insert(json!(1));
        spec.entry("podManagementPolicy")
            .or_insert(json!("OrderedReady"));
        spec.entry("updateStrategy")
            .or_insert(json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
        spec.entry("revisionHistoryLimit").or_insert(json!(10));
    }
    if def.storage == "daemonsets" {
        let spec = util::obj_at(&mut obj, &["spec"]);
        spec.entry("updateStrategy").or_insert(
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
        );
        spec.entry("revisionHistoryLimit").or_insert(json!(10));
    }
    obj
}

fn parse_body(b: &[u8]) -> Result<Value, ApiError> {
    if b.starts_with(b"k8s\0") {
        if let Some(v) = crate::pb::decode_simple(b) {
            return Ok(v);
        }
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "kubesim does not decode protobuf request bodies (application/vnd.kubernetes.protobuf); send JSON (e.g. kubectl apply -f / create -f)",
        ));
    }
    let v: Value = serde_json::from_slice(b)
        .or_else(|_| serde_yaml::from_slice(b))
        .map_err(|e| ApiError::bad_request(format!("error decoding body: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    Ok(v)
}

fn scale_of(obj: &Value) -> Value {
    let sel = obj
        .pointer("/spec/selector")
        .map(|s| LabelSelector::from_json(s).to_query())
        .unwrap_or_default();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": util::name(obj), "namespace": util::ns(obj), "uid": util::uid(obj), "resourceVersion": util::s(obj, "/metadata/resourceVersion"), "creationTimestamp": util::s(obj, "/metadata/creationTimestamp")},
        "spec": {"replicas": util::i(obj, "/spec/replicas").unwrap_or(1)},
        "status": {"replicas": util::i(obj, "/status/replicas").unwrap_or(0), "selector": sel},
    })
}

/// Present a stored object in the requested API (events.k8s.io view of core events).
pub fn view(def: &ResDef, obj: Value) -> Value {
    if def.group != "events.k8s.io" {
        return obj;
    }
    let mut m = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
        "eventTime": obj.get("eventTime").cloned().unwrap_or(Value::Null),
        "reason": obj.get("reason").cloned().unwrap_or(Value::Null),
        "note": obj.get("message").cloned().unwrap_or(Value::Null),
        "type": obj.get("type").cloned().unwrap_or(Value::Null),
        "regarding": obj.get("involvedObject").cloned().unwrap_or(json!({})),
        "reportingController": obj.get("reportingComponent").cloned().unwrap_or(Value::Null),
        "reportingInstance": obj.get("reportingInstance").cloned().unwrap_or(Value::Null),
        "action": obj.get("action").cloned().unwrap_or(Value::Null),
    });
    for (from, to) in [
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
        ("source", "deprecatedSource"),
        ("related", "related"),
        ("series", "series"),
    ] {
        if let Some(v) = obj.get(from) {
            if !v.is_null() {
                m[to] = v.clone();
            }
        }
    }
    m
}

/// Convert an events.k8s.io/v1 event into the stored core/v1 shape.
pub fn unview(def: &ResDef, obj: Value) -> Value {
    if def.group != "events.k8s.io" {
        return obj;
    }
    let mut m = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
        "involvedObject": obj.get("regarding").cloned().unwrap_or(json!({})),
        "reason": obj.get("reason").cloned().unwrap_or(Value::Null),
        "message": obj.get("note").cloned().unwrap_or(Value::Null),
        "type": obj.get("type").cloned().unwrap_or(Value::Null),
        "eventTime": obj.get("eventTime").cloned().unwrap_or(Value::Null),
        "reportingComponent": obj.get("reportingController").cloned().unwrap_or(Value::Null),
        "reportingInstance": obj.get("reportingInstance").cloned().unwrap_or(Value::Null),
    });
    for (to, from) in [
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
        ("source", "deprecatedSource"),
        ("series", "series"),
        ("action", "action"),
        ("related", "related"),
    ] {
        if let Some(v) = obj.get(from) {
            m[to] = v.clone();
        }
    }
    m
}

fn wants_table(r: &Req) -> bool {
    r.accept.contains("as=Table")
}

fn selectors(
    def: &ResDef,
    q: &HashMap<String, String>,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let ls = LabelSelector::parse(q.get("labelSelector").map(|s| s.as_str()).unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let fs = FieldSelector::parse(q.get("fieldSelector").map(|s| s.as_str()).unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let kind = if def.group == "events.k8s.io" {
        "Event"
    } else {
        def.kind
    };
    fs.validate(kind).map_err(|e| {
        ApiError::bad_request(format!(
            "Unable to find \"{}\" that match label selector \"\", field selector \"{}\": {e}",
            plural_group(def),
            q.get("fieldSelector").cloned().unwrap_or_default()
        ))
    })?;
    Ok((ls, fs))
}

fn list_handler(
    ctx: &Arc<Ctx>,
    def: &'static ResDef,
    ns: Option<&str>,
    r: &Req,
) -> Result<Response<Body>, ApiError> {
    let (ls, fs) = selectors(def, &r.q)?;
    let st = ctx.shared.lock();
    let limit = r.qi("limit").unwrap_or(0).max(0) as usize;
    let mut start_after: Option<(String, String)> = None;
    let mut list_rv = st.store.rv;
    if let Some(c) = r.q.get("continue").filter(|c| !c.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let Some(tok) = raw else {
            return Err(ApiError::bad_request(
                "continue key is not valid: illegal base64 data",
            ));
        };
        let rv = tok["rv"].as_u64().unwrap_or(0);
        if rv < st.store.floor {
            return Err(ApiError::new(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."));
        }
        list_rv = rv;
        start_after = Some((
            tok["ns"].as_str().unwrap_or("").to_string(),
            tok["name"].as_str().unwrap_or("").to_string(),
        ));
    }
    let all: Vec<&Value> = st
        .store
        .iter(def.storage, ns)
        .filter(|o| ls.matches_obj(o) && fs.matches(o))
        .filter(|o| match &start_after {
            Some((sn, sname)) => (util::ns(o), util::name(o)) > (sn.as_str(), sname.as_str()),
            None => true,
        })
        .collect();
    let (page, more) = if limit > 0 && all.len() > limit {
        (&all[..limit], all.len() - limit)
    } else {
        (&all[..], 0)
    };
    let items: Vec<Value> = page.iter().map(|o| view(def, (*o).clone())).collect();
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if more > 0 {
        let last = page.last().unwrap();
        let tok = json!({"rv": list_rv, "ns": util::ns(last), "name": util::name(last)});
        meta["continue"] = json!(base64::engine::general_purpose::STANDARD.encode(tok.to_string()));
        meta["remainingItemCount"] = json!(more);
    }
    if wants_table(r) {
        let mut t = table::table(
            def,
            &items,
            st.now(),
            &list_rv.to_string(),
            meta.get("continue").and_then(|c| c.as_str()),
            r.full_object(),
        );
        if more > 0 {
            t["metadata"]["remainingItemCount"] = json!(more);
        }
        return Ok(json_resp(200, &t));
    }
    Ok(json_resp(
        200,
        &json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": meta, "items": items}),
    ))
}

fn watch_line(typ: &str, obj: &Value) -> Bytes {
    let mut s = serde_json::to_vec(&json!({"type": typ, "object": obj})).unwrap();
    s.push(b'\n');
    Bytes::from(s)
}

fn gone(rv: u64) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": format!("too old resource version: {rv} (current)"), "reason": "Expired", "code": 410})
}

fn watch_handler(
    ctx: &Arc<Ctx>,
    def: &'static ResDef,
    ns: Option<&str>,
    q: &HashMap<String, String>,
    table: bool,
) -> Result<Response<Body>, ApiError> {
    let clock = ctx.shared.lock().clock.clone();
    let full = q.get("includeObject").is_some_and(|v| v == "Object");
    let render = move |o: Value| -> Value {
        let o = view(def, o);
        if table {
            let rv = util::s(&o, "/metadata/resourceVersion").to_string();
            crate::table::table(def, &[o], clock.now_ms(), &rv, None, full)
        } else {
            o
        }
    };
    let (ls, fs) = selectors(def, q)?;
    let bookmarks = matches!(
        q.get("allowWatchBookmarks").map(|s| s.as_str()),
        Some("true") | Some("1")
    );
    let send_initial = matches!(
        q.get("sendInitialEvents").map(|s| s.as_str()),
        Some("true") | Some("1")
    );
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .unwrap_or(1800);
    let rv_param = q.get("resourceVersion").cloned().unwrap_or_default();
    let ns_s = ns.map(String::from);
    let matches = {
        let ns_s = ns_s.clone();
        move |o: &Value| -> bool {
            ns_s.as_deref().is_none_or(|n| util::ns(o) == n) && ls.matches_obj(o) && fs.matches(o)
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    let mut initial: Vec<Bytes> = Vec::new();
    let (mut brx, cur_rv) = {
        let st = ctx.shared.lock();
        let brx = st.store.tx.subscribe();
        let cur = st.store.rv;
        if rv_param.is_empty() || rv_param == "0" || send_initial {
            for o in st.store.iter(def.storage, ns) {
                if matches(o) {
                    initial.push(watch_line("ADDED", &render(o.clone())));
                }
            }
            if send_initial {
                let bm = json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": {"resourceVersion": cur.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
                initial.push(watch_line("BOOKMARK", &bm));
            }
        } else {
            let rv: u64 = rv_param.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version \"{rv_param}\""))
            })?;
            if rv < st.store.watch_floor(def.storage) {
                initial.push(watch_line("ERROR", &gone(rv)));
                drop(st);
                let _ = tx.try_send(initial.remove(0));
                drop(tx);
                return Ok(stream_resp("application/json", rx));
            }
            for e in st
                .store
                .history
                .iter()
                .filter(|e| e.rv > rv && e.storage == def.storage)
            {
                if let Some((t, o)) = filter_event(e, &matches) {
                    initial.push(watch_line(t, &render(o)));
                }
            }
        }
        (brx, cur)
    };
    let mut drop_rx = ctx.shared.drop_watches.subscribe();
    drop_rx.mark_unchanged();
    let shared = ctx.shared.clone();
    tokio::spawn(async move {
        for b in initial {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let mut last_rv = cur_rv;
        let mut bm = tokio::time::interval(Duration::from_millis(1000));
        bm.tick().await;
        loop {
            tokio::select! {
                ev = brx.recv() => match ev {
                    Ok(e) => {
                        last_rv = e.rv;
                        if e.storage != def.storage { continue; }
                        if let Some((t, o)) = filter_event(&e, &matches) {
                            shared.unhung().await;
                            if tx.send(watch_line(t, &render(o))).await.is_err() { return; }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(watch_line("ERROR", &gone(last_rv))).await;
                        return;
                    }
                    Err(_) => return,
                },
                _ = bm.tick(), if bookmarks && !*shared.hang.borrow() => {
                    let b = json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": {"resourceVersion": last_rv.to_string()}});
                    if tx.send(watch_line("BOOKMARK", &b)).await.is_err() { return; }
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = drop_rx.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    Ok(stream_resp("application/json", rx))
}

fn filter_event(
    e: &WatchEvent,
    matches: &impl Fn(&Value) -> bool,
) -> Option<(&'static str, Value)> {
    let now_m = matches(&e.obj);
    match e.typ {
        "MODIFIED" => {
            let old_m = e.old.as_ref().map(matches).unwrap_or(true);
            match (old_m, now_m) {
                (true, true) => Some(("MODIFIED", e.obj.clone())),
                (false, true) => Some(("ADDED", e.obj.clone())),
                (true, false) => Some(("DELETED", e.obj.clone())),
                _ => None,
            }
        }
        t => now_m.then(|| (t, e.obj.clone())),
    }
}

fn logs_handler(ctx: &Arc<Ctx>, ns: &str, name: &str, r: &Req) -> Result<Response<Body>, ApiError> {
    let st = ctx.shared.lock();
    let pod = st
        .store
        .get("pods", ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found("pods", name))?;
    let names: Vec<String> = pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .map(|a| a.iter().map(|c| util::s(c, "/name").to_string()).collect())
        .unwrap_or_default();
    let inits: Vec<String> = pod
        .pointer("/spec/initContainers")
        .and_then(|c| c.as_array())
        .map(|a| a.iter().map(|c| util::s(c, "/name").to_string()).collect())
        .unwrap_or_default();
    let container = match r.q.get("container").filter(|c| !c.is_empty()) {
        Some(c) => c.clone(),
        None if names.len() == 1 => names[0].clone(),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            );
            if !inits.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    inits.join(" ")
                ));
            }
            return Err(ApiError::bad_request(msg));
        }
    };
    if !names.contains(&container) && !inits.contains(&container) {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    let previous = r.qb("previous");
    let now = st.now();
    let since_cutoff = r
        .qi("sinceSeconds")
        .map(|sec| now - sec * 1000)
        .or_else(|| r.q.get("sinceTime").and_then(|t| util::parse_ts(t)));
    let (text, start, running) = kubelet::logs_of(&st.kubelet, &pod, &container, previous)
        .map_err(|(c, m)| ApiError::new(c, "BadRequest", m))?;
    drop(st);
    let ts = r.qb("timestamps");
    let tail = r.qi("tailLines");
    let limit = r.qi("limitBytes");
    let render = |text: &str| -> String {
        let lines: Vec<&str> = if text.is_empty() {
            vec![]
        } else {
            text.trim_end_matches('\n').split('\n').collect()
        };
        let skip = match tail {
            Some(t) if (t as usize) < lines.len() => lines.len() - t.max(0) as usize,
            _ => 0,
        };
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate().skip(skip) {
            if since_cutoff.is_some_and(|c| start + (i as i64) < c) {
                continue;
            }
            if ts {
                out.push_str(&util::fmt_ts_nano(start + i as i64));
                out.push(' ');
            }
            out.push_str(l);
            out.push('\n');
        }
        if let Some(lb) = limit {
            if (lb as usize) < out.len() {
                out.truncate(lb.max(0) as usize);
            }
        }
        out
    };
    let out = render(&text);
    if !(r.qb("follow") && running) {
        return Ok(text_resp(200, out));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let shared = ctx.shared.clone();
    let (ns, name, uid) = (
        ns.to_string(),
        name.to_string(),
        util::uid(&pod).to_string(),
    );
    let mut drop_rx = ctx.shared.drop_watches.subscribe();
    drop_rx.mark_unchanged();
    tokio::spawn(async move {
        if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = drop_rx.changed() => return,
                _ = tx.closed() => return,
            }
            let st = shared.lock();
            let Some(p) = st.store.get("pods", &ns, &name) else {
                return;
            };
            if util::uid(p) != uid {
                return;
            }
            match kubelet::logs_of(&st.kubelet, p, &container, false) {
                Ok((_, s, true)) if s == start => {}
                _ => return,
            }
        }
    });
    Ok(stream_resp("text/plain", rx))
}

fn eviction(ctx: &Arc<Ctx>, ns: &str, name: &str, r: &Req) -> Result<Response<Body>, ApiError> {
    let body: Value = if r.body.is_empty() {
        json!({})
    } else {
        parse_body(&r.body)?
    };
    let grace = util::i(&body, "/deleteOptions/gracePeriodSeconds");
    let mut st = ctx.shared.lock();
    let now = st.now();
    let res = crate::eviction::evict(&mut st.store, ns, name, grace, now);
    drop(st);
    ctx.shared.wake.notify_one();
    res?;
    let ok = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    Ok(json_resp(201, &ok))
}
