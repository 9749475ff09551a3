//! diagnose over the real-world corpus (`tests/corpus/manifests`, seven Apache-2.0 projects; see its
//! README): no panic, every unusable input named with file:line, no file that silently vanishes, no
//! traffic finding on a container no Service targets, and the findings exactly as reviewed by hand in
//! `tests/corpus/expected/<set>.txt`. A changed finding fails until that file is updated on purpose:
//! `GRACEFUL_UPDATE_CORPUS=1 cargo test --test it diagnose::corpus`, then review the diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::documents::root;
use k8s_openapi::api::core::v1::{Container, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubectl_graceful::diagnose::input::{self, Loaded};
use kubectl_graceful::diagnose::{check, KubeVersion, RelatedIndex, Severity, Workload};

const SETS: &str = "tests/corpus/manifests";

fn sets() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join(SETS))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    assert_eq!(v.len(), 7, "{v:?}");
    v
}

/// The report of one set as reviewed text: a summary line, each workload with its findings, each
/// unusable input.
fn report(set: &str, loaded: &Loaded) -> String {
    let v = KubeVersion::DEFAULT;
    let prefix = format!("{SETS}/{set}/");
    let idx = RelatedIndex::new(&loaded.related);
    let mut body = String::new();
    let mut count: BTreeMap<Severity, usize> = BTreeMap::new();
    let mut ws: Vec<&Workload> = loaded.workloads.iter().collect();
    ws.sort_by(|a, b| {
        (&a.namespace, a.kind_name, &a.name).cmp(&(&b.namespace, b.kind_name, &b.name))
    });
    for w in &ws {
        let found = check(w, &idx.context(w, v));
        let _ = writeln!(
            body,
            "{} {}/{} ({})",
            w.kind_name,
            w.namespace,
            w.name,
            w.source.trim_start_matches(&prefix)
        );
        for f in &found {
            *count.entry(f.severity).or_default() += 1;
            let _ = writeln!(
                body,
                "  {:<7} {} [{}] {}",
                f.severity.as_str(),
                f.rule,
                f.container.as_deref().unwrap_or("-"),
                f.message
            );
        }
    }
    for e in &loaded.errors {
        let _ = writeln!(
            body,
            "unusable {}: {}",
            e.source.trim_start_matches(&prefix),
            e.message
        );
    }
    format!(
        "# {set}: {} workloads, {} errors, {} warnings, {} infos; {} unusable inputs\n{body}",
        ws.len(),
        count.get(&Severity::Error).unwrap_or(&0),
        count.get(&Severity::Warning).unwrap_or(&0),
        count.get(&Severity::Info).unwrap_or(&0),
        loaded.errors.len()
    )
}

fn expected_path(set: &str) -> PathBuf {
    root().join(format!("tests/corpus/expected/{set}.txt"))
}

#[test]
fn findings_match_the_reviewed_expectations() {
    let update = std::env::var_os("GRACEFUL_UPDATE_CORPUS").is_some();
    let mut changed = Vec::new();
    for set in sets() {
        let loaded = input::load_paths(
            &[PathBuf::from(format!("{SETS}/{set}"))],
            "default",
            KubeVersion::DEFAULT,
        );
        let got = report(&set, &loaded);
        let path = expected_path(&set);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            let first = got
                .lines()
                .zip(want.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("\n  got:      {a}\n  expected: {b}"))
                .unwrap_or_else(|| "\n  (lines added or removed at the end)".into());
            changed.push(format!("{set}: differs from {}{first}", path.display()));
        }
    }
    assert!(
        changed.is_empty(),
        "{}\nReview the findings, then GRACEFUL_UPDATE_CORPUS=1 cargo test --test it diagnose::corpus",
        changed.join("\n")
    );
}

