//! Lists: label and field selectors, `limit`/`continue` pages, Tables for `kubectl get`.
use super::*;

pub(super) fn wants_table(r: &Req) -> bool {
    r.accept.contains("as=Table")
}

pub(super) fn selectors(
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

pub(super) fn list(
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
    // A metadata-only list copies only the metadata of each object.
    let metadata_only = crate::metadata::wants_list(&r.accept);
    let items: Vec<Value> = page
        .iter()
        .map(|o| {
            if metadata_only {
                crate::metadata::partial_item(o)
            } else {
                view(def, (*o).clone())
            }
        })
        .collect();
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if more > 0 {
        let last = page.last().unwrap();
        let tok = json!({"rv": list_rv, "ns": util::ns(last), "name": util::name(last)});
        meta["continue"] = json!(base64::engine::general_purpose::STANDARD.encode(tok.to_string()));
        meta["remainingItemCount"] = json!(more);
    }
    if metadata_only {
        drop(st);
        return Ok(json_resp(200, &crate::metadata::partial_list(items, meta)));
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
    // Encoding needs no lock: other requests and the control loop go on meanwhile.
    drop(st);
    Ok(json_resp(
        200,
        &json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": meta, "items": items}),
    ))
}
