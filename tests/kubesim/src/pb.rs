//! Just enough protobuf to read the `SelfSubjectAccessReview` kubectl sends (its typed clients use
//! protobuf). Other protobuf bodies are refused with 415.

use serde_json::{json, Value};

enum F<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let x = *b.get(*i)?;
        *i += 1;
        v |= ((x & 0x7f) as u64) << shift;
        if x & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn fields(b: &[u8]) -> Option<Vec<(u64, F<'_>)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        let (no, wt) = (key >> 3, key & 7);
        match wt {
            0 => {
                let v = varint(b, &mut i)?;
                out.push((no, F::Varint(v)));
            }
            2 => {
                let len = varint(b, &mut i)? as usize;
                let s = b.get(i..i + len)?;
                i += len;
                out.push((no, F::Bytes(s)));
            }
            1 => i += 8,
            5 => i += 4,
            _ => return None,
        }
    }
    Some(out)
}

fn get<'a>(fs: &'a [(u64, F<'a>)], no: u64) -> Option<&'a [u8]> {
    fs.iter().find_map(|(n, f)| match f {
        F::Bytes(b) if *n == no => Some(*b),
        _ => None,
    })
}

fn int(fs: &[(u64, F<'_>)], no: u64) -> Option<i64> {
    fs.iter().find_map(|(n, f)| match f {
        F::Varint(v) if *n == no => Some(*v as i64),
        _ => None,
    })
}

fn all<'a>(fs: &'a [(u64, F<'a>)], no: u64) -> Vec<&'a [u8]> {
    fs.iter()
        .filter_map(|(n, f)| match f {
            F::Bytes(b) if *n == no => Some(*b),
            _ => None,
        })
        .collect()
}

fn strings(fs: &[(u64, F<'_>)], no: u64) -> Vec<Value> {
    all(fs, no)
        .into_iter()
        .map(|b| Value::String(String::from_utf8_lossy(b).to_string()))
        .collect()
}

fn container(b: &[u8]) -> Option<Value> {
    let c = fields(b)?;
    let mut o = json!({"name": string(&c, 1), "image": string(&c, 2), "resources": {}});
    let cmd = strings(&c, 3);
    if !cmd.is_empty() {
        o["command"] = Value::Array(cmd);
    }
    let args = strings(&c, 4);
    if !args.is_empty() {
        o["args"] = Value::Array(args);
    }
    let mut ports = vec![];
    for p in all(&c, 6) {
        let p = fields(p)?;
        let mut x = json!({"containerPort": int(&p, 3).unwrap_or(0)});
        let proto = string(&p, 4);
        x["protocol"] = Value::String(if proto.is_empty() {
            "TCP".into()
        } else {
            proto
        });
        if !string(&p, 1).is_empty() {
            x["name"] = Value::String(string(&p, 1));
        }
        ports.push(x);
    }
    if !ports.is_empty() {
        o["ports"] = Value::Array(ports);
    }
    let mut env = vec![];
    for e in all(&c, 7) {
        let e = fields(e)?;
        env.push(json!({"name": string(&e, 1), "value": string(&e, 2)}));
    }
    if !env.is_empty() {
        o["env"] = Value::Array(env);
    }
    let ipp = string(&c, 14);
    if !ipp.is_empty() {
        o["imagePullPolicy"] = Value::String(ipp);
    }
    Some(o)
}

fn pod_spec(b: &[u8]) -> Option<Value> {
    let ps = fields(b)?;
    let mut o =
        json!({"containers": all(&ps, 2).into_iter().filter_map(container).collect::<Vec<_>>()});
    let inits: Vec<Value> = all(&ps, 20).into_iter().filter_map(container).collect();
    if !inits.is_empty() {
        o["initContainers"] = Value::Array(inits);
    }
    for (no, k) in [
        (3, "restartPolicy"),
        (6, "dnsPolicy"),
        (8, "serviceAccountName"),
        (10, "nodeName"),
    ] {
        let v = string(&ps, no);
        if !v.is_empty() {
            o[k] = Value::String(v);
        }
    }
    if let Some(t) = int(&ps, 4) {
        o["terminationGracePeriodSeconds"] = json!(t);
    }
    if let Some(sel) = string_map(&ps, 7) {
        o["nodeSelector"] = sel;
    }
    Some(o)
}

fn template(b: &[u8]) -> Option<Value> {
    let t = fields(b)?;
    let mut o = json!({});
    if let Some(m) = get(&t, 1) {
        o["metadata"] = object_meta(&fields(m)?);
    }
    if let Some(sp) = get(&t, 2) {
        o["spec"] = pod_spec(sp)?;
    }
    Some(o)
}

fn label_selector(b: &[u8]) -> Option<Value> {
    let l = fields(b)?;
    Some(json!({"matchLabels": string_map(&l, 1).unwrap_or(json!({}))}))
}

fn string(fs: &[(u64, F<'_>)], no: u64) -> String {
    get(fs, no)
        .map(|b| String::from_utf8_lossy(b).to_string())
        .unwrap_or_default()
}

/// Decode a `k8s\0` protobuf envelope holding a SelfSubjectAccessReview into JSON.
pub fn decode_ssar(body: &[u8]) -> Option<Value> {
    let inner = body.strip_prefix(b"k8s\0")?;
    let env = fields(inner)?;
    let raw = get(&env, 2)?;
    let ssar = fields(raw)?;
    let spec = fields(get(&ssar, 2)?)?;
    let mut out = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}});
    if let Some(ra) = get(&spec, 1) {
        let ra = fields(ra)?;
        out["spec"]["resourceAttributes"] = json!({
            "namespace": string(&ra, 1), "verb": string(&ra, 2), "group": string(&ra, 3), "version": string(&ra, 4),
            "resource": string(&ra, 5), "subresource": string(&ra, 6), "name": string(&ra, 7),
        });
    }
    if let Some(nr) = get(&spec, 2) {
        let nr = fields(nr)?;
        out["spec"]["nonResourceAttributes"] =
            json!({"path": string(&nr, 1), "verb": string(&nr, 2)});
    }
    Some(out)
}

fn entries(fs: &[(u64, F<'_>)], no: u64) -> Vec<(String, Vec<u8>)> {
    fs.iter()
        .filter_map(|(n, f)| match f {
            F::Bytes(b) if *n == no => {
                let e = fields(b)?;
                Some((
                    string(&e, 1),
                    get(&e, 2).map(|v| v.to_vec()).unwrap_or_default(),
                ))
            }
            _ => None,
        })
        .collect()
}

fn string_map(fs: &[(u64, F<'_>)], no: u64) -> Option<Value> {
    let e = entries(fs, no);
    if e.is_empty() {
        return None;
    }
    Some(Value::Object(
        e.into_iter()
            .map(|(k, v)| (k, Value::String(String::from_utf8_lossy(&v).to_string())))
            .collect(),
    ))
}

fn bytes_map(fs: &[(u64, F<'_>)], no: u64) -> Option<Value> {
    use base64::Engine;
    let e = entries(fs, no);
    if e.is_empty() {
        return None;
    }
    Some(Value::Object(
        e.into_iter()
            .map(|(k, v)| {
                (
                    k,
                    Value::String(base64::engine::general_purpose::STANDARD.encode(v)),
                )
            })
            .collect(),
    ))
}

fn object_meta(fs: &[(u64, F<'_>)]) -> Value {
    let mut m = serde_json::Map::new();
    for (no, k) in [(1, "name"), (2, "generateName"), (3, "namespace")] {
        let v = string(fs, no);
        if !v.is_empty() {
            m.insert(k.into(), Value::String(v));
        }
    }
    if let Some(l) = string_map(fs, 11) {
        m.insert("labels".into(), l);
    }
    if let Some(a) = string_map(fs, 12) {
        m.insert("annotations".into(), a);
    }
    Value::Object(m)
}

/// Decode the protobuf bodies of `kubectl create namespace|configmap|secret|serviceaccount|deployment` and
/// `kubectl run` (Pod) into JSON (the fields those generators set).
pub fn decode_simple(body: &[u8]) -> Option<Value> {
    let inner = body.strip_prefix(b"k8s\0")?;
    let env = fields(inner)?;
    let tm = fields(get(&env, 1)?)?;
    let (api_version, kind) = (string(&tm, 1), string(&tm, 2));
    let obj = fields(get(&env, 2)?)?;
    let mut out = json!({"apiVersion": api_version, "kind": kind});
    if let Some(m) = get(&obj, 1) {
        out["metadata"] = object_meta(&fields(m)?);
    }
    match kind.as_str() {
        "Namespace" | "ServiceAccount" => {}
        "Pod" => {
            out["spec"] = pod_spec(get(&obj, 2)?)?;
        }
        "Deployment" => {
            let sp = fields(get(&obj, 2)?)?;
            let mut spec = json!({});
            if let Some(r) = int(&sp, 1) {
                spec["replicas"] = json!(r);
            }
            if let Some(sel) = get(&sp, 2) {
                spec["selector"] = label_selector(sel)?;
            }
            if let Some(t) = get(&sp, 3) {
                spec["template"] = template(t)?;
            }
            out["spec"] = spec;
        }
        "ConfigMap" => {
            if let Some(d) = string_map(&obj, 2) {
                out["data"] = d;
            }
            if let Some(d) = bytes_map(&obj, 3) {
                out["binaryData"] = d;
            }
        }
        "Secret" => {
            if let Some(d) = bytes_map(&obj, 2) {
                out["data"] = d;
            }
            let t = string(&obj, 3);
            out["type"] = Value::String(if t.is_empty() { "Opaque".into() } else { t });
            if let Some(d) = string_map(&obj, 4) {
                out["stringData"] = d;
            }
        }
        _ => return None,
    }
    Some(out)
}
