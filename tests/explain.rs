//! `kubectl graceful explain`: the real binary, offline on saved YAML and live against kubesim.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

#[path = "explain/corpus.rs"]
mod corpus;
#[path = "explain/flags.rs"]
mod flags;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/explain/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubectl-graceful"));
    // Never pick up the developer's cluster.
    c.env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("NO_COLOR", "1");
    c
}

fn offline_json(name: &str) -> Value {
    let out = bin()
        .args(["explain", "-o", "json", "-f", &fixture(name)])
        .output()
        .expect("runs");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{name}: exit {:?}, stderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn container_cause(report: &Value, container: &str) -> String {
    report["pods"][0]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == container)
        .and_then(|c| c["verdict"]["cause"].as_str())
        .unwrap_or("none")
        .to_string()
}

fn pod_cause(report: &Value) -> String {
    report["pods"][0]["verdict"]["cause"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

#[test]
fn offline_every_container_cause_from_saved_yaml() {
    for (file, container, cause) in [
        ("oom-killed.yaml", "app", "oom-killed"),
        ("node-oom.yaml", "worker", "node-oom"),
        ("grace-shell.yaml", "app", "grace-period-exceeded"),
        ("grace-prestop.yaml", "envoy", "grace-period-exceeded"),
        ("liveness.yaml", "cart", "liveness-probe"),
        ("readiness.yaml", "search", "readiness-probe"),
        ("startup.yaml", "billing", "startup-probe"),
        ("post-start.yaml", "worker", "post-start-hook"),
        ("pre-stop.yaml", "front", "pre-stop-hook"),
        ("app-error.yaml", "orders", "app-error"),
        ("sigterm.yaml", "runner", "sigterm"),
        ("completed.yaml", "api", "completed-unexpectedly"),
        ("image-pull.yaml", "web", "image-pull"),
        ("config-error.yaml", "payments", "config-error"),
        ("start-error.yaml", "gw", "start-error"),
        ("events-expired.yaml", "legacy", "unclear"),
        ("recreated.yaml", "db", "app-error"),
    ] {
        let r = offline_json(file);
        assert_eq!(container_cause(&r, container), cause, "{file}");
    }
}

#[test]
fn offline_every_pod_level_cause_from_saved_yaml() {
    for (file, cause) in [
        ("unschedulable.yaml", "unschedulable"),
        ("evicted.yaml", "evicted"),
        ("preempted.yaml", "preempted"),
        ("node-shutdown.yaml", "node-shutdown"),
        ("taint.yaml", "taint-eviction"),
        ("node-lost.yaml", "node-lost"),
        ("deadline.yaml", "deadline-exceeded"),
        ("init-failed.yaml", "init-failed"),
        // The Node in the file says Ready=Unknown: the node is lost (the other pod's node is not in
        // the file: that one says what it saw and what to check).
        ("node-not-ready.yaml", "node-lost"),
    ] {
        assert_eq!(pod_cause(&offline_json(file)), cause, "{file}");
    }
}

#[test]
fn offline_json_schema_and_facts() {
    let r = offline_json("oom-killed.yaml");
    assert_eq!(r["apiVersion"], "graceful.kubectl.io/v1alpha1");
    assert_eq!(r["kind"], "ExplainReport");
    let p = &r["pods"][0];
    assert_eq!(p["name"], "web-7d4b9c-x2x8k");
    assert_eq!(p["namespace"], "default");
    assert_eq!(p["uid"], "0b6f3d6e-oom1");
    assert_eq!(p["phase"], "Running");
    assert_eq!(p["node"], "node-1");
    assert_eq!(p["healthy"], false);
    assert_eq!(p["restarts"], 3);
    let c = &p["containers"][0];
    assert_eq!(c["type"], "app");
    assert_eq!(c["restartCount"], 3);
    assert_eq!(c["backOff"], "40s");
    assert_eq!(c["state"]["state"], "waiting");
    assert_eq!(c["state"]["reason"], "CrashLoopBackOff");
    let t = &c["lastTermination"];
    assert_eq!(t["exitCode"], 137);
    assert_eq!(t["signal"], "SIGKILL");
    assert_eq!(t["reason"], "OOMKilled");
    assert_eq!(t["ranForSeconds"], 133);
    assert_eq!(t["startedAt"], "2026-11-23T10:00:10Z");
    assert_eq!(t["finishedAt"], "2026-11-23T10:02:23Z");
    let v = &c["verdict"];
    assert_eq!(v["severity"], "failure");
    assert!(v["summary"].as_str().is_some_and(|s| s.contains("256Mi")));
    assert!(v["evidence"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(v["action"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(p["events"][0]["reason"], "BackOff");
    assert_eq!(p["events"][0]["count"], 5);
}

#[test]
fn offline_human_report_leads_with_the_verdict() {
    bin()
        .args(["explain", "-f", &fixture("grace-shell.yaml")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "pod default/api-5c9f-abcde  Running",
        ))
        .stdout(predicate::str::contains(
            "container app: killed with SIGKILL at the end of the 30s grace period",
        ))
        .stdout(predicate::str::contains("does not forward SIGTERM"))
        .stdout(predicate::str::contains(
            "what to do: start the app with `exec`",
        ))
        .stdout(predicate::str::contains("exit code 137 (SIGKILL)"));
}

#[test]
fn offline_healthy_pod_is_one_line_and_exit_0() {
    bin()
        .args(["explain", "-f", &fixture("healthy.yaml")])
        .assert()
        .code(0)
        .stdout("pod default/fine-1: healthy (2/2 ready, 0 restarts)\n");
}

#[test]
fn offline_yaml_output_and_stdin() {
    let text = std::fs::read_to_string(fixture("liveness.yaml")).expect("fixture");
    let out = bin()
        .args(["explain", "-o", "yaml", "-f", "-"])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_yaml::from_slice(&out.stdout).expect("stdout is YAML");
    assert_eq!(v["kind"], "ExplainReport");
    assert_eq!(container_cause(&v, "cart"), "liveness-probe");
}

#[test]
fn offline_container_filter_and_unknown_container() {
    let out = bin()
        .args([
            "explain",
            "-o",
            "json",
            "-c",
            "segv",
            "-f",
            &fixture("multi-container.yaml"),
        ])
        .output()
        .expect("runs");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let cs = v["pods"][0]["containers"].as_array().expect("containers");
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0]["verdict"]["cause"], "signal");

    bin()
        .args([
            "explain",
            "-c",
            "nope",
            "-f",
            &fixture("multi-container.yaml"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "container \"nope\" is not in pod zoo",
        ));
}

#[test]
fn offline_malformed_input_is_exit_2_with_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n").expect("write");
    bin()
        .args(["explain", "-f"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yaml"))
        .stderr(predicate::str::contains("line "));

    let none = dir.path().join("svc.yaml");
    std::fs::write(
        &none,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
    )
    .expect("write");
    bin()
        .args(["explain", "-f"])
        .arg(&none)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no Pod in the file"));

    bin()
        .args(["explain", "-f", "/nonexistent/pod.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "/nonexistent/pod.yaml: no such file or directory",
        ));
}

#[test]
fn offline_without_events_says_the_verdict_rests_on_status() {
    bin()
        .args(["explain", "-f", &fixture("multi-container.yaml")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("holds no events"));
}

#[test]
fn offline_a_pod_still_starting_is_not_a_failure() {
    bin()
        .args(["explain", "-f", &fixture("starting.yaml")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "nothing failed yet (app ContainerCreating)",
        ));
}

// ---------------------------------------------------------------------------------------------
// Live gathering against a tiny scripted API server on 127.0.0.1: pins the call sequence (pod GET
// first, then everything else at once) and how each section degrades.

mod fake {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    #[derive(Clone)]
    pub struct Route {
        pub method: &'static str,
        pub path: String,
        pub status: u16,
        pub body: String,
        pub delay: Duration,
    }

    impl Route {
        pub fn get(path: &str, body: String) -> Route {
            Route {
                method: "GET",
                path: path.to_string(),
                status: 200,
                body,
                delay: Duration::ZERO,
            }
        }

        pub fn status(mut self, code: u16) -> Route {
            self.status = code;
            let reason = if code == 403 { "Forbidden" } else { "NotFound" };
            self.body = format!(
                r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"denied by the fake","reason":"{reason}","code":{code}}}"#
            );
            self
        }

        pub fn delay(mut self, d: Duration) -> Route {
            self.delay = d;
            self
        }
    }

    #[derive(Debug, Clone)]
    pub struct Seen {
        pub method: String,
        pub target: String,
        pub arrived: Instant,
        pub answered: Instant,
    }

    impl Seen {
        pub fn path(&self) -> &str {
            self.target.split('?').next().unwrap_or("")
        }
    }

    pub struct Fake {
        port: u16,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Fake {
        pub fn start(routes: Vec<Route>) -> Fake {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let seen2 = seen.clone();
            let routes = Arc::new(routes);
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (seen, routes) = (seen2.clone(), routes.clone());
                    std::thread::spawn(move || serve(stream, &seen, &routes));
                }
            });
            Fake { port, seen }
        }

        pub fn seen(&self) -> Vec<Seen> {
            let mut v = self.seen.lock().expect("lock").clone();
            v.sort_by_key(|s| s.arrived);
            v
        }

        pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
            let path = dir.join("config");
            std::fs::write(
                &path,
                format!(
                    "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster: {{server: \"http://127.0.0.1:{}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: u, namespace: default}}\n",
                    self.port
                ),
            )
            .expect("write kubeconfig");
            path
        }
    }

    fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, routes: &[Route]) {
        let Ok(clone) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(clone);
        let mut stream = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let arrived = Instant::now();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let target = parts.next().unwrap_or("").to_string();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    return;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let path = target.split('?').next().unwrap_or("").to_string();
            let route = routes
                .iter()
                .find(|r| r.method == method && r.path == path)
                .cloned()
                .unwrap_or_else(|| Route::get(&path, String::new()).status(404));
            std::thread::sleep(route.delay);
            let content_type = if path.ends_with("/log") && route.status == 200 {
                "text/plain"
            } else {
                "application/json"
            };
            let resp = format!(
                "HTTP/1.1 {} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{}",
                route.status,
                route.body.len(),
                route.body
            );
            seen.lock().expect("lock").push(Seen {
                method,
                target,
                arrived,
                answered: Instant::now(),
            });
            if stream.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    }
}

use fake::{Fake, Route};
use std::time::Duration;

/// The fixture's pod and events as the API serves them.
fn served(name: &str) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture");
    let v: Value = serde_yaml::from_str(&text).expect("yaml");
    let items = if v["kind"] == "List" {
        v["items"].as_array().cloned().unwrap_or_default()
    } else {
        vec![v]
    };
    let pod = items
        .iter()
        .find(|i| i["kind"] == "Pod")
        .cloned()
        .expect("a pod");
    let events = items.into_iter().filter(|i| i["kind"] == "Event").collect();
    (pod, events)
}

