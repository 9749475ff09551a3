//! The corpus: every fixture under `tests/fixtures/explain` is a real-world failure state saved as `kubectl get
//! pod,events -o yaml` prints it, with a header that cites where it was seen and the upstream source that emits its
//! messages, and states what `explain` must conclude:
//!
//! ```text
//! # seen: URL (what the thread showed)
//! # source: upstream file (the function or format string); kubernetes vX.Y.Z
//! # expect pod: CAUSE | none            (or `# expect pod NAME: CAUSE` in a file with several pods)
//! # expect container NAME: CAUSE | none (or `# expect container POD/NAME: CAUSE`)
//! # names: text the human output must contain
//! # never: text the output must not contain
//! # exit: the exit code
//! ```
//!
//! Each fixture runs through the real binary offline (`explain -f`), as JSON and as the human report.

use std::path::PathBuf;

use kubectl_graceful::explain::model::Cause;
use serde_json::Value;

use super::{bin, fixture};

#[derive(Debug, Default)]
struct Header {
    seen: usize,
    sources: usize,
    /// (pod name or None for the first pod, container or None for the pod verdict, cause or "none")
    expect: Vec<(Option<String>, Option<String>, String)>,
    names: Vec<String>,
    never: Vec<String>,
    exit: Option<i32>,
}

fn header(text: &str) -> Header {
    let mut h = Header::default();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let l = line.trim_start_matches('#').trim();
        if l.starts_with("seen:") {
            h.seen += 1;
        } else if l.starts_with("source:") {
            h.sources += 1;
        } else if let Some(rest) = l.strip_prefix("expect ") {
            let Some((what, cause)) = rest.split_once(':') else {
                continue;
            };
            let cause = cause.trim().to_string();
            let mut words = what.split_whitespace();
            match (words.next(), words.next()) {
                (Some("pod"), name) => h.expect.push((name.map(str::to_string), None, cause)),
                (Some("container"), Some(c)) => {
                    let (pod, c) = match c.split_once('/') {
                        Some((p, c)) => (Some(p.to_string()), c.to_string()),
                        None => (None, c.to_string()),
                    };
                    h.expect.push((pod, Some(c), cause));
                }
                _ => {}
            }
        } else if let Some(n) = l.strip_prefix("names:") {
            h.names.push(n.trim().to_string());
        } else if let Some(n) = l.strip_prefix("never:") {
            h.never.push(n.trim().to_string());
        } else if let Some(n) = l.strip_prefix("exit:") {
            h.exit = n.trim().parse().ok();
        }
    }
    h
}

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(fixture(""));
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

fn pod_of<'a>(report: &'a Value, name: Option<&str>) -> Option<&'a Value> {
    let pods = report["pods"].as_array()?;
    match name {
        Some(n) => pods.iter().find(|p| p["name"] == n),
        None => pods.first(),
    }
}

