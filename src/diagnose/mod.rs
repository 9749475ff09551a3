//! `kubectl graceful diagnose`: audits graceful-shutdown and zero-downtime settings of workloads, live
//! or from manifests.
//!
//! *gather* ([`gather`] for the cluster, [`input`] for files) → a [`Workload`] per object and the
//! [`Related`] objects around them, matched into one [`Context`] per workload ([`RelatedIndex`]) →
//! *analyse* ([`check`], pure; [`traffic`] decides who serves requests) → *render* ([`render`],
//! [`sarif`]).
//!
//! # Machine output (`-o json|yaml`)
//!
//! ```yaml
//! apiVersion: graceful.kubectl.io/v1alpha1
//! kind: DiagnoseReport
//! kubernetesVersion: "1.33"          # the version advice is for (server's, or --kube-version)
//! workloads:
//! - kind: Deployment
//!   namespace: shop
//!   name: web
//!   source: deploy/web.yaml:1        # file:line, or "cluster"
//!   findings:
//!   - rule: prestop-missing          # stable id (`diagnose rules`)
//!     severity: warning              # error | warning | info
//!     container: app                 # absent for workload-level findings; "a, b" when folded
//!     containers: [app, sidecar]     # only when one finding covers several containers
//!     field: spec.template.spec.containers[app].lifecycle.preStop
//!     message: no preStop pause although …
//!     why: When a pod is deleted, …  # the rule's rationale
//!     fix: |                         # YAML to paste (absent when there is none): a strategic-merge
//!       spec: …                      # patch of the object; other objects' parts say which (`# …`)
//! summary: {workloads: 1, errors: 0, warnings: 1, infos: 0}
//! errors:                            # inputs that could not be used
//! - source: bad.yaml:3:1
//!   message: 'not valid YAML: …'
//! ```
//!
//! `diagnose rules -o json` prints `kind: DiagnoseRuleList` with `rules: [{id, severity, category,
//! title, rationale, fix, beforeRestart}]` (`beforeRestart` only for rules that look ahead at a
//! restart); `--explain RULE -o json` prints one `kind: DiagnoseRule` (`restartOnly: true` for a rule
//! checked only before a restart, which `rules` does not list).
//!
//! `-o sarif` prints the same report as SARIF 2.1.0 ([`sarif`]): rules, and each finding at the file and
//! line of its object.
//!
pub mod context;
pub(crate) mod gather;
pub mod input;
pub mod model;
pub(crate) mod options;
pub(crate) mod parallel;
pub(crate) mod render;
pub mod rules;
pub(crate) mod sarif;
pub(crate) mod traffic;

#[cfg(test)]
mod fixture_tests;

pub use crate::source::Origin;
pub use crate::target::Kind;
pub use crate::workload::{Strategy, Workload};
pub use context::{Context, Related, RelatedIndex};
pub use model::KubeVersion;
pub(crate) use options::{Check, Mode, Options, KINDS};
pub use rules::{check, Finding, Fix, FixTarget, Severity, RULES};

use crate::error::Result;
use crate::exit::Exit;
use crate::output::Printer;
use crate::target::Target;

use input::InputError;
use model::{DiagnoseReport, Summary, WorkloadReport, API_VERSION};

pub(crate) async fn run(o: Options) -> Result<Exit> {
    let printer = Printer::new(o.output);
    let c = match o.mode {
        Mode::Rules => {
            render::rules_table(&printer)?;
            return Ok(Exit::Ok);
        }
        Mode::Explain(rule) => {
            render::explain_rule(&printer, rule)?;
            return Ok(Exit::Ok);
        }
        Mode::Check(c) => c,
    };
    let offline = !c.filenames.is_empty();
    if c.kube_version_ignored {
        render::kube_version_ignored();
    }
    let input = if offline {
        read_files(&c, o.global.namespace())
    } else {
        read_cluster(&c, &o.global).await?
    };
    render::warnings(&input.warnings);
    let Input {
        workloads,
        related,
        version,
        errors,
        scope,
        ..
    } = input;
    let (reports, warnings) = check_all(&workloads, &related, version, &c.ignore);
    render::warnings(&warnings);
    let report = DiagnoseReport {
        api_version: API_VERSION,
        kind: "DiagnoseReport",
        kubernetes_version: version.to_string(),
        summary: Summary::of(&reports),
        workloads: reports,
        errors,
    };
    render::input_errors(&report.errors);
    if c.sarif {
        let origins: Vec<Origin> = workloads.iter().map(|w| w.origin.clone()).collect();
        printer.data(&sarif::log(&report, &origins))?;
    } else if printer.is_machine() {
        printer.data(&report)?;
    } else if report.workloads.is_empty() {
        render::no_workloads(&scope);
    } else {
        render::human(&printer, &report)?;
    }
    Ok(exit_code(&report, c.fail_on))
}