fn list(kind: &str, api_version: &str, items: Vec<Value>) -> String {
    serde_json::json!({"kind": kind, "apiVersion": api_version, "metadata": {}, "items": items})
        .to_string()
}

fn fake_run(fake: &Fake, args: &[&str]) -> (Option<i32>, Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = fake.kubeconfig(dir.path());
    let out = bin()
        .arg("--kubeconfig")
        .arg(&kc)
        .arg("explain")
        .args(args)
        .args(["-o", "json"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v, stderr)
}

const PODS: &str = "/api/v1/namespaces/default/pods";
const EVENTS: &str = "/api/v1/namespaces/default/events";
const NEW_EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

#[test]
fn scripted_pod_get_first_then_events_and_logs_at_once() {
    let (pod, events) = served("app-error.yaml");
    let slow = Duration::from_millis(400);
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, list("EventList", "v1", events)).delay(slow),
        Route::get(
            &format!("{PODS}/orders-0/log"),
            "connecting to postgres at db:5432\nError: connect ECONNREFUSED 10.96.0.15:5432\n"
                .into(),
        )
        .delay(slow),
        Route::get(NEW_EVENTS, list("EventList", "events.k8s.io/v1", vec![])).delay(slow),
    ]);
    let (code, r, err) = fake_run(&fake, &["orders-0", "--tail", "5"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "orders"), "app-error");
    let c = &r["pods"][0]["containers"][0];
    assert_eq!(c["logsFrom"], "previous");
    assert_eq!(c["logs"].as_array().map(Vec::len), Some(2));

    let seen = fake.seen();
    assert!(
        seen.iter().all(|s| s.method == "GET"),
        "explain only reads: {seen:?}"
    );
    // The pod GET and its events list go out together; the log waits only for the pod.
    let pod_get = seen
        .iter()
        .find(|s| s.path() == format!("{PODS}/orders-0"))
        .expect("the pod GET");
    let first_events = seen
        .iter()
        .find(|s| s.path() == EVENTS)
        .expect("an events list");
    assert!(
        first_events.arrived < pod_get.answered + Duration::from_millis(100),
        "the events list waited for the pod: {seen:?}"
    );
    let log = seen
        .iter()
        .find(|s| s.path().ends_with("/log"))
        .expect("a log request");
    assert!(log.target.contains("previous=true"), "{}", log.target);
    assert!(log.target.contains("tailLines=5"), "{}", log.target);
    assert!(log.target.contains("container=orders"), "{}", log.target);
    let ev = seen
        .iter()
        .find(|s| s.path() == EVENTS)
        .expect("an events request");
    assert!(
        ev.target
            .contains("fieldSelector=involvedObject.name%3Dorders-0"),
        "{}",
        ev.target
    );
    // Both slow requests were in flight together: neither waited for the other's answer.
    assert!(
        log.arrived < ev.answered && ev.arrived < log.answered,
        "events and logs were fetched one after the other: {seen:?}"
    );
}

