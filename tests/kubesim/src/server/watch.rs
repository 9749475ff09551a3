//! Watches: replay from a resourceVersion (410 Gone past the watch cache window), then live
//! events, bookmarks, `sendInitialEvents`, timeouts, dropped on request.
use super::*;

fn watch_line(typ: &str, obj: &Value) -> Bytes {
    let mut s = serde_json::to_vec(&json!({"type": typ, "object": obj})).unwrap();
    s.push(b'\n');
    Bytes::from(s)
}

fn gone(rv: u64) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": format!("too old resource version: {rv} (current)"), "reason": "Expired", "code": 410})
}

pub(super) fn watch(
    ctx: &Arc<Ctx>,
    def: &'static ResDef,
    ns: Option<&str>,
    q: &HashMap<String, String>,
    table: bool,
) -> Reply {
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