/// Checks one fixture; returns what is wrong with the output.
fn check(path: &PathBuf) -> Vec<String> {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let text = std::fs::read_to_string(path).expect("fixture");
    let h = header(&text);
    let mut wrong = Vec::new();
    if h.sources == 0 {
        wrong.push(
            "no `# source:` line citing the upstream code that emits its messages".to_string(),
        );
    }
    if h.expect.is_empty() {
        wrong.push("no `# expect` line".to_string());
    }
    let json = bin()
        .args(["explain", "-o", "json", "-f"])
        .arg(path)
        .output()
        .expect("runs");
    let human = bin()
        .args(["explain", "-f"])
        .arg(path)
        .output()
        .expect("runs");
    let report: Value = match serde_json::from_slice(&json.stdout) {
        Ok(v) => v,
        Err(e) => {
            return vec![format!(
                "{name}: stdout is not JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&json.stderr)
            )]
        }
    };
    let out = String::from_utf8_lossy(&human.stdout).to_string();
    for (pod, container, cause) in &h.expect {
        let Some(p) = pod_of(&report, pod.as_deref()) else {
            wrong.push(format!("no pod {pod:?} in the report"));
            continue;
        };
        let got = match container {
            None => p["verdict"]["cause"].as_str().unwrap_or("none").to_string(),
            Some(c) => p["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["name"] == c.as_str())
                .map(|x| x["verdict"]["cause"].as_str().unwrap_or("none").to_string())
                .unwrap_or_else(|| format!("no container {c}")),
        };
        if &got != cause {
            wrong.push(format!(
                "{} {}: expected {cause}, got {got}",
                pod.as_deref().unwrap_or("pod"),
                container.as_deref().unwrap_or("(pod verdict)")
            ));
        }
    }
    for n in &h.names {
        if !out.contains(n.as_str()) {
            wrong.push(format!("the output does not name {n:?}"));
        }
    }
    for n in &h.never {
        if out.contains(n.as_str()) || report.to_string().contains(n.as_str()) {
            wrong.push(format!("the output says {n:?}"));
        }
    }
    wrong.extend(repeated_messages(&out));
    if let Some(code) = h.exit {
        if human.status.code() != Some(code) || json.status.code() != Some(code) {
            wrong.push(format!(
                "exit {:?}/{:?}, expected {code}",
                human.status.code(),
                json.status.code()
            ));
        }
    }
    wrong
        .into_iter()
        .map(|w| format!("{name}: {w}\n{out}"))
        .collect()
}

/// Within one verdict block (a pod's or a container's), no message is printed twice: a fragment of
/// 40 characters or more after a `: ` appears on one line only.
fn repeated_messages(out: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let starts_block = |l: &str| {
        let t = l.trim_start();
        l.starts_with("  ") && !l.starts_with("    ") && !t.starts_with("note:")
    };
    let mut check = |block: &[&str]| {
        for (i, l) in block.iter().enumerate() {
            for frag in l.split(": ").skip(1).filter(|f| f.len() >= 40) {
                if let Some(j) = block
                    .iter()
                    .enumerate()
                    .position(|(j, o)| j != i && o.contains(frag))
                {
                    wrong.push(format!(
                        "printed twice: {frag:?} (lines {:?} and {:?})",
                        l, block[j]
                    ));
                }
            }
        }
    };
    for line in out.lines() {
        if starts_block(line) {
            check(&block);
            block.clear();
        }
        block.push(line);
    }
    check(&block);
    wrong.sort();
    wrong.dedup();
    wrong
}

#[test]
fn corpus_every_fixture_meets_its_stated_expectations() {
    let all = fixtures();
    let failures: Vec<String> = all.iter().flat_map(check).collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures fail:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n---\n")
    );
}

#[test]
fn corpus_is_real_world_and_covers_every_cause() {
    let headers: Vec<(String, Header)> = fixtures()
        .iter()
        .map(|p| {
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string(),
                header(&std::fs::read_to_string(p).expect("fixture")),
            )
        })
        .collect();
    let real = headers
        .iter()
        .filter(|(_, h)| h.seen > 0 && h.sources > 0)
        .count();
    assert!(
        real >= 60,
        "only {real} fixtures cite a real-world thread and the upstream source"
    );
    let expected: Vec<&str> = headers
        .iter()
        .flat_map(|(_, h)| h.expect.iter().map(|(_, _, c)| c.as_str()))
        .collect();
    let missing: Vec<String> = Cause::ALL
        .iter()
        .map(|c| c.id())
        .filter(|id| !expected.contains(&id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "no fixture expects these causes: {missing:?}"
    );
    // Every fixture's expectations name real cause ids (a typo would make a check vacuous).
    let ids: Vec<String> = Cause::ALL.iter().map(|c| c.id()).collect();
    for (f, h) in &headers {
        for (_, _, c) in &h.expect {
            assert!(c == "none" || ids.contains(c), "{f}: unknown cause id {c}");
        }
    }
}

#[test]
fn corpus_covers_multi_container_init_sidecar_and_job_pods() {
    let texts: Vec<String> = fixtures()
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("fixture"))
        .collect();
    let with = |needle: &str| texts.iter().filter(|t| t.contains(needle)).count();
    assert!(with("initContainers:") >= 4, "init containers");
    assert!(
        with("restartPolicy: Always}") + with("restartPolicy: Always,") >= 2,
        "native sidecars"
    );
    assert!(with("kind: Job, name:") >= 4, "Job pods");
    let multi = texts
        .iter()
        .filter(|t| t.matches("imageID: \"\"").count() >= 2)
        .count();
    assert!(multi >= 5, "multi-container pods: {multi}");
}