#[test]
fn scripted_forbidden_logs_degrade_with_a_note() {
    let (pod, events) = served("app-error.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(&format!("{PODS}/orders-0/log"), String::new()).status(403),
    ]);
    let (code, r, err) = fake_run(&fake, &["orders-0"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "orders"), "app-error");
    let notes = r["pods"][0]["notes"].to_string();
    assert!(notes.contains("logs: forbidden"), "{notes}");
    assert_eq!(r["pods"][0]["containers"][0]["logs"], serde_json::json!([]));
}

#[test]
fn scripted_forbidden_core_events_fall_back_to_events_k8s_io() {
    let (pod, _) = served("liveness.yaml");
    let new_events = vec![
        serde_json::json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "cart.1", "namespace": "default"},
            "regarding": {"kind": "Pod", "name": "cart-6f8d-q1w2e", "namespace": "default", "uid": "u-liveness", "fieldPath": "spec.containers{cart}"},
            "reason": "Unhealthy", "type": "Warning",
            "note": "Liveness probe failed: HTTP probe failed with statuscode: 500",
            "eventTime": "2026-11-23T10:00:10.000000Z",
            "series": {"count": 3, "lastObservedTime": "2026-11-23T10:00:30.000000Z"}
        }),
        serde_json::json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "cart.2", "namespace": "default"},
            "regarding": {"kind": "Pod", "name": "cart-6f8d-q1w2e", "namespace": "default", "uid": "u-liveness", "fieldPath": "spec.containers{cart}"},
            "reason": "Killing", "type": "Normal",
            "note": "Container cart failed liveness probe, will be restarted",
            "eventTime": "2026-11-23T10:00:30.000000Z"
        }),
    ];
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/cart-6f8d-q1w2e"), pod.to_string()),
        Route::get(EVENTS, String::new()).status(403),
        Route::get(
            NEW_EVENTS,
            list("EventList", "events.k8s.io/v1", new_events),
        ),
    ]);
    let (code, r, err) = fake_run(&fake, &["cart-6f8d-q1w2e", "--no-logs"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "cart"), "liveness-probe", "{r}");
    let seen = fake.seen();
    let new = seen
        .iter()
        .find(|s| s.path() == NEW_EVENTS)
        .expect("asked events.k8s.io");
    assert!(
        new.target.contains("regarding.name%3Dcart-6f8d-q1w2e"),
        "{}",
        new.target
    );
    assert!(
        !seen.iter().any(|s| s.path().ends_with("/log")),
        "--no-logs reads no logs"
    );
}

