use super::engine::{self, directive, Connection, Needs, Snapshot};
use super::*;
use crate::target::Kind;

fn words(s: &[&str]) -> Vec<String> {
    s.iter().map(|w| w.to_string()).collect()
}

fn root() -> clap::Command {
    let mut root = Cli::command();
    root.build();
    root
}

fn run(s: &[&str], snap: &Snapshot) -> engine::Completions {
    let root = root();
    let p = engine::parse(&root, &words(s));
    engine::complete(&p, snap)
}

fn values(s: &[&str], snap: &Snapshot) -> Vec<String> {
    run(s, snap)
        .values()
        .into_iter()
        .map(str::to_string)
        .collect()
}

fn needs(s: &[&str]) -> (Needs, Connection) {
    let root = root();
    let p = engine::parse(&root, &words(s));
    (p.needs(), p.connection())
}

fn cluster() -> Snapshot {
    let mut s = Snapshot {
        contexts: vec!["prod".into(), "staging".into()],
        clusters: vec!["c1".into()],
        users: vec!["admin".into()],
        namespaces: vec!["default".into(), "shop".into(), "kube-system".into()],
        ..Snapshot::default()
    };
    s.names.insert(
        Kind::Pod,
        vec!["web-1".into(), "web-2".into(), "db-0".into()],
    );
    s.names.insert(Kind::Deployment, vec!["web".into()]);
    s.names.insert(Kind::StatefulSet, vec!["db".into()]);
    s
}

#[test]
fn subcommands_with_their_about() {
    let c = run(&[""], &Snapshot::default());
    for s in ["explain", "diagnose", "restart", "completion"] {
        assert!(c.values().contains(&s), "{s}: {c:?}");
    }
    assert_eq!(c.directive, directive::NO_FILE_COMP);
    let r = c.render();
    assert!(
        r.contains("explain\tExplain why a pod or container died"),
        "{r}"
    );
    assert!(r.ends_with("\n:4\n"), "{r}");
    assert_eq!(values(&["re"], &Snapshot::default()), ["restart"]);
    // Global flags before the subcommand do not change that.
    let v = values(&["-n", "shop", "--context", "x", "d"], &Snapshot::default());
    assert_eq!(v, ["diagnose"]);
}

#[test]
fn flags_long_short_and_global_not_repeated() {
    let v = values(&["diagnose", "--fa"], &Snapshot::default());
    assert_eq!(v, ["--fail-on"]);
    let v = values(&["explain", "-"], &Snapshot::default());
    for f in [
        "-o",
        "--output",
        "-c",
        "--tail",
        "-n",
        "--context",
        "--kubeconfig",
    ] {
        assert!(v.contains(&f.to_string()), "{f}: {v:?}");
    }
    // Long only for `--`.
    let v = values(&["explain", "--"], &Snapshot::default());
    assert!(v.contains(&"--output".to_string()) && !v.contains(&"-o".to_string()));
    // Given once: not again (in either spelling) — unless repeatable.
    let v = values(
        &["explain", "-o", "json", "--context=x", "-v", "6", "--"],
        &Snapshot::default(),
    );
    assert!(!v.contains(&"--output".to_string()), "{v:?}");
    assert!(!v.contains(&"--context".to_string()), "{v:?}");
    assert!(!v.contains(&"--v".to_string()), "{v:?}");
    assert!(v.contains(&"--as-group".to_string()), "{v:?}");
    let v = values(
        &["diagnose", "--ignore", "bare-pod", "--ig"],
        &Snapshot::default(),
    );
    assert_eq!(v, ["--ignore"]);
    // Help text is the description.
    let r = run(&["diagnose", "--fail"], &Snapshot::default()).render();
    assert_eq!(
        r,
        "--fail-on\tLowest severity that makes the exit code 1\n:4\n"
    );
}

#[test]
fn possible_values_of_flags_in_both_forms() {
    let all = ["table", "wide", "json", "yaml"];
    assert_eq!(values(&["explain", "-o", ""], &Snapshot::default()), all);
    assert_eq!(
        values(&["explain", "--output", ""], &Snapshot::default()),
        all
    );
    // `--output=` form: bare values (cobra's scripts put the `--output=` back).
    assert_eq!(
        values(&["explain", "--output=j"], &Snapshot::default()),
        ["json"]
    );
    let v = values(&["diagnose", "--fail-on", ""], &Snapshot::default());
    assert_eq!(v, ["info", "warning", "error", "never"]);
    let v = values(&["completion", ""], &Snapshot::default());
    assert_eq!(v, ["bash", "zsh", "fish", "powershell", "kubectl"]);
}

#[test]
fn rules_for_explain_and_ignore() {
    let v = values(
        &["diagnose", "--explain", "prestop-m"],
        &Snapshot::default(),
    );
    assert_eq!(v, ["prestop-missing"]);
    let v = values(&["diagnose", "--ignore=single"], &Snapshot::default());
    assert_eq!(v, ["single-replica"]);
}

