//! Discovery: `/version`, `/api`, `/apis`, group versions (legacy and aggregated
//! `apidiscovery.k8s.io/v2`), a minimal `/openapi/v3`, health checks.
use super::*;

pub(super) fn version_json(v: &str) -> Value {
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

pub(super) fn resource_list(group: &str, version: &str) -> Value {
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
                "proxy" => {
                    json!({"name": format!("{}/proxy", r.plural), "singularName": "", "namespaced": true, "kind": "ServiceProxyOptions", "verbs": ["create", "delete", "get", "patch", "update"]})
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
pub(super) fn openapi_gv(group: &str, version: &str) -> Value {
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

pub(super) const AGGREGATED_CT: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub(super) fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|a| {
        a.contains("as=APIGroupDiscoveryList") && a.contains("v=v2") && !a.contains("v=v2beta1")
    })
}

/// Aggregated discovery (apidiscovery.k8s.io/v2) for `/api` (core) or `/apis`.
pub(super) fn aggregated(core: bool) -> Value {
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

/// The non-resource paths; `None` for a resource path.
pub(super) fn route(ctx: &Arc<Ctx>, segs: &[&str], r: &Req) -> Option<Reply> {
    let ok = |v: &Value| Some(Ok(json_resp(200, v)));
    match segs {
        ["version"] => {
            let v = ctx.shared.lock().version.clone();
            ok(&version_json(&v))
        }
        ["healthz"] | ["readyz"] | ["livez"] => Some(Ok(text_resp(200, "ok".into()))),
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
            ok(&json!({"paths": paths}))
        }
        ["openapi", "v3", "api", v] => ok(&openapi_gv("", v)),
        ["openapi", "v3", "apis", g, v] => ok(&openapi_gv(g, v)),
        ["api"] | ["apis"] if wants_aggregated(&r.accept) => {
            let mut resp = json_resp(200, &aggregated(segs[0] == "api"));
            resp.headers_mut()
                .insert("Content-Type", AGGREGATED_CT.parse().unwrap());
            Some(Ok(resp))
        }
        ["api"] => ok(
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{}", ctx.port)}]}),
        ),
        ["apis"] => {
            let groups: Vec<Value> = registry::groups()
                .into_iter()
                .map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
                })
                .collect();
            ok(&json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        }
        ["api", "v1"] => ok(&resource_list("", "v1")),
        ["apis", g] => {
            let Some((g, v)) = registry::groups().into_iter().find(|(x, _)| x == g) else {
                return Some(Err(not_found_path()));
            };
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            ok(
                &json!({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": [gv.clone()], "preferredVersion": gv}),
            )
        }
        ["apis", g, v] => {
            if !RESOURCES.iter().any(|r| r.group == *g && r.version == *v) {
                return Some(Err(not_found_path()));
            }
            ok(&resource_list(g, v))
        }
        _ => None,
    }
}