#[test]
fn scripted_no_events_at_all_rests_on_status() {
    let (pod, _) = served("liveness.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/cart-6f8d-q1w2e"), pod.to_string()),
        Route::get(EVENTS, String::new()).status(403),
        Route::get(NEW_EVENTS, String::new()).status(403),
        Route::get(&format!("{PODS}/cart-6f8d-q1w2e/log"), "ok\n".into()),
    ]);
    let (code, r, err) = fake_run(&fake, &["cart-6f8d-q1w2e"]);
    assert_eq!(code, Some(1), "{err}");
    let notes = r["pods"][0]["notes"].to_string();
    assert!(notes.contains("events: forbidden"), "{notes}");
    assert!(notes.contains("rests on the pod's status alone"), "{notes}");
    // Exit 137 with reason Error and no events: never called OOM, never guessed.
    assert_eq!(container_cause(&r, "cart"), "unclear");
}

#[test]
fn scripted_missing_pod_is_exit_2() {
    let fake = Fake::start(vec![]);
    let (code, _, err) = fake_run(&fake, &["nope"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("pod nope not found in namespace default"),
        "{err}"
    );
}

#[test]
fn scripted_workload_target_lists_its_pods_by_selector_worst_first() {
    let (sick, events) = served("oom-killed.yaml");
    let (fine, _) = served("healthy.yaml");
    let mut fine = fine;
    fine["metadata"]["labels"] = serde_json::json!({"app": "web"});
    let deploy = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app"}]}}}
    });
    let fake = Fake::start(vec![
        Route::get(
            "/apis/apps/v1/namespaces/default/deployments/web",
            deploy.to_string(),
        ),
        Route::get(PODS, list("PodList", "v1", vec![fine, sick])),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(
            &format!("{PODS}/web-7d4b9c-x2x8k/log"),
            "allocating\n".into(),
        ),
    ]);
    let (code, r, err) = fake_run(&fake, &["deploy/web"]);
    assert_eq!(code, Some(1), "{err}");
    let names: Vec<&str> = r["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, vec!["web-7d4b9c-x2x8k", "fine-1"], "worst first");
    assert_eq!(r["pods"][1]["healthy"], true);
    let seen = fake.seen();
    let list_req = seen.iter().find(|s| s.path() == PODS).expect("listed pods");
    assert!(
        list_req.target.contains("labelSelector=app%3Dweb"),
        "{}",
        list_req.target
    );
    // The healthy pod cost no further calls.
    assert!(
        !seen.iter().any(|s| s.target.contains("fine-1")),
        "{seen:?}"
    );
}

#[test]
fn scripted_namespace_sweep_reads_events_once_and_skips_healthy_pods() {
    let mut pods = Vec::new();
    let mut events = Vec::new();
    for f in [
        "oom-killed.yaml",
        "liveness.yaml",
        "app-error.yaml",
        "sigterm.yaml",
        "readiness.yaml",
        "healthy.yaml",
    ] {
        let (p, e) = served(f);
        pods.push(p);
        events.extend(e);
    }
    let fake = Fake::start(vec![
        Route::get(PODS, list("PodList", "v1", pods)),
        Route::get(EVENTS, list("EventList", "v1", events)),
    ]);
    let (code, r, err) = fake_run(&fake, &["--no-logs"]);
    assert_eq!(code, Some(1), "{err}");
    let causes: Vec<(String, String)> = r["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_string(),
                p["containers"][0]["verdict"]["cause"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    for (pod, cause) in [
        ("web-7d4b9c-x2x8k", "oom-killed"),
        ("cart-6f8d-q1w2e", "liveness-probe"),
        ("orders-0", "app-error"),
        ("cron-runner", "sigterm"),
        ("search-0", "readiness-probe"),
    ] {
        assert!(
            causes.contains(&(pod.to_string(), cause.to_string())),
            "{pod} {cause}: {causes:?}"
        );
    }
    assert!(
        !causes.iter().any(|(p, _)| p == "fine-1"),
        "healthy pods are left out"
    );
    assert_eq!(
        causes.last().map(|(p, _)| p.as_str()),
        Some("search-0"),
        "warnings after failures"
    );
    let seen = fake.seen();
    let event_reads: Vec<_> = seen.iter().filter(|s| s.path() == EVENTS).collect();
    assert_eq!(event_reads.len(), 1, "{seen:?}");
    assert!(!event_reads[0].target.contains("fieldSelector"));
}

#[test]
fn offline_a_pod_without_status_is_not_blamed_on_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("manifest.yaml");
    std::fs::write(
        &f,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  containers: [{name: app, image: x}]\n",
    )
    .expect("write");
    let out = bin()
        .args(["explain", "-o", "json", "-f"])
        .arg(&f)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(r["pods"][0]["verdict"], Value::Null);
    assert_eq!(r["pods"][0]["containers"][0]["verdict"], Value::Null);
}

#[test]
fn offline_several_pods_worst_first_with_a_summary_and_wide_events() {
    let mut text = String::new();
    for f in ["healthy.yaml", "readiness.yaml", "oom-killed.yaml"] {
        text.push_str("---\n");
        text.push_str(&std::fs::read_to_string(fixture(f)).expect("fixture"));
    }
    let out = bin()
        .args(["explain", "-o", "wide", "-f", "-"])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    let pos = |needle: &str| s.find(needle).unwrap_or_else(|| panic!("{needle} in {s}"));
    assert!(pos("pod default/web-7d4b9c-x2x8k") < pos("pod default/search-0"));
    assert!(pos("pod default/search-0") < pos("pod default/fine-1: healthy"));
    assert!(s.contains("BackOff (x5)"), "{s}");
    assert!(
        s.trim_end()
            .ends_with("3 pods: 1 failing, 1 with warnings, 1 healthy"),
        "{s}"
    );
}

#[test]
fn scripted_human_report_shows_the_previous_log_tail() {
    let (pod, events) = served("app-error.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(
            &format!("{PODS}/orders-0/log"),
            "starting orders service v2.3\nError: connect ECONNREFUSED 10.96.0.15:5432\n".into(),
        ),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    bin()
        .arg("--kubeconfig")
        .arg(fake.kubeconfig(dir.path()))
        .args(["explain", "orders-0"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "container orders: the application exited with code 1",
        ))
        .stdout(predicate::str::contains(
            "log (previous instance, last 2 lines):",
        ))
        .stdout(predicate::str::contains(
            "      | Error: connect ECONNREFUSED 10.96.0.15:5432",
        ))
        .stdout(predicate::str::contains(
            "restarts:          6 (back-off 5m0s)",
        ));
}

// ---------------------------------------------------------------------------------------------
// Live: the real binary against kubesim over HTTPS.

use kubesim::{Sim, SimOptions};

/// Every static fixture with a pod that a cluster would serve as is. (Pods caught while being deleted —
/// grace-shell, grace-prestop, pre-stop, preempted, taint — are gone once their containers stopped, on
/// a real cluster as in the simulator: they are covered from saved YAML and by the scripted server.)
const STATIC: &[&str] = &[
    "oom-killed.yaml",
    "node-oom.yaml",
    "liveness.yaml",
    "readiness.yaml",
    "startup.yaml",
    "post-start.yaml",
    "app-error.yaml",
    "multi-container.yaml",
    "sigterm.yaml",
    "completed.yaml",
    "image-pull.yaml",
    "config-error.yaml",
    "start-error.yaml",
    "init-failed.yaml",
    "unschedulable.yaml",
    "evicted.yaml",
    "node-shutdown.yaml",
    "node-lost.yaml",
    "deadline.yaml",
    "recreated.yaml",
    "events-expired.yaml",
    "healthy.yaml",
];

fn static_sim() -> Sim {
    let docs: Vec<String> = STATIC
        .iter()
        .map(|f| std::fs::read_to_string(fixture(f)).expect("fixture"))
        .collect();
    Sim::start(SimOptions {
        scenario_yaml: docs,
        ..Default::default()
    })
    .expect("simulator starts")
}

fn live(sim: &Sim) -> Command {
    let mut c = bin();
    c.arg("--kubeconfig").arg(sim.kubeconfig_path());
    c
}

fn live_json(sim: &Sim, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = live(sim)
        .arg("explain")
        .args(args)
        .args(["-o", "json"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code(), v, stderr)
}

fn find_pod<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("pod {name} in report"))
}