#[test]
fn filename_filters_manifest_extensions() {
    for w in [
        &["explain", "-f", ""][..],
        &["diagnose", "--filename", "k8s/"],
        &["diagnose", "--filename=k8s/"],
    ] {
        let c = run(w, &Snapshot::default());
        assert_eq!(c.directive, directive::FILTER_FILE_EXT, "{w:?}");
        assert_eq!(c.values(), ["yaml", "yml", "json"], "{w:?}");
    }
    // --kubeconfig: plain file completion.
    let c = run(&["--kubeconfig", ""], &Snapshot::default());
    assert_eq!((c.items.len(), c.directive), (0, directive::DEFAULT));
    // Free text: nothing, and no file names.
    let c = run(&["explain", "-l", ""], &Snapshot::default());
    assert_eq!((c.items.len(), c.directive), (0, directive::NO_FILE_COMP));
}

#[test]
fn kubeconfig_names_and_namespaces_from_the_snapshot() {
    let s = cluster();
    assert_eq!(values(&["--context", ""], &s), ["prod", "staging"]);
    assert_eq!(values(&["explain", "--context=st"], &s), ["staging"]);
    assert_eq!(values(&["--cluster", ""], &s), ["c1"]);
    assert_eq!(values(&["restart", "--user", ""], &s), ["admin"]);
    assert_eq!(values(&["-n", "s"], &s), ["shop"]);
    assert_eq!(
        values(&["explain", "--namespace", "kube"], &s),
        ["kube-system"]
    );
    // Nothing known: nothing offered, still no file names.
    let c = run(&["-n", ""], &Snapshot::default());
    assert_eq!((c.items.len(), c.directive), (0, directive::NO_FILE_COMP));
}

#[test]
fn explain_targets_pods_and_kind_prefixes() {
    let s = cluster();
    let c = run(&["explain", ""], &s);
    let v = c.values();
    for x in [
        "web-1", "web-2", "db-0", "deploy/", "sts/", "ds/", "rs/", "job/",
    ] {
        assert!(v.contains(&x), "{x}: {v:?}");
    }
    assert!(!v.contains(&"pod/"), "bare names are pods: {v:?}");
    assert_eq!(c.directive, directive::NO_FILE_COMP);
    // Only prefixes left: no space after `deploy/`.
    let c = run(&["explain", "d"], &s);
    assert_eq!(c.values(), ["db-0", "deploy/", "ds/"]);
    assert_eq!(c.directive & directive::NO_SPACE, 0);
    let c = run(&["explain", "de"], &s);
    assert_eq!(c.values(), ["deploy/"]);
    assert_eq!(c.directive, directive::NO_FILE_COMP | directive::NO_SPACE);
    // Names of a kind, in the spelling the user typed.
    assert_eq!(values(&["explain", "deploy/"], &s), ["deploy/web"]);
    assert_eq!(values(&["explain", "deployment/w"], &s), ["deployment/web"]);
    assert_eq!(values(&["explain", "sts/"], &s), ["sts/db"]);
    // A kind the command does not take: nothing.
    assert!(values(&["explain", "cronjob/"], &s).is_empty());
    // Already named: not offered again.
    let v = values(&["explain", "web-1", "web"], &s);
    assert_eq!(v, ["web-2"]);
}

#[test]
fn restart_and_diagnose_targets() {
    let s = cluster();
    let v = values(&["restart", ""], &s);
    assert_eq!(v, ["deploy/", "sts/", "ds/", "pod/"]);
    assert_eq!(values(&["restart", "deploy/"], &s), ["deploy/web"]);
    assert_eq!(
        values(&["restart", "pod/web"], &s),
        ["pod/web-1", "pod/web-2"]
    );
    assert!(values(&["restart", "rs/"], &s).is_empty());
    let v = values(&["diagnose", ""], &s);
    assert_eq!(v[0], "rules");
    assert!(v.contains(&"cronjob/".to_string()), "{v:?}");
    // `rules` only as the first target.
    let v = values(&["diagnose", "deploy/web", "r"], &s);
    assert_eq!(v, ["rs/"]);
}

#[test]
fn needs_only_what_the_word_asks_for() {
    let (n, _) = needs(&["explain", "-o", ""]);
    assert_eq!(n, Needs::default());
    let (n, _) = needs(&["diagnose", "--fa"]);
    assert!(!n.cluster() && !n.kubeconfig);
    let (n, _) = needs(&[""]);
    assert_eq!(n, Needs::default());
    let (n, _) = needs(&["--context", ""]);
    assert!(n.kubeconfig && !n.cluster());
    let (n, _) = needs(&["-n", ""]);
    assert!(n.namespaces);
    let (n, _) = needs(&["explain", ""]);
    assert_eq!(n.kinds, [Kind::Pod]);
    let (n, _) = needs(&["restart", ""]);
    assert!(!n.cluster(), "restart takes no bare names: {n:?}");
    let (n, _) = needs(&["restart", "sts/"]);
    assert_eq!(n.kinds, [Kind::StatefulSet]);
    let (n, _) = needs(&["restart", "svc/"]);
    assert!(!n.cluster());
    // Offline or all namespaces: no names to look up.
    let (n, _) = needs(&["explain", "-f", "pod.yaml", ""]);
    assert!(!n.cluster());
    let (n, _) = needs(&["explain", "-A", ""]);
    assert!(!n.cluster());
}

