//! API-level tests through kube-rs (watch replay / 410, pagination, patches, auth, faults, shutdown).

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config};
use kubesim::scenarios::patched;
use kubesim::Sim;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

async fn client_for(path: &Path) -> Client {
    Client::try_from(config(path).await).unwrap()
}

/// kube-rs retries 429/503/504 (up to 15 times, exponential back-off) by default; the eviction
/// 429 (no Retry-After, like the real server) is checked with retries off.
async fn client_no_retry(path: &Path) -> Client {
    let mut cfg = config(path).await;
    cfg.default_retry = false;
    Client::try_from(cfg).unwrap()
}

async fn config(kubeconfig: &Path) -> Config {
    let kc = Kubeconfig::read_from(kubeconfig).unwrap();
    Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap()
}

/// The objects of kind `K` in namespace `default`, as the admin sees them.
async fn in_default<K>(sim: &Sim) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    Api::namespaced(client_for(sim.kubeconfig_path()).await, "default")
}

/// A watch of `api`'s pods from resourceVersion 0: every pod first, as ADDED.
async fn watch_from_0(api: &Api<Pod>) -> BoxStream<'static, kube::Result<WatchEvent<Pod>>> {
    api.watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed()
}

fn pod_yaml(name: &str, behavior: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: default\n  labels: {{app: solo, tier: fe}}\n  annotations:\n    kubesim.io/behavior: '{behavior}'\nspec:\n  terminationGracePeriodSeconds: 10\n  containers:\n  - name: app\n    image: busybox:1.36\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pagination_and_selectors() {
    let mut yaml = String::new();
    for i in 0..7 {
        yaml.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, namespace: default, labels: {{n: \"{}\"}}}}\ndata: {{k: v}}\n", i % 2));
    }
    let sim = Sim::with_scenario_at(&yaml, 10.0);
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = in_default(&sim).await;
    let mut names = vec![];
    let mut lp = ListParams::default().limit(3);
    let mut pages = 0;
    loop {
        let l = api.list(&lp).await.unwrap();
        pages += 1;
        names.extend(l.items.iter().map(|i| i.metadata.name.clone().unwrap()));
        match l.metadata.continue_ {
            Some(t) if !t.is_empty() => lp = lp.continue_token(&t),
            _ => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 7);
    let all = ListParams::default();
    for (params, want) in [
        (all.clone().labels("n=1"), 3),
        (all.clone().labels("n in (0,1),n!=1"), 4),
        (all.clone().fields("metadata.name=cm-2"), 1),
    ] {
        let l = api.list(&params).await.unwrap();
        assert_eq!(l.items.len(), want, "{params:?}");
    }
    // bad field selector → 400
    let e = api
        .list(&ListParams::default().fields("spec.bogus=1"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 400),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_replay_and_gone() {
    let sim = Sim::with_scenario_at(&pod_yaml("p1", "{}"), 20.0);
    let api: Api<Pod> = in_default(&sim).await;
    let l = api.list(&ListParams::default()).await.unwrap();
    let rv = l.metadata.resource_version.unwrap();
    // create a pod after the list: the watch from rv replays it
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "p2"}, "spec": {"containers": [{"name": "app", "image": "x:1"}]}})).unwrap();
    api.create(&PostParams::default(), &p).await.unwrap();
    let mut s = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    let mut saw_added = false;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(5), s.try_next())
        .await
        .unwrap()
        .unwrap()
    {
        if let WatchEvent::Added(p) = ev {
            if p.metadata.name.as_deref() == Some("p2") {
                saw_added = true;
                break;
            }
        }
    }
    assert!(saw_added);
    // expire: old RVs get a 410 ERROR event
    sim.faults().expire_resource_versions();
    let mut s = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    match s.try_next().await.unwrap().unwrap() {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected 410, got {other:?}"),
    }
    // kube-rs' watcher copes (relists) and sees the pods
    let w = watcher(api.clone(), watcher::Config::default()).boxed();
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        w.try_filter(|e| futures::future::ready(matches!(e, watcher::Event::InitDone)))
            .next(),
    )
    .await;
    assert!(got.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_from_beyond_the_watch_cache_window_gets_410() {
    // watch_cache.go: a resource keeps at least its last 100 events; once it is full and those
    // are older than 75 s, the oldest go, and a watch from before them is "too old".
    let sim = Sim::with_scenario_at("", 10.0);
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = in_default(&sim).await;
    let create = |i: usize| {
        let api = api.clone();
        async move {
            let cm = serde_json::from_value(
                json!({"metadata": {"name": format!("cm-{i}")}, "data": {"k": "v"}}),
            )
            .unwrap();
            api.create(&PostParams::default(), &cm).await.unwrap()
        }
    };
    let first = create(0).await.metadata.resource_version.unwrap();
    for i in 1..100 {
        create(i).await;
    }
    // A quiet resource: an hour later the window still reaches back to the first event.
    sim.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let watch_from = |rv: String| {
        let api = api.clone();
        async move {
            let mut s = api
                .watch(&WatchParams::default().timeout(5), &rv)
                .await
                .unwrap()
                .boxed();
            tokio::time::timeout(Duration::from_secs(5), s.try_next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
        }
    };
    assert!(
        matches!(watch_from(first.clone()).await, WatchEvent::Added(_)),
        "replayed from the cache"
    );
    // More events than the cache holds: the first ones are gone.
    for i in 100..130 {
        create(i).await;
    }
    match watch_from(first).await {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected 410, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_and_conflicts() {
    let web = patched(
        include_str!("fixtures/web.yaml"),
        r#"
metadata: {labels: {a: "1"}}
spec:
  replicas: 1
  template:
    spec:
      containers: [{name: app, image: "nginx:1.27"}, {name: side, image: "envoy:1"}]
"#,
    );
    let sim = Sim::with_scenario_at(&web, 20.0);
    let api: Api<Deployment> = in_default(&sim).await;
    let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "envoy:2"}]}}}});
    let d = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(&smp))
        .await
        .unwrap();
    let cs = &d
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers;
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0].image.as_deref(), Some("nginx:1.27"));
    assert_eq!(cs[1].image.as_deref(), Some("envoy:2"));
    assert_eq!(d.metadata.generation, Some(2));
    let d = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": null, "b": "2"}}})),
        )
        .await
        .unwrap();
    let labels = d.metadata.labels.unwrap();
    assert!(!labels.contains_key("a") && labels["b"] == "2");
    let jp: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/replicas", "value": 2}]))
            .unwrap();
    let d = api
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(jp))
        .await
        .unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(2));
    // PUT with a stale resourceVersion → 409
    // The controller writes status concurrently (a new resourceVersion each time), so the first PUT
    // itself may meet a 409: retry it, as any client would; `stale` stays stale either way.
    let mut stale = api.get("web").await.unwrap();
    for attempt in 0.. {
        let mut cur = api.get("web").await.unwrap();
        if attempt == 0 {
            stale = cur.clone();
        }
        cur.spec.as_mut().unwrap().replicas = Some(3);
        match api.replace("web", &PostParams::default(), &cur).await {
            Ok(_) => break,
            Err(kube::Error::Api(e)) if e.code == 409 && attempt < 20 => continue,
            Err(e) => panic!("replace: {e}"),
        }
    }
    let e = api
        .replace("web", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{e:?}"
    );
    let e = api.get("nope").await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 404 && s.message == "deployments.apps \"nope\" not found"),
        "{e:?}"
    );
    // managedFields record the manager
    let d = sim.get("apps/v1", "Deployment", None, "web").unwrap();
    assert!(d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["operation"] == "Update"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_exit_codes() {
    // handles SIGTERM in 2s → exit 0; ignores SIGTERM → SIGKILL at grace (10s) → 137; preStop + dies on SIGTERM → 143
    let yaml = [
        pod_yaml("good", r#"{"sigtermExit": "2s"}"#),
        pod_yaml("stubborn", r#"{"sigtermExit": "never"}"#),
        pod_yaml("dies", r#"{"diesOnSigterm": true, "preStopFails": true}"#),
    ]
    .join("---\n");
    let sim = Sim::with_scenario_at(&yaml, 20.0);
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .list("v1", "Pod", None)
        .iter()
        .all(|p| p["status"]["phase"] == "Running")));
    let c = client_for(sim.kubeconfig_path()).await;
    let api: Api<Pod> = Api::namespaced(c.clone(), "default");
    let mut w = watch_from_0(&api).await;
    for n in ["good", "stubborn", "dies"] {
        api.delete(n, &DeleteParams::default()).await.unwrap();
    }
    let p = sim.get("v1", "Pod", None, "stubborn").unwrap();
    assert!(p["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 10);
    let mut finals = std::collections::HashMap::new();
    while finals.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), w.try_next())
            .await
            .expect("timeout")
            .unwrap()
            .unwrap();
        if let WatchEvent::Deleted(p) = ev {
            let cs = &p
                .status
                .as_ref()
                .unwrap()
                .container_statuses
                .as_ref()
                .unwrap()[0];
            let t = cs.state.as_ref().unwrap().terminated.clone().unwrap();
            finals.insert(
                p.metadata.name.clone().unwrap(),
                (
                    t.exit_code,
                    t.reason.unwrap_or_default(),
                    t.finished_at.unwrap().0,
                    p.metadata.deletion_timestamp.unwrap().0,
                ),
            );
        }
    }
    assert_eq!(finals["good"].0, 0);
    assert_eq!(finals["good"].1, "Completed");
    assert_eq!(finals["stubborn"].0, 137);
    assert_eq!(finals["stubborn"].1, "Error");
    assert_eq!(
        finals["stubborn"].2, finals["stubborn"].3,
        "SIGKILL at deletionTimestamp"
    );
    assert_eq!(finals["dies"].0, 143);
    let evs = sim.list("v1", "Event", None);
    assert!(evs
        .iter()
        .any(|e| e["reason"] == "FailedPreStopHook" && e["involvedObject"]["name"] == "dies"));
    assert_eq!(evs.iter().filter(|e| e["reason"] == "Killing").count(), 3);
    // events.k8s.io view of the same events
    let ev2 = sim.list("events.k8s.io/v1", "Event", None);
    assert_eq!(ev2.len(), evs.len());
    assert!(ev2.iter().any(|e| e["regarding"]["name"] == "dies"
        && e["note"] == "PreStopHook failed"
        && e["deprecatedCount"] == 1));
    let evapi: Api<Event> = Api::namespaced(c.clone(), "default");
    let l = evapi
        .list(&ListParams::default().fields("involvedObject.name=good,reason=Killing"))
        .await
        .unwrap();
    assert_eq!(l.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_server_restart() {
    let sim = Sim::with_scenario_at(&pod_yaml("p1", "{}"), 10.0);
    let api: Api<Pod> = in_default(&sim).await;
    sim.faults().fail("GET", "/pods/p1", 500, 1);
    let e = api.get("p1").await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 500),
        "{e:?}"
    );
    api.get("p1").await.unwrap();
    sim.faults().set_latency(Duration::from_millis(200));
    let t = std::time::Instant::now();
    api.get("p1").await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200));
    sim.faults().clear();
    // watches get dropped
    let mut w = watch_from_0(&api).await;
    let _ = w.try_next().await.unwrap();
    sim.faults().drop_watches();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = w.try_next().await {}
    })
    .await;
    assert!(end.is_ok());
    // stop / restart keeps state
    tokio::task::block_in_place(|| sim.stop_server());
    assert!(api.get("p1").await.is_err());
    tokio::task::block_in_place(|| sim.restart_server());
    let c2 = client_for(sim.kubeconfig_path()).await;
    let api2: Api<Pod> = Api::namespaced(c2, "default");
    api2.get("p1").await.unwrap();
    let reqs = sim.requests();
    assert!(reqs.iter().any(|r| r.status == 500 && r.method == "GET"));
    assert!(reqs.iter().any(|r| r.watch));
    sim.clear_requests();
    assert!(sim.requests().is_empty());
}

