//! `pods/eviction`: the HTTP side of [`crate::eviction`].
use super::*;

pub(super) fn eviction(ctx: &Arc<Ctx>, ns: &str, name: &str, r: &Req) -> Reply {
    let body: Value = if r.body.is_empty() {
        json!({})
    } else {
        parse_body(&r.body)?
    };
    let grace = util::i(&body, "/deleteOptions/gracePeriodSeconds");
    let mut st = ctx.shared.lock();
    let now = st.now();
    let res = crate::eviction::evict(&mut st.store, ns, name, grace, now);
    ctx.written(st);
    res?;
    let ok = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    Ok(json_resp(201, &ok))
}
