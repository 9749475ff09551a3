//! Reading and writing objects: get, create, update, patch, delete, deletecollection; the
//! defaults the API server fills in on create, and the events.k8s.io view of core events.
use super::*;

/// GET of one object (or its `scale`), as JSON or a Table.
pub(super) fn get(ctx: &Arc<Ctx>, t: Target, r: &Req) -> Reply {
    let Target { def, ns, name, sub } = t;
    let st = ctx.shared.lock();
    let obj = st
        .store
        .get(def.storage, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&plural_group(def), name))?;
    let obj = view(def, obj);
    if sub == Some("scale") {
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

/// POST of a new object (namespace from the path; `dryRun` returns it unsaved).
pub(super) fn create(ctx: &Arc<Ctx>, def: &'static ResDef, ns: &str, r: &Req) -> Reply {
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
    if def.storage == "namespaces" && st.store.get("namespaces", "", util::name(&obj)).is_none() {
        // fallthrough to create
    } else if def.namespaced && !ns.is_empty() && st.store.get("namespaces", "", ns).is_none() {
        return Err(ApiError::not_found("namespaces", ns));
    }
    let obj = prepare_create(def, obj);
    if r.dry_run() {
        return Ok(json_resp(201, &obj));
    }
    let created = st.store.create(def, obj, now, Some(&r.manager()), false)?;
    ctx.written(st);
    Ok(json_resp(201, &view(def, created)))
}

/// PUT of an object or its `status`/`scale` (a stale resourceVersion is 409).
pub(super) fn update(ctx: &Arc<Ctx>, t: Target, r: &Req) -> Reply {
    let Target { def, ns, name, sub } = t;
    let obj = unview(def, parse_body(&r.body)?);
    if r.dry_run() {
        return Ok(json_resp(200, &obj));
    }
    let mut st = ctx.shared.lock();
    let now = st.now();
    let updated = if sub == Some("scale") {
        let mut cur = st
            .store
            .get(def.storage, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&plural_group(def), name))?;
        cur["spec"]["replicas"] = obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1));
        let u = st
            .store
            .update(def, ns, name, cur, None, now, Some(&r.manager()), "Update")?;
        scale_of(&u)
    } else {
        view(
            def,
            st.store
                .update(def, ns, name, obj, sub, now, Some(&r.manager()), "Update")?,
        )
    };
    ctx.written(st);
    Ok(json_resp(200, &updated))
}

/// PATCH (strategic merge, JSON merge, JSON patch, apply as merge) with managedFields.
pub(super) fn patch(ctx: &Arc<Ctx>, t: Target, r: &Req) -> Reply {
    let Target { def, ns, name, sub } = t;
    let mut st = ctx.shared.lock();
    let now = st.now();
    let ct = r.content_type.clone();
    let cur = st.store.get(def.storage, ns, name).cloned();
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
            ctx.written(st);
            return Ok(json_resp(201, &view(def, c)));
        }
        return Err(ApiError::not_found(&plural_group(def), name));
    };
    let viewed = view(def, cur.clone());
    let mut target = if sub == Some("scale") {
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
    let mut newobj = if sub == Some("scale") {
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
        ns,
        name,
        newobj,
        if sub == Some("scale") { None } else { sub },
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
    set_managed_fields(&mut updated, &r.manager(), op, now, sub, fields);
    let updated = st.store.put(def.storage, updated);
    ctx.written(st);
    if sub == Some("scale") {
        return Ok(json_resp(200, &scale_of(&updated)));
    }
    Ok(json_resp(200, &view(def, updated)))
}

/// DELETE of one object: pods terminate gracefully, workloads cascade.
pub(super) fn delete(ctx: &Arc<Ctx>, t: Target, r: &Req) -> Reply {
    let Target { def, ns, name, .. } = t;
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
    if st.store.get(def.storage, ns, name).is_none() {
        return Err(ApiError::not_found(&plural_group(def), name));
    }
    if r.q.contains_key("dryRun")
        || opts
            .get("dryRun")
            .is_some_and(|d| d.as_array().is_some_and(|a| !a.is_empty()))
    {
        let o = st.store.get(def.storage, ns, name).cloned().unwrap();
        return Ok(json_resp(200, &view(def, o)));
    }
    let res = if def.storage == "pods" {
        delete_pod(&mut st.store, ns, name, grace, now)
    } else {
        cascade_delete(&mut st.store, def.storage, ns, name, now)
    };
    ctx.written(st);
    Ok(json_resp(200, &view(def, res.unwrap_or(json!({})))))
}

/// DELETE of every object matching the selectors.
pub(super) fn delete_collection(
    ctx: &Arc<Ctx>,
    def: &'static ResDef,
    ns_opt: Option<&str>,
    r: &Req,
) -> Reply {
    let ls = LabelSelector::parse(r.q.get("labelSelector").map(|s| s.as_str()).unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let fs = FieldSelector::parse(r.q.get("fieldSelector").map(|s| s.as_str()).unwrap_or(""))
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
    ctx.written(st);
    Ok(json_resp(
        200,
        &json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": {"resourceVersion": rv}, "items": items}),
    ))
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

pub(super) fn parse_body(b: &[u8]) -> Result<Value, ApiError> {
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

pub(super) fn scale_of(obj: &Value) -> Value {
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
