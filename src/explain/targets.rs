//! Which pods a live target names (a pod, a workload's pods, a selector) and the `-c` check: a
//! container name that none of them has is a usage error naming the containers there are.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::client::Kube;
use crate::error::{Error, Result};
use crate::selector::Selector;
use crate::target::Target;

use super::gather::ExplainOptions;

pub(crate) fn container_names(pod: &Pod) -> Vec<String> {
    let Some(s) = pod.spec.as_ref() else {
        return Vec::new();
    };
    s.init_containers
        .iter()
        .flatten()
        .chain(s.containers.iter())
        .map(|c| c.name.clone())
        .chain(
            s.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.name.clone()),
        )
        .collect()
}

/// `-c NAME` must name a container of the pod.
pub(crate) fn check_container(pod: &Pod, opts: &ExplainOptions) -> Result<()> {
    check_container_in(
        std::slice::from_ref(pod),
        opts,
        &format!("pod {}", pod.metadata.name.clone().unwrap_or_default()),
    )
}

/// `-c NAME` must name a container of at least one of the pods (`what` names them in the error).
pub(crate) fn check_container_in(pods: &[Pod], opts: &ExplainOptions, what: &str) -> Result<()> {
    let Some(c) = &opts.container else {
        return Ok(());
    };
    if pods.is_empty() {
        return Ok(());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut unique = BTreeSet::new();
    for p in pods {
        for n in container_names(p) {
            if &n == c {
                return Ok(());
            }
            if unique.insert(n.clone()) {
                seen.push(n);
            }
        }
    }
    Err(Error::usage(format!(
        "container {c:?} is not in {what} (containers: {})",
        seen.join(", ")
    )))
}

/// The pods a workload selects.
pub(crate) async fn workload_pods(kube: &Kube, ns: &str, t: &Target) -> Result<Vec<Pod>> {
    let what = format!("{} {}", t.kind.lower(), t.name);
    let object = kube
        .call(
            "get",
            &what,
            Some(ns),
            crate::workload::fetch::get(&kube.client, t.kind, ns, &t.name),
        )
        .await?;
    let selector = object.selector().cloned();
    let Some(sel) = selector.filter(|s| s.match_labels.is_some() || s.match_expressions.is_some())
    else {
        return Err(Error::other(
            format!("find the pods of {what}"),
            "it has no label selector",
        ));
    };
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let lp = ListParams::default().labels(&crate::selector::to_query(&sel)?);
    let pods = kube
        .call("list", &format!("pods of {what}"), Some(ns), api.list(&lp))
        .await?
        .items;
    // Belt and braces: a server that ignores the selector must not make us blame other pods.
    let s = Selector::from_label_selector(&sel);
    Ok(pods
        .into_iter()
        .filter(|p| s.matches(p.metadata.labels.as_ref()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_yaml::from_str(yaml).expect("fixture parses")
    }

    #[test]
    fn container_filter_must_name_a_container_of_some_pod() {
        let a = pod("metadata: {name: a}\nspec:\n  initContainers: [{name: init}]\n  containers: [{name: app}, {name: proxy}]\n");
        let b = pod("metadata: {name: b}\nspec:\n  containers: [{name: app}, {name: metrics}]\n");
        let opts = |c: &str| ExplainOptions {
            container: Some(c.into()),
            ..Default::default()
        };
        let err = check_container(&a, &opts("nope")).expect_err("unknown container");
        assert!(
            err.to_string()
                .contains("not in pod a (containers: init, app, proxy)"),
            "{err}"
        );
        assert!(
            check_container_in(&[a.clone(), b.clone()], &opts("metrics"), "deployment web").is_ok()
        );
        let err =
            check_container_in(&[a, b], &opts("nope"), "deployment web").expect_err("none has it");
        assert!(
            err.to_string()
                .contains("not in deployment web (containers: init, app, proxy, metrics)"),
            "{err}"
        );
        assert!(check_container_in(&[], &opts("nope"), "deployment web").is_ok());
    }
}