/// The workloads to check and what surrounds them, from files or the cluster.
struct Input {
    workloads: Vec<Workload>,
    related: Related,
    version: KubeVersion,
    /// Inputs that could not be used, targets that do not exist, reads that were refused.
    errors: Vec<InputError>,
    /// Where the workloads were looked for (`the input`, `namespace shop`), for "none found".
    scope: String,
    warnings: Vec<String>,
}

/// Offline: the `-f` inputs; targets and `-l` filter their workloads, and a named target that is not
/// there is an error, as it is live.
fn read_files(c: &Check, namespace: Option<&str>) -> Input {
    let ns = namespace.unwrap_or("default");
    let mut loaded = input::load_paths(&c.filenames, ns, c.kube_version);
    tracing::debug!(
        "{} document(s) read straight into typed objects, the others the long way",
        loaded.direct
    );
    if loaded.skipped > 0 {
        tracing::info!(
            "skipped {} object(s) of kinds diagnose does not check",
            loaded.skipped
        );
    }
    let warnings: Vec<String> = render::duplicates_warning(&loaded.duplicates)
        .into_iter()
        .collect();
    let related_objects = [
        loaded.related.pdbs.as_ref().map_or(0, Vec::len),
        loaded.related.hpas.as_ref().map_or(0, Vec::len),
        loaded.related.services.as_ref().map_or(0, Vec::len),
    ];
    let no_objects = loaded.workloads.is_empty()
        && loaded.skipped == 0
        && related_objects.iter().all(|n| *n == 0);
    if no_objects && loaded.errors.is_empty() {
        // An empty file or stdin checks nothing: never green (a CI gate whose render step
        // produced nothing must fail).
        let shown: Vec<String> = c
            .filenames
            .iter()
            .map(|f| crate::source::shown(f))
            .collect();
        loaded.errors.push(InputError {
            source: shown.join(", "),
            message: "no Kubernetes objects in the input: nothing was checked (is it empty?)"
                .into(),
        });
    }
    let mut workloads = loaded.workloads;
    if namespace.is_some() && !c.all_namespaces {
        workloads.retain(|w| w.namespace == ns);
    }
    let mut errors = loaded.errors;
    let named = |t: &Target, w: &Workload| {
        t.kind == w.kind && w.kind_name == t.kind.as_str() && t.name == w.name
    };
    if !c.targets.is_empty() {
        for t in &c.targets {
            if !workloads.iter().any(|w| named(t, w)) {
                errors.push(InputError {
                    source: t.to_string(),
                    message: format!("{} {} not found in the input", t.kind.lower(), t.name),
                });
            }
        }
        workloads.retain(|w| c.targets.iter().any(|t| named(t, w)));
    }
    if let Some((sel, _)) = &c.selector {
        workloads.retain(|w| sel.matches(Some(&w.labels)));
    }
    Input {
        workloads,
        related: loaded.related,
        version: c.kube_version,
        errors,
        scope: "the input".into(),
        warnings,
    }
}

/// Live: the named targets, or every workload of the namespace (`-A`: of the cluster), with what
/// surrounds them and the server's version.
async fn read_cluster(c: &Check, global: &crate::settings::Global) -> Result<Input> {
    let mut warnings = Vec::new();
    let kube = global.connect().await?;
    let scope = if c.all_namespaces {
        "any namespace".to_string()
    } else {
        format!("namespace {}", kube.namespace)
    };
    let g = if c.targets.is_empty() {
        let ns = (!c.all_namespaces).then_some(kube.namespace.as_str());
        let selector = c.selector.as_ref().map(|(_, s)| s.as_str());
        gather::all(&kube, ns, selector).await?
    } else {
        gather::targets(&kube, &kube.namespace, &c.targets).await?
    };
    warnings.extend(g.unread.not_served.iter().map(|w| render::not_served(w)));
    let mut errors: Vec<InputError> = g.unread.refused.iter().map(render::refused).collect();
    errors.extend(g.missing);
    let mut workloads = g.workloads;
    workloads.sort_by(|a, b| (&a.namespace, a.kind, &a.name).cmp(&(&b.namespace, b.kind, &b.name)));
    let version = g.version.unwrap_or_else(|e| {
        warnings.push(render::version_unread(&e, KubeVersion::DEFAULT));
        KubeVersion::DEFAULT
    });
    Ok(Input {
        workloads,
        related: g.related,
        version,
        errors,
        scope,
        warnings,
    })
}

