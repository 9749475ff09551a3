//! `pods/log`: one container instance's log (`previous`, `tailLines`, `limitBytes`,
//! `timestamps`, `sinceSeconds`/`sinceTime`, `follow`).
use super::*;

pub(super) fn logs(ctx: &Arc<Ctx>, ns: &str, name: &str, r: &Req) -> Reply {
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