/// The causes in a report, per pod: (pod verdict, [(container, verdict)]).
fn causes(pod: &Value) -> (String, Vec<(String, String)>) {
    let cause = |v: &Value| v["verdict"]["cause"].as_str().unwrap_or("none").to_string();
    (
        cause(pod),
        pod["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (c["name"].as_str().unwrap_or("").to_string(), cause(c)))
            .collect(),
    )
}

/// The fixtures a cluster would serve as they are: no Node objects of their own (the simulator has
/// node-1..3), no pod already being deleted (a real cluster removes those once stopped), and pods
/// on node-1..3 unless their node is never read.
fn live_eligible() -> Vec<(PathBuf, Vec<(String, String)>)> {
    use k8s_openapi::api::core::v1::Pod;
    use kubectl_graceful::explain::{gather::node_matters, offline};
    fixtures()
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture");
            let l = offline::parse(&text, "f").expect("parses");
            let ok = l.nodes.is_empty()
                && l.pods.iter().all(|pod: &Pod| {
                    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
                    pod.metadata.deletion_timestamp.is_none()
                        && (node.is_none_or(|n| ["node-1", "node-2", "node-3"].contains(&n))
                            || !node_matters(pod))
                });
            ok.then(|| {
                let pods = l
                    .pods
                    .iter()
                    .map(|pod| {
                        (
                            pod.metadata
                                .namespace
                                .clone()
                                .unwrap_or_else(|| "default".into()),
                            pod.metadata.name.clone().unwrap_or_default(),
                        )
                    })
                    .collect();
                (p, pods)
            })
        })
        .collect()
}

/// (kind, namespace, name) of every object of every fixture: one simulator serves them all at once.
fn object_keys(text: &str) -> Vec<(String, String, String)> {
    let l = serde_yaml::Deserializer::from_str(text)
        .filter_map(|d| serde::Deserialize::deserialize(d).ok())
        .flat_map(|v: Value| match v["kind"].as_str() {
            Some("List") => v["items"].as_array().cloned().unwrap_or_default(),
            _ => vec![v],
        })
        .map(|o| {
            let s = |p: &str| {
                o.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            (s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
        })
        .collect();
    l
}

#[test]
fn corpus_object_names_are_unique_across_fixtures() {
    let mut seen = std::collections::BTreeMap::new();
    for p in fixtures() {
        for k in object_keys(&std::fs::read_to_string(&p).expect("fixture")) {
            if let Some(other) = seen.insert(k.clone(), p.clone()) {
                panic!("{k:?} is in {} and {}", other.display(), p.display());
            }
        }
    }
}

#[test]
fn corpus_live_verdicts_agree_with_offline() {
    let eligible = live_eligible();
    assert!(
        eligible.len() >= 60,
        "only {} fixtures can be served live",
        eligible.len()
    );
    eprintln!("{} fixtures served live", eligible.len());
    let sim = kubesim::Sim::start(kubesim::SimOptions {
        scenario_yaml: eligible
            .iter()
            .map(|(p, _)| std::fs::read_to_string(p).expect("fixture"))
            .collect(),
        ..Default::default()
    })
    .expect("simulator starts");
    let mut wrong = Vec::new();
    for (path, pods) in &eligible {
        let out = bin()
            .args(["explain", "-o", "json", "-f"])
            .arg(path)
            .output()
            .expect("runs");
        let offline: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        for (ns, name) in pods {
            let out = super::live::live(&sim)
                .args(["explain", name, "-n", ns, "--no-logs", "-o", "json"])
                .output()
                .expect("runs");
            let live: Value = match serde_json::from_slice(&out.stdout) {
                Ok(v) => v,
                Err(_) => {
                    wrong.push(format!(
                        "{}: {ns}/{name}: {}",
                        path.display(),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                    continue;
                }
            };
            let want = pod_of(&offline, Some(name)).map(causes);
            let got = pod_of(&live, Some(name)).map(causes);
            if want != got {
                wrong.push(format!(
                    "{}: {ns}/{name}: offline {want:?}, live {got:?}",
                    path.display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "live and offline disagree:\n{}",
        wrong.join("\n")
    );
}
