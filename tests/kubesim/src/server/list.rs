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
    let unfiltered = ls.0.is_empty() && fs.0.is_empty();
    let limit = r.qi("limit").unwrap_or(0).max(0) as usize;
    let st = ctx.shared.lock();
    let (list_rv, after) = match r.q.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => continue_from(token, st.store.floor)?,
        None => (st.store.rv, None),
    };
    let after = after.as_ref().map(|(n, name)| (n.as_str(), name.as_str()));
    // Every page reads the store as it was at the list's first page (an etcd read at a revision).
    let objects = st.store.iter_at(def.storage, ns, after, list_rv);
    let page = page(
        objects,
        limit,
        |o| ls.matches_obj(o) && fs.matches(o),
        unfiltered,
    );
    // A metadata-only list copies only the metadata of each object.
    let metadata_only = crate::metadata::wants_list(&r.accept);
    let items: Vec<Value> = page
        .items
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
    if let (true, Some(last)) = (page.more, page.items.last()) {
        let tok = json!({"rv": list_rv, "ns": util::ns(last), "name": util::name(last)});
        meta["continue"] = json!(base64::engine::general_purpose::STANDARD.encode(tok.to_string()));
        if let Some(n) = page.remaining {
            meta["remainingItemCount"] = json!(n);
        }
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
        if let Some(n) = meta.get("remainingItemCount") {
            t["metadata"]["remainingItemCount"] = n.clone();
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

/// The resourceVersion and the last (namespace, name) of the list a continue token belongs to; 410
/// Expired once history before that resourceVersion is gone (etcd compacted it).
fn continue_from(token: &str, floor: u64) -> Result<(u64, Option<(String, String)>), ApiError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let Some(tok) = raw else {
        return Err(ApiError::bad_request(
            "continue key is not valid: illegal base64 data",
        ));
    };
    let rv = tok["rv"].as_u64().unwrap_or(0);
    if rv < floor {
        return Err(ApiError::new(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."));
    }
    let after = (
        tok["ns"].as_str().unwrap_or("").to_string(),
        tok["name"].as_str().unwrap_or("").to_string(),
    );
    Ok((rv, Some(after)))
}

/// One page of a list, chosen as etcd3's `store.GetList` does.
struct Page<'a> {
    items: Vec<&'a Value>,
    /// Keys are left after the last item (a continue token is due), matching or not.
    more: bool,
    /// How many keys are left (`remainingItemCount`): only when nothing is filtered, as a count
    /// with a selector would include objects that do not match.
    remaining: Option<usize>,
}

/// Up to `limit` (0: no limit) objects that match, from `objects` in key order. It reads only as far
/// as the page goes, so a page costs what its items cost; counting the keys after it, when
/// `unfiltered`, only steps over them.
fn page<'a>(
    mut objects: impl Iterator<Item = &'a Value>,
    limit: usize,
    matches: impl Fn(&Value) -> bool,
    unfiltered: bool,
) -> Page<'a> {
    let mut items = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    for o in objects.by_ref() {
        if limit > 0 && items.len() >= limit {
            more = true;
            break;
        }
        if matches(o) {
            items.push(o);
        }
    }
    // The key that ended the page is one of those left.
    let remaining = (more && unfiltered).then(|| 1 + objects.count());
    Page {
        items,
        more,
        remaining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(names: &[&str]) -> Vec<Value> {
        names
            .iter()
            .map(|n| json!({"metadata": {"name": n, "labels": {"odd": (n.len() % 2 == 1).to_string()}}}))
            .collect()
    }

    fn names(p: &Page) -> Vec<String> {
        p.items.iter().map(|o| util::name(o).to_string()).collect()
    }

    #[test]
    fn a_full_page_with_keys_after_it_continues_and_counts_them() {
        let objs = named(&["a", "b", "c", "d", "e"]);
        let p = page(objs.iter(), 2, |_| true, true);
        assert_eq!(names(&p), ["a", "b"]);
        assert!(p.more);
        assert_eq!(p.remaining, Some(3));
        // Exactly a page left: no continue token.
        let p = page(objs[3..].iter(), 2, |_| true, true);
        assert_eq!(names(&p), ["d", "e"]);
        assert!(!p.more);
        assert_eq!(p.remaining, None);
        // No limit: everything.
        let p = page(objs.iter(), 0, |_| true, true);
        assert_eq!(p.items.len(), 5);
        assert!(!p.more);
    }

    #[test]
    fn with_a_selector_a_page_skips_what_does_not_match_and_counts_nothing() {
        let objs = named(&["a", "bb", "c", "dd", "e", "ff"]);
        let odd = |o: &Value| o["metadata"]["labels"]["odd"] == "true";
        let p = page(objs.iter(), 2, odd, false);
        assert_eq!(names(&p), ["a", "c"]);
        assert!(p.more, "keys are left after c");
        assert_eq!(
            p.remaining, None,
            "etcd3 leaves remainingItemCount out when a selector filters"
        );
        // The rest holds one match and a key after it: a full page is not reached, so no continue.
        let p = page(objs[3..].iter(), 2, odd, false);
        assert_eq!(names(&p), ["e"]);
        assert!(!p.more);
    }

    #[test]
    fn a_page_reads_no_further_than_the_key_after_it() {
        let objs = named(&["a", "b", "c", "d"]);
        let seen = std::cell::Cell::new(0);
        let counted = objs.iter().inspect(|_| seen.set(seen.get() + 1));
        let p = page(counted, 2, |_| true, false);
        assert_eq!(names(&p), ["a", "b"]);
        assert_eq!(
            seen.get(),
            3,
            "two items and the key that shows there are more"
        );
    }

    #[test]
    fn an_old_or_broken_continue_token_is_refused_as_upstream_does() {
        let tok = |rv: u64| {
            base64::engine::general_purpose::STANDARD
                .encode(json!({"rv": rv, "ns": "a", "name": "b"}).to_string())
        };
        let (rv, after) = continue_from(&tok(7), 5).unwrap();
        assert_eq!(rv, 7);
        assert_eq!(after, Some(("a".to_string(), "b".to_string())));
        let e = continue_from(&tok(4), 5).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
        let e = continue_from("%%%", 5).unwrap_err();
        assert_eq!(e.code, 400);
    }
}