/// From this many workloads on, they are checked on every core (each check reads only its workload
/// and the shared index); fewer are not worth the threads.
const CHECK_ON_THREADS: usize = 2_000;

/// Every workload checked in its context, minus `--ignore`d rules; warnings for unknown rule ids in
/// ignore annotations. Reports and warnings come in the workloads' order, however they were checked.
fn check_all(
    workloads: &[Workload],
    related: &Related,
    version: KubeVersion,
    ignore: &[String],
) -> (Vec<WorkloadReport>, Vec<String>) {
    check_all_on(workloads, related, version, ignore, parallel::cores())
}

/// [`check_all`] on up to `threads` threads.
fn check_all_on(
    workloads: &[Workload],
    related: &Related,
    version: KubeVersion,
    ignore: &[String],
    threads: usize,
) -> (Vec<WorkloadReport>, Vec<String>) {
    let index = RelatedIndex::new(related);
    let check_part = |part: &[Workload]| {
        let mut warnings = Vec::new();
        let reports: Vec<WorkloadReport> = part
            .iter()
            .map(|w| check_one(w, &index, version, ignore, &mut warnings))
            .collect();
        (reports, warnings)
    };
    if workloads.len() < CHECK_ON_THREADS || threads < 2 {
        return check_part(workloads);
    }
    let (mut reports, mut warnings) = (Vec::new(), Vec::new());
    for (r, w) in parallel::in_order(workloads, threads, check_part) {
        reports.extend(r);
        warnings.extend(w);
    }
    (reports, warnings)
}

fn check_one(
    w: &Workload,
    index: &RelatedIndex,
    version: KubeVersion,
    ignore: &[String],
    warnings: &mut Vec<String>,
) -> WorkloadReport {
    for id in rules::ignored_by_annotation(w) {
        if rules::find_rule(&id).is_none() {
            warnings.push(format!(
                "{} ({}): unknown rule {id:?} in annotation {}",
                w.display_name(),
                w.source,
                rules::IGNORE_ANNOTATION
            ));
        }
    }
    let cx = index.context(w, version);
    let findings = check(w, &cx)
        .into_iter()
        .filter(|f| !ignore.contains(&f.rule))
        .collect();
    WorkloadReport {
        kind: w.kind_name.to_string(),
        namespace: w.namespace.clone(),
        name: w.name.clone(),
        source: w.source.clone(),
        findings,
    }
}

/// 2 when an input was bad, else 1 when a finding is at or above `--fail-on` (None: never), else 0.
pub(crate) fn exit_code(report: &DiagnoseReport, fail_on: Option<Severity>) -> Exit {
    if !report.errors.is_empty() {
        return Exit::Error;
    }
    let Some(threshold) = fail_on else {
        return Exit::Ok;
    };
    let hit = report
        .workloads
        .iter()
        .flat_map(|w| &w.findings)
        .any(|f| f.severity >= threshold);
    if hit {
        Exit::Findings
    } else {
        Exit::Ok
    }
}

#[cfg(test)]
mod check_all_tests {
    use super::*;

    /// Checked on threads, the reports and warnings are those of one thread, in the same order.
    #[test]
    fn checking_on_threads_reports_as_one_thread_does() {
        let mut text = String::new();
        for i in 0..2_500 {
            let annotations = if i % 7 == 0 {
                "\n  annotations: {graceful.kubectl.io/ignore: \"no-such-rule\"}"
            } else {
                ""
            };
            let replicas = 1 + i % 3;
            text.push_str(&format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}{annotations}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web-{i}}}}}\n  template:\n    metadata: {{labels: {{app: web-{i}}}}}\n    spec: {{containers: [{{name: app, image: web:1, ports: [{{containerPort: 80}}]}}]}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web-{i}}}\nspec: {{selector: {{app: web-{i}}}, ports: [{{port: 80}}]}}\n---\n"
            ));
        }
        let mut loaded = input::Loaded::new("default", KubeVersion::DEFAULT);
        input::load_text("f.yaml", &text, &mut loaded);
        assert_eq!(loaded.workloads.len(), 2_500);
        let run = |threads| {
            let (reports, warnings) = check_all_on(
                &loaded.workloads,
                &loaded.related,
                KubeVersion::DEFAULT,
                &[],
                threads,
            );
            (serde_json::to_string(&reports).unwrap(), warnings)
        };
        let one = run(1);
        assert!(one.1.len() > 300, "{:?}", one.1.first());
        assert!(one.0.contains("prestop-missing"));
        assert_eq!(run(3), one);
    }
}
