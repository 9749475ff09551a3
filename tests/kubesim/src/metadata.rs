//! Metadata-only lists, as the API server serves them when a client asks for
//! `Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1` (kube-rs `list_metadata`,
//! kubectl's `--output-watch-events`, controllers that only need ownerReferences): the items carry only
//! `metadata`, typed `meta.k8s.io/v1` `PartialObjectMetadata`.

use serde_json::{json, Value};

/// The request asks for a PartialObjectMetadataList.
pub fn wants_list(accept: &str) -> bool {
    accept.contains("as=PartialObjectMetadataList")
}

/// One object cut down to its metadata, as a `PartialObjectMetadata` item.
pub fn partial_item(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

/// A list response of items already cut down by [`partial_item`].
pub fn partial_list(items: Vec<Value>, list_meta: Value) -> Value {
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_metadata_is_served() {
        assert!(wants_list(
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
        ));
        assert!(!wants_list("application/json"));
        let l = partial_list(
            vec![partial_item(
                &json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}),
            )],
            json!({"resourceVersion": "7"}),
        );
        assert_eq!(l["kind"], "PartialObjectMetadataList");
        assert_eq!(l["items"][0]["metadata"]["name"], "p");
        assert!(l["items"][0].get("spec").is_none());
    }
}