#[test]
fn every_file_is_used_or_reported_with_file_and_line() {
    for set in sets() {
        let dir = root().join(SETS).join(&set);
        let mut errors = vec![];
        for file in input::expand_paths(&[dir], &mut errors) {
            let name = file.display().to_string();
            let bytes = std::fs::read(&file).unwrap();
            let text = match input::decode(&bytes) {
                Ok(t) => t,
                Err(e) => panic!("{name}: {e}"),
            };
            let mut l = Loaded::new("default", KubeVersion::DEFAULT);
            input::load_text(&name, &text, &mut l);
            for e in &l.errors {
                let line = e.source.strip_prefix(&format!("{name}:")).unwrap_or("");
                assert!(
                    line.split([':', ' '])
                        .next()
                        .unwrap_or("")
                        .parse::<usize>()
                        .is_ok(),
                    "an unusable input without file:line: {e:?}"
                );
            }
            let objects = l.workloads.len()
                + l.related.pdbs.as_ref().map_or(0, Vec::len)
                + l.related.services.as_ref().map_or(0, Vec::len)
                + l.related.hpas.as_ref().map_or(0, Vec::len)
                + l.skipped
                + l.errors.len();
            let documents = input::parse_documents(&name, &text).len();
            assert!(
                objects > 0 || documents == 0,
                "{name}: {documents} documents, none used or reported"
            );
        }
        assert!(errors.is_empty(), "{errors:?}");
    }
}

/// An independent, plain reading of "a Service sends this container traffic": a Service of the
/// namespace whose selector the pod labels satisfy has a port whose target is one of the container's
/// ports (by number or name), or targets a number no container declares while this is the first
/// container; or the container takes connections on the node.
fn targeted(w: &Workload, c: &Container, services: &[Service]) -> bool {
    let labels = w.pod_labels().cloned().unwrap_or_default();
    let spec = w.pod_spec();
    let declared = |n: i32| {
        spec.containers
            .iter()
            .any(|c| c.ports.iter().flatten().any(|p| p.container_port == n))
    };
    let host = c
        .ports
        .iter()
        .flatten()
        .any(|p| p.host_port.is_some_and(|h| h > 0))
        || (spec.host_network == Some(true) && c.ports.as_ref().is_some_and(|p| !p.is_empty()));
    host || services.iter().any(|s| {
        let sel = s
            .spec
            .as_ref()
            .and_then(|s| s.selector.clone())
            .unwrap_or_default();
        s.metadata.namespace.as_deref() == Some(w.namespace.as_str())
            && !sel.is_empty()
            && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
            && s.spec
                .iter()
                .flat_map(|s| s.ports.iter().flatten())
                .any(
                    |p| match p.target_port.clone().unwrap_or(IntOrString::Int(p.port)) {
                        IntOrString::Int(n) => {
                            c.ports.iter().flatten().any(|cp| cp.container_port == n)
                                || !declared(n)
                        }
                        IntOrString::String(name) => c
                            .ports
                            .iter()
                            .flatten()
                            .any(|cp| cp.name.as_deref() == Some(name.as_str())),
                    },
                )
    })
}

#[test]
fn no_traffic_finding_on_a_container_no_service_targets() {
    const TRAFFIC: &[&str] = &[
        "prestop-missing",
        "prestop-without-pause",
        "prestop-pause-short",
        "readiness-missing",
    ];
    let mut checked = 0;
    for set in sets() {
        let loaded = input::load_paths(
            &[PathBuf::from(format!("{SETS}/{set}"))],
            "default",
            KubeVersion::DEFAULT,
        );
        let services = loaded.related.services.clone().unwrap_or_default();
        let idx = RelatedIndex::new(&loaded.related);
        for w in &loaded.workloads {
            let spec = w.pod_spec();
            for f in check(w, &idx.context(w, KubeVersion::DEFAULT)) {
                if !TRAFFIC.contains(&f.rule.as_str()) {
                    continue;
                }
                for name in &f.containers {
                    let c = spec.containers.iter().find(|c| &c.name == name).unwrap();
                    checked += 1;
                    assert!(
                        targeted(w, c, &services),
                        "{set}: {} on {} container {name}, which no Service targets: {}",
                        f.rule,
                        w.display_name(),
                        f.message
                    );
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} traffic findings: the corpus changed?"
    );
}