#[test]
fn connection_flags_from_the_words() {
    let (_, c) = needs(&[
        "--kubeconfig",
        "/k",
        "explain",
        "--context=prod",
        "-nshop",
        "-v=2",
        "",
    ]);
    assert_eq!(c.kubeconfig.as_deref(), Some("/k"));
    assert_eq!(c.context.as_deref(), Some("prod"));
    assert_eq!(c.namespace.as_deref(), Some("shop"));
    assert_eq!(c.verbose, 2);
    let (_, c) = needs(&["-n", "a", "explain", "--namespace", "b", ""]);
    assert_eq!(c.namespace.as_deref(), Some("b"), "the last one wins");
}

#[test]
fn odd_input_never_panics() {
    for w in [
        &[][..],
        &["--"],
        &["explain", "--", "-"],
        &["-"],
        &["--=x"],
        &["explain", "--nope=", ""],
        &["explain", "-o"],
        &["explain", "-\u{e9}", "x/"],
        &["explain", "/"],
        &["explain", "deploy/a\tb\nc"],
        &["help", ""],
        &["unknown", "words", ""],
    ] {
        let r = run(w, &cluster()).render();
        assert!(r.ends_with('\n'), "{w:?}");
        let last = r.lines().last().unwrap_or_default();
        assert!(last.starts_with(':'), "{w:?}: {r}");
    }
}

#[test]
fn values_and_descriptions_stay_on_one_line() {
    let s = Snapshot {
        namespaces: vec!["a\tb".into(), "c\nd".into()],
        ..Snapshot::default()
    };
    let r = run(&["-n", ""], &s).render();
    assert_eq!(r, "a b\tnamespace\nc\tnamespace\n:4\n");
}

#[test]
fn target_kinds_match_the_help() {
    // The kinds offered are the kinds each TARGET help names (which mirror the commands' own lists).
    let root = root();
    for sub in ["explain", "diagnose", "restart"] {
        let cmd = root.find_subcommand(sub).expect(sub);
        let help = cmd
            .get_positionals()
            .next()
            .and_then(|a| a.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let v = values(&[sub, ""], &Snapshot::default());
        for prefix in v.iter().filter(|p| p.ends_with('/')) {
            assert!(help.contains(prefix.as_str()), "{sub} {prefix}: {help}");
        }
        let n = help.matches("/,").count() + help.matches("/)").count();
        let offered = v.iter().filter(|p| p.ends_with('/')).count();
        let expected = if sub == "explain" { n - 1 } else { n };
        assert_eq!(offered, expected, "{sub}: {v:?} vs {help}");
    }
}

#[test]
fn kubectl_helper_is_a_sh_script() {
    let s = String::from_utf8(script(CompletionShell::Kubectl)).unwrap_or_default();
    assert!(s.starts_with("#!/bin/sh\n"));
    assert!(s.contains("exec kubectl-graceful __complete \"$@\""));
}

#[test]
fn bash_case_labels_match_the_state_names() {
    // clap_complete's bash script spells subcommand states `kubectl__graceful__subcmd__explain` in its
    // tracker but `kubectl__subcmd__graceful__subcmd__explain` in the case labels (clap-rs/clap#6421).
    let s = String::from_utf8(script(CompletionShell::Bash)).unwrap_or_default();
    assert!(!s.contains("kubectl__subcmd__graceful"), "unpatched");
    assert!(
        s.contains("cmd=\"kubectl__graceful__subcmd__explain\""),
        "{s}"
    );
    assert!(
        s.contains("\n        kubectl__graceful__subcmd__explain)\n"),
        "{s}"
    );
}

#[test]
fn nothing_follows_a_keyword_but_flags() {
    // `diagnose rules` takes no targets: neither names nor kind prefixes, and no cluster lookup.
    assert_eq!(
        values(&["diagnose", "rules", ""], &cluster()),
        Vec::<String>::new()
    );
    assert_eq!(needs(&["diagnose", "rules", ""]).0, Needs::default());
    // Before it, the keyword is offered with the targets.
    assert!(values(&["diagnose", ""], &cluster()).contains(&"rules".to_string()));
}

#[test]
fn fail_on_values_are_described() {
    let c = run(&["diagnose", "--fail-on", ""], &Snapshot::default()).render();
    for v in ["info", "warning", "error", "never"] {
        assert!(
            c.lines().any(|l| l.starts_with(&format!("{v}\t"))),
            "{v} without a description:\n{c}"
        );
    }
}
