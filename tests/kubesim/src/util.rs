//! Small helpers: sim clock, time formatting, durations, names, hashing, JSON access.

use serde_json::{Map, Value};
use std::time::Instant;

/// How far in the past the sim clock starts (15 minutes).
pub const START_OFFSET_MS: i64 = 15 * 60 * 1000;

/// Simulated clock: `sim = start + real_elapsed * scale`, in milliseconds since the Unix epoch.
#[derive(Clone, Debug)]
pub struct Clock {
    pub start_ms: i64,
    pub real_start: Instant,
    pub scale: f64,
}

impl Clock {
    pub fn new(scale: f64) -> Clock {
        Clock {
            // start a little in the past so that sim timestamps stay behind the real clock for a
            // while (kubectl computes some ages client-side with the real clock)
            start_ms: jiff::Timestamp::now().as_millisecond() - START_OFFSET_MS,
            real_start: Instant::now(),
            scale,
        }
    }
    /// Sim time now, ms since epoch.
    pub fn now_ms(&self) -> i64 {
        let el = self.real_start.elapsed().as_secs_f64() * 1000.0 * self.scale;
        self.start_ms + el as i64
    }
    /// Change the scale from now on (the clock stays continuous).
    pub fn set_scale(&mut self, scale: f64) {
        self.start_ms = self.now_ms();
        self.real_start = Instant::now();
        self.scale = scale;
    }
    /// Jump forward by `ms` of sim time.
    pub fn advance(&mut self, ms: i64) {
        self.start_ms += ms.max(0);
    }
    /// Real duration for a sim duration in ms.
    pub fn real_for(&self, sim_ms: i64) -> std::time::Duration {
        std::time::Duration::from_secs_f64((sim_ms.max(0) as f64 / 1000.0) / self.scale)
    }
}

/// RFC3339, seconds precision, UTC.
pub fn fmt_ts(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms.div_euclid(1000) * 1000)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC3339 with nanoseconds (log timestamps, managedFields use seconds).
pub fn fmt_ts_nano(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%dT%H:%M:%S.%f000000Z").to_string()
}

pub fn parse_ts(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// Parse `2s`, `500ms`, `1m`, `1m30s`, `1h`, plain number = seconds. Returns ms.
pub fn parse_duration_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| (f * 1000.0) as i64),
        Value::String(s) => parse_duration_str(s),
        _ => None,
    }
}

pub fn parse_duration_str(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(f) = s.parse::<f64>() {
        return Some((f * 1000.0) as i64);
    }
    let mut total = 0f64;
    let mut num = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut any = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            i += 1;
            continue;
        }
        let mut unit = String::new();
        while i < chars.len() && chars[i].is_ascii_alphabetic() {
            unit.push(chars[i]);
            i += 1;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        let mult = match unit.as_str() {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return None,
        };
        total += n * mult;
        any = true;
    }
    if !num.is_empty() {
        return None;
    }
    if any {
        Some(total as i64)
    } else {
        None
    }
}

/// kubectl's HumanDuration.
pub fn human_duration(ms: i64) -> String {
    let seconds = ms / 1000;
    if seconds < -1 {
        return "<invalid>".into();
    } else if seconds < 0 {
        return "0s".into();
    } else if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{}h", hours / 24, h);
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{}d", hours / 24 / 365, dy);
    }
    format!("{}y", hours / 24 / 365)
}

const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub fn rand_suffix(n: usize) -> String {
    (0..n)
        .map(|_| SAFE[fastrand::usize(..SAFE.len())] as char)
        .collect()
}

pub fn new_uid() -> String {
    let h = |n: usize| -> String {
        (0..n)
            .map(|_| format!("{:x}", fastrand::u8(..16)))
            .collect()
    };
    format!(
        "{}-{}-4{}-{}{}-{}",
        h(8),
        h(4),
        h(3),
        ["8", "9", "a", "b"][fastrand::usize(..4)],
        h(3),
        h(12)
    )
}

pub fn rand_hex(n: usize) -> String {
    (0..n)
        .map(|_| format!("{:x}", fastrand::u8(..16)))
        .collect()
}

/// Canonical JSON (sorted keys) for hashing.
pub fn canonical(v: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    walk(&m[*k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    walk(x, out);
                }
                out.push(']');
            }
            _ => out.push_str(&v.to_string()),
        }
    }
    let mut s = String::new();
    walk(v, &mut s);
    s
}