#[test]
fn live_every_cause_against_the_simulator() {
    let sim = static_sim();
    for (pod, container, cause) in [
        ("web-7d4b9c-x2x8k", "app", "oom-killed"),
        ("batch-worker", "worker", "node-oom"),
        ("cart-6f8d-q1w2e", "cart", "liveness-probe"),
        ("search-0", "search", "readiness-probe"),
        ("billing-1", "billing", "startup-probe"),
        ("worker-abc", "worker", "post-start-hook"),
        ("orders-0", "orders", "app-error"),
        ("zoo", "missing", "command-not-found"),
        ("zoo", "noexec", "not-executable"),
        ("zoo", "segv", "signal"),
        ("cron-runner", "runner", "sigterm"),
        ("api-6b7c-zzzzz", "api", "completed-unexpectedly"),
        ("web-new-1", "web", "image-pull"),
        ("payments-0", "payments", "config-error"),
        ("gw-1", "gw", "start-error"),
        ("db-0", "db", "app-error"),
    ] {
        let (code, r, err) = live_json(&sim, &[pod]);
        assert_eq!(code, Some(1), "{pod}: {err}");
        assert_eq!(
            container_cause(&r, container),
            cause,
            "{pod}/{container}: {r}"
        );
    }
    for (pod, cause) in [
        ("shop-db-client", "init-failed"),
        ("analytics-0", "unschedulable"),
        ("report-7f9-kk2lm", "evicted"),
        ("queue-2", "node-shutdown"),
        ("ingest-3", "node-lost"),
        ("nightly-report-x7k2p", "deadline-exceeded"),
    ] {
        let (code, r, err) = live_json(&sim, &[pod]);
        assert_eq!(code, Some(1), "{pod}: {err}");
        assert_eq!(pod_cause(&r), cause, "{pod}: {r}");
    }
    let (code, r, _) = live_json(&sim, &["fine-1"]);
    assert_eq!(code, Some(0));
    assert_eq!(r["pods"][0]["healthy"], true);
}

