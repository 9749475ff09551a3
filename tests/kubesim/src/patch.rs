//! Patch types: strategic merge (a reasonable subset), JSON merge (RFC 7386), JSON patch (RFC 6902).

use serde_json::{Map, Value};

fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "hostAliases" => {
            if field == "hostAliases" {
                "ip"
            } else {
                "name"
            }
        }
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// RFC 7386 merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let t = target.as_object_mut().unwrap();
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    } else {
        *target = patch.clone();
    }
}

/// Strategic merge patch.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    smp_value(target, patch, "");
}

fn smp_value(target: &mut Value, patch: &Value, field: &str) {
    match patch {
        Value::Object(p) => {
            if p.get("$patch").and_then(|x| x.as_str()) == Some("replace") {
                let mut p = p.clone();
                p.remove("$patch");
                *target = Value::Object(p);
                return;
            }
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if k.starts_with("$setElementOrder/")
                    || k.starts_with("$retainKeys")
                    || k == "$patch"
                {
                    continue;
                }
                if let Some(f) = k.strip_prefix("$deleteFromPrimitiveList/") {
                    if let (Some(Value::Array(a)), Some(del)) = (t.get_mut(f), v.as_array()) {
                        a.retain(|x| !del.contains(x));
                    }
                    continue;
                }
                if v.is_null() {
                    t.remove(k);
                } else {
                    smp_value(t.entry(k.clone()).or_insert(Value::Null), v, k);
                }
            }
        }
        Value::Array(pa) => {
            let Some(mk) = merge_key(field) else {
                *target = patch.clone();
                return;
            };
            if !target.is_array() {
                *target = Value::Array(vec![]);
            }
            let t = target.as_array_mut().unwrap();
            for item in pa {
                let key = item.get(mk).cloned();
                let del = item.get("$patch").and_then(|x| x.as_str()) == Some("delete");
                match key {
                    Some(kv) => {
                        let pos = t.iter().position(|x| x.get(mk) == Some(&kv));
                        if del {
                            if let Some(p) = pos {
                                t.remove(p);
                            }
                        } else if let Some(p) = pos {
                            smp_value(&mut t[p], item, "");
                        } else {
                            let mut n = Value::Null;
                            smp_value(&mut n, item, "");
                            t.push(n);
                        }
                    }
                    None => {
                        if !del {
                            t.push(item.clone());
                        }
                    }
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    let p: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| e.to_string())?;
    json_patch::patch(target, &p).map_err(|e| e.to_string())
}

/// Apply a patch by content type. Returns an error message for 4xx.
pub fn apply(target: &mut Value, content_type: &str, body: &[u8]) -> Result<(), (u16, String)> {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let parse_json = || -> Result<Value, (u16, String)> {
        serde_json::from_slice(body).map_err(|e| (400, format!("error decoding patch: {e}")))
    };
    match ct {
        "application/strategic-merge-patch+json" => {
            strategic_merge(target, &parse_json()?);
            Ok(())
        }
        "application/merge-patch+json" => {
            merge_patch(target, &parse_json()?);
            Ok(())
        }
        "application/json-patch+json" => json_patch(target, &parse_json()?).map_err(|e| (422, e)),
        "application/apply-patch+yaml" | "application/apply-patch+json" => {
            let v: Value = serde_yaml::from_slice(body).map_err(|e| (400, format!("error decoding YAML: {e}")))?;
            strategic_merge(target, &v);
            Ok(())
        }
        _ => Err((415, format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got {ct}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn smp_containers_by_name() {
        let mut d = json!({"spec": {"template": {"metadata": {"annotations": {"a": "1"}}, "spec": {"containers": [{"name": "app", "image": "x:1"}, {"name": "side", "image": "s:1"}]}}}});
        let p = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}, "spec": {"containers": [{"name": "side", "image": "s:2"}]}}}});
        strategic_merge(&mut d, &p);
        assert_eq!(
            d["spec"]["template"]["metadata"]["annotations"]["a"],
            json!("1")
        );
        assert_eq!(
            d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            json!("now")
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            json!("x:1")
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][1]["image"],
            json!("s:2")
        );
        strategic_merge(
            &mut d,
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}}),
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
    #[test]
    fn merge_and_json_patch() {
        let mut d = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge_patch(&mut d, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(d, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
        json_patch(&mut d, &json!([{"op": "replace", "path": "/a/c", "value": 5}, {"op": "add", "path": "/l/-", "value": 4}])).unwrap();
        assert_eq!(d, json!({"a": {"c": 5, "d": 3}, "l": [3, 4]}));
        assert!(json_patch(&mut d, &json!([{"op": "test", "path": "/a/c", "value": 6}])).is_err());
    }
}