/// Drop nulls, empty objects and empty arrays (they mean "unset" in a Go-serialized template).
pub fn prune_empty(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let p = prune_empty(x);
                let empty = match &p {
                    Value::Null => true,
                    Value::Object(o) => o.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    _ => false,
                };
                if !empty {
                    out.insert(k.clone(), p);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(prune_empty).collect()),
        _ => v.clone(),
    }
}

pub fn fnv32a(s: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in s.as_bytes() {
        h ^= *b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    h
}

/// Like the controllers' `rand.SafeEncodeString(fmt.Sprint(hash))`.
pub fn template_hash(template: &Value) -> String {
    let mut t = template.clone();
    if let Some(l) = t
        .pointer_mut("/metadata/labels")
        .and_then(|l| l.as_object_mut())
    {
        l.remove("pod-template-hash");
        l.remove("controller-revision-hash");
        l.remove("pod-template-generation");
    }
    let h = fnv32a(&canonical(&prune_empty(&t)));
    h.to_string()
        .bytes()
        .map(|b| SAFE[(b as usize) % SAFE.len()] as char)
        .collect()
}

// ---- JSON helpers ----

pub fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(|x| x.as_str()).unwrap_or("")
}
pub fn i(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(|x| x.as_i64())
}
/// Whether the object's status condition `type_` (e.g. a pod's or a node's `Ready`) is `True`.
pub fn condition_true(v: &Value, type_: &str) -> bool {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == type_ && c["status"] == "True")
        })
}

pub fn b(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).and_then(|x| x.as_bool()).unwrap_or(false)
}
pub fn name(v: &Value) -> &str {
    s(v, "/metadata/name")
}
pub fn ns(v: &Value) -> &str {
    s(v, "/metadata/namespace")
}
pub fn uid(v: &Value) -> &str {
    s(v, "/metadata/uid")
}

/// Get-or-create a nested object at a path of keys.
pub fn obj_at<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut cur = v;
    for k in path {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let m = cur.as_object_mut().unwrap();
        cur = m
            .entry(k.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    cur.as_object_mut().unwrap()
}

pub fn labels(v: &Value) -> Map<String, Value> {
    v.pointer("/metadata/labels")
        .and_then(|x| x.as_object())
        .cloned()
        .unwrap_or_default()
}

/// Resolve an int-or-percent against a total (`round_up` like the controllers).
pub fn int_or_percent(v: Option<&Value>, total: i64, default: &str, round_up: bool) -> i64 {
    let owned;
    let v = match v {
        Some(v) if !v.is_null() => v,
        _ => {
            owned = Value::String(default.to_string());
            &owned
        }
    };
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            if let Some(p) = s.strip_suffix('%') {
                let p: f64 = p.parse().unwrap_or(0.0);
                let x = p * total as f64 / 100.0;
                if round_up {
                    x.ceil() as i64
                } else {
                    x.floor() as i64
                }
            } else {
                s.parse().unwrap_or(0)
            }
        }
        _ => 0,
    }
}

pub fn owner_uid_controller(v: &Value) -> Option<String> {
    v.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|o| {
            o.get("controller")
                .and_then(|c| c.as_bool())
                .unwrap_or(false)
        })
        .and_then(|o| o.get("uid")?.as_str().map(String::from))
}

pub fn owner_ref(owner: &Value, kind: &str, api_version: &str) -> Value {
    serde_json::json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn durations() {
        assert_eq!(parse_duration_str("2s"), Some(2000));
        assert_eq!(parse_duration_str("500ms"), Some(500));
        assert_eq!(parse_duration_str("1m30s"), Some(90_000));
        assert_eq!(parse_duration_str("3"), Some(3000));
        assert_eq!(parse_duration_str("x"), None);
        assert_eq!(human_duration(65_000), "65s");
        assert_eq!(human_duration(300_000), "5m");
        assert_eq!(human_duration(330_000), "5m30s");
    }
    #[test]
    fn percent() {
        assert_eq!(int_or_percent(None, 3, "25%", true), 1);
        assert_eq!(int_or_percent(None, 3, "25%", false), 0);
        assert_eq!(
            int_or_percent(Some(&serde_json::json!(2)), 3, "25%", false),
            2
        );
    }
    #[test]
    fn ts() {
        assert_eq!(fmt_ts(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_ts("1970-01-01T00:00:10Z"), Some(10_000));
    }
}