#[test]
fn live_namespace_sweep_lists_only_unhealthy_pods_worst_first() {
    let sim = static_sim();
    let (code, r, err) = live_json(&sim, &[]);
    assert_eq!(code, Some(1), "{err}");
    let names: Vec<&str> = r["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(!names.contains(&"fine-1"), "{names:?}");
    assert!(names.contains(&"web-7d4b9c-x2x8k"));
    assert!(names.contains(&"search-0"));
    // Failures before warnings (readiness only).
    let pos = |n: &str| names.iter().position(|x| *x == n).expect("listed");
    assert!(pos("zoo") < pos("search-0"), "{names:?}");
    // -A finds the same pods.
    let (_, all, _) = live_json(&sim, &["-A"]);
    assert_eq!(all["pods"].as_array().map(Vec::len), Some(names.len()));
}

#[test]
fn live_events_from_the_server_and_logs_of_the_previous_instance() {
    let sim = static_sim();
    let (_, r, _) = live_json(&sim, &["cart-6f8d-q1w2e"]);
    let p = find_pod(&r, "cart-6f8d-q1w2e");
    let reasons: Vec<&str> = p["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"Unhealthy") && reasons.contains(&"Killing"),
        "{reasons:?}"
    );

    let (_, r, _) = live_json(&sim, &["orders-0", "--tail", "2"]);
    let c = &r["pods"][0]["containers"][0];
    assert_eq!(c["logsFrom"], "previous");
    let logs = c["logs"].as_array().expect("logs");
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(c["verdict"]["evidence"]
        .to_string()
        .contains("ECONNREFUSED"));

    let (_, r, _) = live_json(&sim, &["orders-0", "--no-logs"]);
    assert_eq!(r["pods"][0]["containers"][0]["logs"], serde_json::json!([]));
}

#[test]
fn live_human_report_for_a_workload_target() {
    let sim = Sim::start(SimOptions {
        scenario_yaml: vec![CRASHY.to_string()],
        ..Default::default()
    })
    .expect("sim");
    let ok = sim.wait_until(std::time::Duration::from_secs(20), |s| {
        s.list("v1", "Pod", Some("default")).iter().any(|p| {
            p["status"]["containerStatuses"][0]["restartCount"]
                .as_i64()
                .unwrap_or(0)
                >= 1
        })
    });
    assert!(ok, "the simulated pod restarted");
    let (code, r, err) = live_json(&sim, &["deploy/crashy"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "app"), "app-error", "{r}");
    live(&sim)
        .args(["explain", "deploy/crashy"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "the application exited with code 3",
        ));
}

const CRASHY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: crashy, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: crashy}}
  template:
    metadata:
      labels: {app: crashy}
      annotations:
        kubesim.io/behavior: '{"app": {"crashAfter": "2s", "exitCode": 3, "message": "config file /etc/crashy.toml: missing key port", "logs": "loading config\nfatal: missing key port\n"}}'
    spec:
      containers:
      - {name: app, image: shop/crashy:1}
"#;