#[test]
fn static_scenario_served_as_loaded() {
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata:
  name: old-api
  namespace: shop
  uid: 11111111-2222-3333-4444-555555555555
  creationTimestamp: "2025-01-01T10:00:00Z"
  annotations:
    kubesim.io/previous-logs: |
      app: "panic: nil map\n"
spec:
  nodeName: node-2
  containers: [{name: app, image: "shop/api:1.0"}]
status:
  phase: Running
  containerStatuses:
  - name: app
    image: shop/api:1.0
    ready: false
    restartCount: 4
    state: {waiting: {reason: CrashLoopBackOff, message: "back-off 1m20s restarting failed container=app"}}
    lastState: {terminated: {exitCode: 2, reason: Error, startedAt: "2025-01-01T10:05:00Z", finishedAt: "2025-01-01T10:05:03Z"}}
---
apiVersion: v1
kind: Event
metadata: {name: old-api.1, namespace: shop}
involvedObject: {kind: Pod, name: old-api, namespace: shop, uid: 11111111-2222-3333-4444-555555555555}
reason: BackOff
message: Back-off restarting failed container app in pod old-api_shop(11111111-2222-3333-4444-555555555555)
type: Warning
count: 12
firstTimestamp: "2025-01-01T10:01:00Z"
lastTimestamp: "2025-01-01T10:06:00Z"
source: {component: kubelet, host: node-2}
"#;
    let sim = Sim::with_scenario_at(yaml, 10.0);
    std::thread::sleep(Duration::from_millis(300));
    let p = sim.get("v1", "Pod", Some("shop"), "old-api").unwrap();
    assert_eq!(p["metadata"]["uid"], "11111111-2222-3333-4444-555555555555");
    assert_eq!(p["metadata"]["creationTimestamp"], "2025-01-01T10:00:00Z");
    assert_eq!(p["status"]["containerStatuses"][0]["restartCount"], 4);
    assert_eq!(
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "CrashLoopBackOff"
    );
    assert!(sim.get("v1", "Namespace", None, "shop").is_some());
    let e = sim.get("v1", "Event", Some("shop"), "old-api.1").unwrap();
    assert_eq!(e["count"], 12);
    // deleting it hands it to the kubelet, which terminates it
    assert!(sim.delete("v1", "Pod", Some("shop"), "old-api"));
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("v1", "Pod", Some("shop"), "old-api")
        .is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_api() {
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata:
  name: two
  namespace: default
  annotations:
    kubesim.io/behavior: '{"app": {"logs": "one\ntwo\nthree\n", "crashAfter": "4s"}, "side": {"logs": "proxy up\n"}}'
spec:
  containers: [{name: app, image: "app:1"}, {name: side, image: "envoy:1"}]
"#;
    let sim = Sim::with_scenario_at(yaml, 10.0);
    let api: Api<Pod> = in_default(&sim).await;
    use kube::api::LogParams;
    let ok = tokio::task::block_in_place(|| {
        sim.wait_until(Duration::from_secs(5), |s| {
            s.get("v1", "Pod", None, "two").unwrap()["status"]["containerStatuses"][0]["state"]
                ["running"]
                .is_object()
        })
    });
    assert!(ok);
    let e = api.logs("two", &LogParams::default()).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 400 && s.message == "a container name must be specified for pod two, choose one of: [app side]"),
        "{e:?}"
    );
    // The log options for one container of `two`, with `set` applied.
    let of = |container: &str, set: fn(&mut LogParams)| {
        let mut params = LogParams {
            container: Some(container.into()),
            ..Default::default()
        };
        set(&mut params);
        params
    };
    let logs = |params: LogParams| {
        let api = api.clone();
        async move { api.logs("two", &params).await }
    };
    let e = logs(of("app", |p| p.previous = true)).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 400 && s.message == "previous terminated container \"app\" in pod \"two\" not found"),
        "{e:?}"
    );
    let tail = of("app", |p| p.tail_lines = Some(2));
    assert_eq!(logs(tail).await.unwrap(), "two\nthree\n");
    let limited = of("app", |p| p.limit_bytes = Some(5));
    assert_eq!(logs(limited).await.unwrap(), "one\nt");
    let l = logs(of("side", |p| p.timestamps = true)).await.unwrap();
    let (ts, rest) = l.split_once(' ').unwrap();
    assert!(ts.parse::<jiff::Timestamp>().is_ok(), "{ts}");
    assert_eq!(rest, "proxy up\n");
    // follow ends when the container exits (crash after 4s sim = 0.4s real)
    let t = std::time::Instant::now();
    let follow = of("app", |p| p.follow = true);
    let mut s = api.log_stream("two", &follow).await.unwrap();
    let mut all = Vec::new();
    use futures::AsyncReadExt;
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut all))
        .await
        .expect("follow should end")
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&all), "one\ntwo\nthree\n");
    assert!(t.elapsed() < Duration::from_secs(5));
    let ok = tokio::task::block_in_place(|| {
        sim.wait_until(Duration::from_secs(5), |s| {
            s.get("v1", "Pod", None, "two").unwrap()["status"]["containerStatuses"][0]
                ["restartCount"]
                == 1
        })
    });
    assert!(ok);
    let previous = of("app", |p| p.previous = true);
    assert_eq!(logs(previous).await.unwrap(), "one\ntwo\nthree\n");
    let last_hour = of("side", |p| p.since_seconds = Some(3600));
    assert_eq!(logs(last_hour).await.unwrap(), "proxy up\n");
    let last_second = of("side", |p| p.since_seconds = Some(1));
    assert_eq!(logs(last_second).await.unwrap(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_legacy_and_aggregated() {
    let sim = Sim::with_scenario_at("", 10.0);
    let c = client_for(sim.kubeconfig_path()).await;
    let v = c.apiserver_version().await.unwrap();
    assert_eq!(v.git_version, "v1.33.2");
    for aggregated in [false, true] {
        let d = kube::discovery::Discovery::new(c.clone());
        let d = if aggregated {
            d.run_aggregated().await.unwrap()
        } else {
            d.run().await.unwrap()
        };
        let (ar, caps) = d
            .resolve_gvk(&kube::api::GroupVersionKind::gvk(
                "apps",
                "v1",
                "Deployment",
            ))
            .expect("deployments");
        assert_eq!(ar.plural, "deployments");
        assert!(
            caps.subresources
                .iter()
                .any(|(s, _)| s.plural == "deployments/scale" || s.plural == "scale"),
            "{:?}",
            caps.subresources
        );
        assert!(d
            .resolve_gvk(&kube::api::GroupVersionKind::gvk("", "v1", "Pod"))
            .is_some());
        assert!(d
            .resolve_gvk(&kube::api::GroupVersionKind::gvk(
                "policy",
                "v1",
                "PodDisruptionBudget"
            ))
            .is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_401_403_and_selector_watch() {
    let sim = Sim::with_scenario_at(&pod_yaml("p1", "{}"), 10.0);
    // 401 with a bad token
    let kc = std::fs::read_to_string(sim.kubeconfig_path()).unwrap();
    let bad = sim.kubeconfig_path().with_file_name("bad-kubeconfig");
    let tok_line = kc
        .lines()
        .find(|l| l.trim_start().starts_with("token:"))
        .unwrap()
        .to_string();
    std::fs::write(&bad, kc.replace(&tok_line, "    token: nope")).unwrap();
    let api: Api<Pod> = Api::namespaced(client_for(&bad).await, "default");
    let e = api.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 401 && s.reason == "Unauthorized"),
        "{e:?}"
    );
    // 403 with the RBAC-style message
    let alice = sim.add_user("alice");
    sim.deny("alice", "list", "pods");
    sim.deny("alice", "*", "nodes");
    let c = client_for(&alice).await;
    let api: Api<Pod> = Api::namespaced(c.clone(), "default");
    let e = api.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 403 && s.reason == "Forbidden" && s.message == "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""),
        "{e:?}"
    );
    api.get("p1").await.unwrap();
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(c.clone());
    let e = nodes.get("node-1").await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 403 && s.message == "nodes \"node-1\" is forbidden: User \"alice\" cannot get resource \"nodes\" in API group \"\" at the cluster scope"),
        "{e:?}"
    );
    // a label-selector watch sees an object leave the selection as DELETED
    let admin: Api<Pod> = Api::namespaced(client_for(sim.kubeconfig_path()).await, "default");
    let mut w = admin
        .watch(&WatchParams::default().labels("tier=fe").timeout(10), "0")
        .await
        .unwrap()
        .boxed();
    assert!(matches!(
        w.try_next().await.unwrap().unwrap(),
        WatchEvent::Added(_)
    ));
    admin
        .patch(
            "p1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "be"}}})),
        )
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), w.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Deleted(p) => {
                assert_eq!(p.metadata.labels.unwrap()["tier"], "be");
                break;
            }
            WatchEvent::Modified(_) | WatchEvent::Bookmark(_) => continue,
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_api_and_pdb() {
    // A bare pod: an integer minAvailable counts it; maxUnavailable counts only pods with a
    // controller (disruption.go getExpectedPodCount), so that budget expects none.
    let yaml = format!(
        "{}---\n{}---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: solo-pdb, namespace: default}}\nspec:\n  minAvailable: 1\n  selector: {{matchLabels: {{app: solo}}}}\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: bare-pdb, namespace: default}}\nspec:\n  maxUnavailable: 1\n  selector: {{matchLabels: {{app: bare}}}}\n",
        pod_yaml("p1", r#"{"sigtermExit": "8s"}"#),
        pod_yaml("p2", "{}").replace("app: solo", "app: bare")
    );
    let sim = Sim::with_scenario_at(&yaml, 10.0);
    let ok = tokio::task::block_in_place(|| {
        sim.wait_until(Duration::from_secs(10), |s| {
            ["solo-pdb", "bare-pdb"].iter().all(|n| {
                s.get("policy/v1", "PodDisruptionBudget", None, n)
                    .is_some_and(|p| p["status"]["currentHealthy"] == 1)
            })
        })
    });
    assert!(ok);
    let pdb = sim
        .get("policy/v1", "PodDisruptionBudget", None, "solo-pdb")
        .unwrap();
    assert_eq!(pdb["status"]["desiredHealthy"], 1);
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
    assert_eq!(pdb["status"]["expectedPods"], 1);
    let bare = sim
        .get("policy/v1", "PodDisruptionBudget", None, "bare-pdb")
        .unwrap();
    assert_eq!(bare["status"]["expectedPods"], 0, "{bare:#}");
    assert_eq!(bare["status"]["disruptionsAllowed"], 0, "{bare:#}");
    let api: Api<Pod> = Api::namespaced(client_no_retry(sim.kubeconfig_path()).await, "default");
    for (pod, cause) in [
        (
            "p1",
            "The disruption budget solo-pdb needs 1 healthy pods and has 1 currently",
        ),
        (
            "p2",
            "The disruption budget bare-pdb does not allow evicting pods currently",
        ),
    ] {
        let e = api
            .evict(pod, &kube::api::EvictParams::default())
            .await
            .unwrap_err();
        match e {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 429);
                assert_eq!(s.reason, "TooManyRequests");
                assert_eq!(
                    s.message,
                    "Cannot evict pod as it would violate the pod's disruption budget."
                );
                let d = s.details.expect("details");
                assert_eq!(d.causes[0].reason, "DisruptionBudget");
                assert_eq!(d.causes[0].message, cause);
            }
            other => panic!("{other:?}"),
        }
    }
    // relax the budget: once the controller has seen it, the eviction deletes gracefully with
    // DisruptionTarget and lists the pod as disrupted
    let pdbs: Api<k8s_openapi::api::policy::v1::PodDisruptionBudget> =
        Api::namespaced(client_for(sim.kubeconfig_path()).await, "default");
    pdbs.patch(
        "solo-pdb",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"minAvailable": 0}})),
    )
    .await
    .unwrap();
    let ok = tokio::task::block_in_place(|| {
        sim.wait_until(Duration::from_secs(10), |s| {
            s.get("policy/v1", "PodDisruptionBudget", None, "solo-pdb")
                .is_some_and(|p| p["status"]["disruptionsAllowed"] == 1)
        })
    });
    assert!(ok);
    api.evict("p1", &kube::api::EvictParams::default())
        .await
        .unwrap();
    let p = sim.get("v1", "Pod", None, "p1").unwrap();
    assert!(p["metadata"]["deletionTimestamp"].is_string());
    assert!(p["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "DisruptionTarget" && c["reason"] == "EvictionByEvictionAPI"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicting_unready_pods_follows_the_unhealthy_pod_eviction_policy() {
    // eviction.go: a pod that is not Ready may go without using the budget when the budget is
    // healthy (IfHealthyBudget) or always (AlwaysAllow); otherwise the budget decides.
    let pdb = |name: &str, app: &str, spec: &str| {
        format!("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {name}, namespace: default}}\nspec: {{selector: {{matchLabels: {{app: {app}}}}}, {spec}}}\n")
    };
    let unready = r#"{"neverReady": true}"#;
    let yaml = [
        pod_yaml("ok-1", "{}").replace("app: solo", "app: healthy"),
        pod_yaml("bad-1", unready).replace("app: solo", "app: healthy"),
        pdb("healthy", "healthy", "minAvailable: 1"),
        pod_yaml("ok-2", "{}").replace("app: solo", "app: short"),
        pod_yaml("bad-2", unready).replace("app: solo", "app: short"),
        pdb("short", "short", "minAvailable: 2"),
        pod_yaml("ok-3", "{}").replace("app: solo", "app: always"),
        pod_yaml("bad-3", unready).replace("app: solo", "app: always"),
        pdb(
            "always",
            "always",
            "minAvailable: 2, unhealthyPodEvictionPolicy: AlwaysAllow",
        ),
    ]
    .join("---\n");
    let sim = Sim::with_scenario_at(&yaml, 10.0);
    let ok = tokio::task::block_in_place(|| {
        sim.wait_until(Duration::from_secs(10), |s| {
            ["healthy", "short", "always"].iter().all(|n| {
                s.get("policy/v1", "PodDisruptionBudget", None, n)
                    .is_some_and(|p| p["status"]["currentHealthy"] == 1)
            }) && ["bad-1", "bad-2", "bad-3"].iter().all(|n| {
                s.get("v1", "Pod", None, n)
                    .is_some_and(|p| p["status"]["phase"] == "Running")
            })
        })
    });
    assert!(ok);
    let api: Api<Pod> = Api::namespaced(client_no_retry(sim.kubeconfig_path()).await, "default");
    let evict = |name: &'static str| {
        let api = api.clone();
        async move {
            match api.evict(name, &kube::api::EvictParams::default()).await {
                Ok(_) => 201,
                Err(kube::Error::Api(s)) => s.code,
                Err(e) => panic!("{e:?}"),
            }
        }
    };
    assert_eq!(evict("ok-1").await, 429, "the Ready pod needs the budget");
    assert_eq!(
        evict("bad-1").await,
        201,
        "healthy budget: the unready pod may go"
    );
    assert_eq!(
        evict("bad-2").await,
        429,
        "unhealthy budget: IfHealthyBudget refuses"
    );
    assert_eq!(evict("bad-3").await, 201, "AlwaysAllow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_accepts_but_answers_nothing_until_released() {
    let sim = Sim::with_scenario_at(&pod_yaml("p1", "{}"), 10.0);
    let api: Api<Pod> = in_default(&sim).await;
    let mut w = watch_from_0(&api).await;
    let _ = w.try_next().await.unwrap();
    sim.faults().hang(true);
    // A plain request gets no answer …
    let get = tokio::time::timeout(Duration::from_millis(800), api.get("p1")).await;
    assert!(get.is_err(), "answered while hung: {get:?}");
    // … and an open watch goes silent although something changed (events sent before the hang may still
    // be on their way: drain them first).
    while let Ok(Ok(Some(_))) = tokio::time::timeout(Duration::from_millis(300), w.try_next()).await
    {
    }
    let _ = tokio::task::block_in_place(|| sim.delete("v1", "Pod", Some("default"), "p1"));
    let ev = tokio::time::timeout(Duration::from_millis(800), w.try_next()).await;
    assert!(ev.is_err(), "a watch event while hung: {ev:?}");
    sim.faults().hang(false);
    api.get_opt("p1").await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), w.try_next()).await;
    assert!(ev.is_ok(), "the watch resumes once released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_requests_are_answered_once_released() {
    let sim = Sim::with_scenario_at(&pod_yaml("p1", "{}"), 10.0);
    let api: Api<Pod> = in_default(&sim).await;
    sim.faults().hold("GET", "/pods/p1");
    let held = tokio::spawn({
        let api = api.clone();
        async move { api.get("p1").await }
    });
    let t = std::time::Instant::now();
    while sim.faults().held() == 0 {
        assert!(t.elapsed() < Duration::from_secs(5), "never held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Other requests are answered meanwhile.
    api.list(&ListParams::default()).await.unwrap();
    assert!(!held.is_finished());
    sim.faults().release();
    held.await.unwrap().unwrap();
    assert_eq!(sim.faults().held(), 0);
}
