//! Authorization: 404 for unknown paths, 403 with the RBAC message for denied verbs, and
//! SelfSubjectAccessReviews.
use super::*;

pub(super) fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
    .with_details(json!({}))
}

pub(super) fn forbidden(
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

pub(super) fn denied(st: &State, user: &str, verb: &str, def: &ResDef, sub: Option<&str>) -> bool {
    let res = match sub {
        Some(s) => format!("{}/{}", def.plural, s),
        None => def.plural.to_string(),
    };
    st.deny
        .iter()
        .any(|(u, v, r)| u == user && (v == "*" || v == verb) && (r == "*" || *r == res))
}

/// `kubectl auth can-i`: a SelfSubjectAccessReview answered from the `deny` rules.
pub(super) fn self_subject_access_review(ctx: &Arc<Ctx>, r: &Req) -> Reply {
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
    let denied = st
        .deny
        .iter()
        .any(|(u, v, rr)| *u == r.user && (v == "*" || v == verb) && (rr == "*" || *rr == full));
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