#[test]
fn live_degrades_without_permission_for_logs_or_events() {
    let sim = static_sim();
    let alice = sim.add_user("alice");
    sim.deny("alice", "get", "pods/log");
    let out = bin()
        .arg("--kubeconfig")
        .arg(&alice)
        .args(["explain", "orders-0", "-o", "json"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(container_cause(&r, "orders"), "app-error");
    assert!(
        r["pods"][0]["notes"]
            .to_string()
            .contains("logs: forbidden"),
        "{r}"
    );

    let bob = sim.add_user("bob");
    sim.deny("bob", "list", "events");
    let out = bin()
        .arg("--kubeconfig")
        .arg(&bob)
        .args(["explain", "cart-6f8d-q1w2e", "-o", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let notes = r["pods"][0]["notes"].to_string();
    assert!(notes.contains("events: forbidden"), "{notes}");
    // Without the events, the restart is not pinned on the liveness probe: it says so.
    assert_eq!(container_cause(&r, "cart"), "unclear");
}

#[test]
fn sim_missing_pod_is_exit_2() {
    let sim = static_sim();
    live(&sim)
        .args(["explain", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "pod nope not found in namespace default",
        ));
}

#[test]
fn live_recreated_pod_does_not_inherit_old_events() {
    let sim = static_sim();
    let (_, r, _) = live_json(&sim, &["db-0"]);
    assert_eq!(container_cause(&r, "db"), "app-error");
    assert!(
        r["pods"][0]["notes"].to_string().contains("recreated"),
        "{r}"
    );
}

#[test]
fn live_facts_agree_with_kubectl_describe() {
    let Some(kubectl) = kubesim::tools::kubectl("comparing explain with kubectl describe") else {
        return;
    };
    let sim = static_sim();
    for pod in ["web-7d4b9c-x2x8k", "orders-0", "zoo", "gw-1"] {
        let describe = std::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(sim.kubeconfig_path())
            .args(["describe", "pod", pod])
            .output()
            .expect("kubectl runs");
        assert!(
            describe.status.success(),
            "{}",
            String::from_utf8_lossy(&describe.stderr)
        );
        let text = String::from_utf8_lossy(&describe.stdout).to_string();
        let field = |name: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                .collect()
        };
        let (_, r, _) = live_json(&sim, &[pod]);
        let containers = r["pods"][0]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!containers.is_empty(), "{pod}: {r}");
        // describe lists containers in spec order, one "Restart Count:" each.
        let restarts: Vec<String> = containers
            .iter()
            .map(|c| c["restartCount"].to_string())
            .collect();
        assert_eq!(field("Restart Count:"), restarts, "{pod}: {text}");
        let exit_codes: Vec<String> = containers
            .iter()
            .filter_map(|c| c["lastTermination"]["exitCode"].as_i64())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(field("Exit Code:"), exit_codes, "{pod}: {text}");
        for c in &containers {
            for reason in [&c["lastTermination"]["reason"], &c["state"]["reason"]] {
                if let Some(reason) = reason.as_str() {
                    assert!(
                        field("Reason:").iter().any(|r| r == reason),
                        "{pod} {reason}: {text}"
                    );
                }
            }
            if let Some(m) = c["lastTermination"]["message"].as_str() {
                let first = m.lines().next().unwrap_or("");
                assert!(
                    field("Message:").iter().any(|x| x == first),
                    "{pod} message {first:?}: {text}"
                );
            }
        }
    }
}

const BEHAVIOURS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: probe, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: probe}}
  template:
    metadata:
      labels: {app: probe}
      annotations:
        kubesim.io/behavior: '{"app": {"livenessFailsAfter": "5s", "sigtermExit": "never"}}'
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: app
        image: shop/probe:1
        livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 10, failureThreshold: 3}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: unready, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: unready}}
  template:
    metadata:
      labels: {app: unready}
      annotations:
        kubesim.io/behavior: '{"app": {"neverReady": true}}'
    spec:
      containers:
      - name: app
        image: shop/unready:1
        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 10}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: pull, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: pull}}
  template:
    metadata:
      labels: {app: pull}
      annotations:
        kubesim.io/behavior: '{"app": {"imagePullError": "rpc error: code = NotFound desc = failed to pull and unpack image \"shop/pull:9.9\": not found"}}'
    spec:
      containers:
      - {name: app, image: "shop/pull:9.9"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: secretless, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: secretless}}
  template:
    metadata:
      labels: {app: secretless}
      annotations:
        kubesim.io/behavior: '{"app": {"configError": "secret \"api-token\" not found"}}'
    spec:
      containers:
      - {name: app, image: "shop/secretless:1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: oneshot, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: oneshot}}
  template:
    metadata:
      labels: {app: oneshot}
      annotations:
        kubesim.io/behavior: '{"app": {"crashAfter": "2s", "reason": "Completed", "exitCode": 0}}'
    spec:
      containers:
      - {name: app, image: "shop/oneshot:1", command: [/app/migrate]}
"#;

fn first_container_status(sim: &Sim, app: &str) -> Value {
    sim.list("v1", "Pod", Some("default"))
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == app)
        .map(|p| p["status"]["containerStatuses"][0].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn live_controller_pods_behaving_badly() {
    let sim = Sim::start(SimOptions {
        scenario_yaml: vec![BEHAVIOURS.to_string()],
        time_scale: 20.0,
        ..Default::default()
    })
    .expect("sim");
    let waited = sim.wait_until(Duration::from_secs(30), |s| {
        let restarted = |app: &str| {
            first_container_status(s, app)["restartCount"]
                .as_i64()
                .unwrap_or(0)
                >= 1
        };
        let waiting = |app: &str, reason: &str| {
            first_container_status(s, app)["state"]["waiting"]["reason"] == reason
        };
        restarted("probe")
            && restarted("oneshot")
            && (waiting("pull", "ImagePullBackOff") || waiting("pull", "ErrImagePull"))
            && waiting("secretless", "CreateContainerConfigError")
            && s.list("v1", "Event", Some("default")).iter().any(|e| {
                e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Readiness probe failed"))
            })
    });
    assert!(waited, "the simulated pods reached their states");
    for (target, cause) in [
        ("deploy/probe", "liveness-probe"),
        ("deploy/unready", "readiness-probe"),
        ("deploy/pull", "image-pull"),
        ("deploy/secretless", "config-error"),
        ("deploy/oneshot", "completed-unexpectedly"),
    ] {
        let (code, r, err) = live_json(&sim, &[target]);
        assert_eq!(code, Some(1), "{target}: {err}");
        assert_eq!(container_cause(&r, "app"), cause, "{target}: {r}");
    }
    // The registry's message decides the advice, even when the latest event only says ImagePullBackOff.
    let (_, r, _) = live_json(&sim, &["deploy/pull"]);
    assert!(
        r["pods"][0]["containers"][0]["verdict"]["action"]
            .to_string()
            .contains("does not exist"),
        "{r}"
    );
    let (_, r, _) = live_json(&sim, &["deploy/secretless"]);
    assert!(
        r["pods"][0]["containers"][0]["verdict"]["summary"]
            .to_string()
            .contains("api-token"),
        "{r}"
    );
}

#[test]
fn live_bad_release_after_a_rollout_restart() {
    let Some(kubectl) = kubesim::tools::kubectl("kubectl rollout restart") else {
        return;
    };
    let scenario = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata:
      labels: {app: shop}
      annotations:
        kubesim.io/behavior: '{"app": {"readyAfter": "1s"}}'
        kubesim.io/rollout-behavior: '{"app": {"crashAfter": "3s", "reason": "OOMKilled", "logs": "warming cache\n"}}'
    spec:
      containers:
      - name: app
        image: shop/shop:2
        resources: {limits: {memory: 128Mi}}
"#;
    let sim = Sim::start(SimOptions {
        scenario_yaml: vec![scenario.to_string()],
        time_scale: 20.0,
        ..Default::default()
    })
    .expect("sim");
    let ready = sim.wait_until(Duration::from_secs(20), |s| {
        s.get("apps/v1", "Deployment", Some("default"), "shop")
            .is_some_and(|d| d["status"]["readyReplicas"] == 2)
    });
    assert!(ready, "the first release is ready");
    live(&sim)
        .args(["explain", "deploy/shop"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("healthy (1/1 ready, 0 restarts)"));
    let restart = std::process::Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(["rollout", "restart", "deploy/shop"])
        .output()
        .expect("kubectl runs");
    assert!(
        restart.status.success(),
        "{}",
        String::from_utf8_lossy(&restart.stderr)
    );
    let crashed = sim.wait_until(Duration::from_secs(30), |s| {
        s.list("v1", "Pod", Some("default")).iter().any(|p| {
            p["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
        })
    });
    assert!(crashed, "the new release crashed");
    let (code, r, err) = live_json(&sim, &["deploy/shop"]);
    assert_eq!(code, Some(1), "{err}");
    // Worst first: the crashing new pod leads, the old healthy pods follow.
    let first = &r["pods"][0];
    assert_eq!(first["healthy"], false, "{r}");
    assert_eq!(container_cause(&r, "app"), "oom-killed", "{r}");
    assert!(
        first["containers"][0]["logs"]
            .to_string()
            .contains("warming cache"),
        "{r}"
    );
}

#[test]
fn live_job_target_and_label_selector() {
    let sim = static_sim();
    let (code, r, err) = live_json(&sim, &["job/nightly-report"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(pod_cause(&r), "deadline-exceeded", "{r}");
    // The Job was read because the pod failed: its condition is part of the evidence.
    assert!(
        r["pods"][0]["verdict"]["evidence"]
            .to_string()
            .contains("Job was active longer than specified deadline"),
        "{r}"
    );
    assert_eq!(r["pods"][0]["owner"], "Job/nightly-report");

    // -l reports every matching pod, healthy ones too.
    let (code, r, err) = live_json(&sim, &["-l", "app=web"]);
    assert_eq!(code, Some(1), "{err}");
    let names: Vec<&str> = r["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, vec!["web-7d4b9c-x2x8k"]);
    let (code, r, _) = live_json(&sim, &["-l", "app=nothing"]);
    assert_eq!(code, Some(0));
    assert_eq!(r["pods"], serde_json::json!([]));
    live(&sim)
        .args(["explain", "-l", "app=nothing"])
        .assert()
        .code(0)
        .stdout("no pods match app=nothing in namespace default\n");
}

#[test]
fn live_a_pod_caught_while_stopping_is_warned_about_sigkill() {
    let scenario = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: stubborn, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: stubborn}}
  template:
    metadata:
      labels: {app: stubborn}
      annotations:
        kubesim.io/behavior: '{"app": {"readyAfter": "1s", "sigtermExit": "never"}}'
    spec:
      terminationGracePeriodSeconds: 120
      containers:
      - name: app
        image: shop/stubborn:1
        command: [sh, -c, "java -jar /app/app.jar"]
"#;
    let sim = Sim::start(SimOptions {
        scenario_yaml: vec![scenario.to_string()],
        ..Default::default()
    })
    .expect("sim");
    let pod_name = || -> Option<String> {
        sim.list("v1", "Pod", Some("default"))
            .into_iter()
            .find(|p| p["status"]["containerStatuses"][0]["ready"] == true)
            .and_then(|p| p["metadata"]["name"].as_str().map(str::to_string))
    };
    assert!(sim.wait_until(Duration::from_secs(20), |_| pod_name().is_some()));
    let name = pod_name().expect("a ready pod");
    assert!(sim.delete("v1", "Pod", Some("default"), &name));
    let stopping = sim.wait_until(Duration::from_secs(10), |s| {
        s.list("v1", "Event", Some("default"))
            .iter()
            .any(|e| e["reason"] == "Killing" && e["involvedObject"]["name"] == name.as_str())
    });
    assert!(stopping, "the kubelet began stopping the pod");
    // 120s of sim time is 12s of real time: the pod is still there, its app still running.
    let (code, r, err) = live_json(&sim, &[&name]);
    assert_eq!(code, Some(1), "{err}");
    let c = &r["pods"][0]["containers"][0];
    assert_eq!(c["verdict"]["cause"], "terminating", "{r}");
    assert_eq!(c["verdict"]["severity"], "warning");
    let ev = c["verdict"]["evidence"].to_string();
    assert!(ev.contains("Stopping container app"), "{ev}");
    assert!(ev.contains("PID 1 is a shell"), "{ev}");
}

#[test]
fn live_several_targets_one_missing() {
    let sim = static_sim();
    let out = live(&sim)
        .args(["explain", "orders-0", "nope", "fine-1", "-o", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pod nope not found in namespace default"),
        "{stderr}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = r["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, vec!["orders-0", "fine-1"]);
}

#[test]
fn live_a_node_gone_not_ready_or_missing() {
    let text = std::fs::read_to_string(fixture("node-not-ready.yaml")).expect("fixture");
    let sim = Sim::start(SimOptions {
        scenario_yaml: vec![text],
        ..Default::default()
    })
    .expect("sim");
    let (code, r, err) = live_json(&sim, &["stream-0"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(pod_cause(&r), "node-lost", "{r}");
    let ev = r["pods"][0]["verdict"]["evidence"].to_string();
    assert!(
        ev.contains(
            "node node-9: Ready=Unknown NodeStatusUnknown: Kubelet stopped posting node status."
        ),
        "{ev}"
    );

    let (code, r, err) = live_json(&sim, &["orphan-0"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(pod_cause(&r), "node-lost", "{r}");
    assert!(
        r["pods"][0]["verdict"]["evidence"]
            .to_string()
            .contains("node node-gone no longer exists"),
        "{r}"
    );

    // Without permission to read nodes, the section degrades to a note.
    let carol = sim.add_user("carol");
    sim.deny("carol", "get", "nodes");
    let out = bin()
        .arg("--kubeconfig")
        .arg(&carol)
        .args(["explain", "stream-0", "-o", "json"])
        .output()
        .expect("runs");
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        r["pods"][0]["notes"]
            .to_string()
            .contains("node node-9: forbidden"),
        "{r}"
    );
}
