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
//! title, rationale, fix}]`; `--explain RULE -o json` prints one `kind: DiagnoseRule`.
//!
//! `-o sarif` prints the same report as SARIF 2.1.0 ([`sarif`]): rules, and each finding at the file and
//! line of its object.
//!
//! # Reuse (restart's preflight)
//!
//! [`check`] is pure: one [`Workload`] and its [`Context`] in, findings out, live or offline alike.
//! For one live workload, [`gather::one`] reads the object, its namespace's PDBs, HPAs and Services and
//! the server version, and returns both (plus the reads that were refused).

pub mod context;
pub mod gather;
pub mod input;
pub mod model;
pub mod render;
pub mod rules;
pub mod sarif;
pub mod traffic;

#[cfg(test)]
mod fixture_tests;

pub use crate::workload::{Origin, Strategy, Workload};
pub use context::{Context, Related, RelatedIndex};
pub use model::KubeVersion;
pub use rules::{check, Finding, Fix, FixTarget, Severity, RULES};

use crate::cli::{DiagnoseArgs, DiagnoseOutput, FailOn, GlobalArgs};
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::output::{self, Printer};
use crate::selector::Selector;
use crate::settings::OutputSettings;
use crate::target::{Kind, Target};

use input::InputError;
use render::{DiagnoseReport, Summary, WorkloadReport, API_VERSION};

/// The target kinds `diagnose` accepts live.
pub const KINDS: &[Kind] = &[
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::Pod,
    Kind::ReplicaSet,
    Kind::Job,
    Kind::CronJob,
];

pub async fn run(args: DiagnoseArgs, global: &GlobalArgs) -> Result<Exit> {
    let printer = Printer::new(OutputSettings::new(args.output.format(), global.no_color));

    // `diagnose rules` and `--explain RULE` need nothing else.
    if args.targets.first().map(String::as_str) == Some("rules") {
        if args.targets.len() > 1 {
            return Err(Error::usage(
                "`diagnose rules` takes no targets: use `diagnose --explain RULE` for one rule",
            ));
        }
        render::rules_table(&printer)?;
        return Ok(Exit::Ok);
    }
    if let Some(id) = &args.explain {
        render::explain_rule(&printer, rule_or_usage(id, "--explain")?)?;
        return Ok(Exit::Ok);
    }
    for id in &args.ignore {
        for part in id.split(',').filter(|s| !s.trim().is_empty()) {
            rule_or_usage(part.trim(), "--ignore")?;
        }
    }
    let ignore: Vec<String> = args
        .ignore
        .iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_string())
        .collect();
    let targets = args
        .targets
        .iter()
        .map(|t| Target::parse(t, None, KINDS))
        .collect::<Result<Vec<_>>>()?;
    let selector = args.selector.as_deref().map(Selector::parse).transpose()?;
    if args.filenames.is_empty() && selector.is_some() && !targets.is_empty() {
        return Err(Error::usage(
            "name cannot be provided when a selector is specified: use KIND/NAME targets or -l",
        ));
    }
    if args.all_namespaces && !targets.is_empty() {
        return Err(Error::usage(
            "-A cannot be combined with KIND/NAME targets: name the namespace with -n",
        ));
    }

    let mut scope = String::from("the input");
    let (mut workloads, related, version, mut errors) = if !args.filenames.is_empty() {
        let version = match &args.kube_version {
            Some(v) => KubeVersion::parse(v).ok_or_else(|| {
                Error::usage(format!(
                    "invalid --kube-version {v:?}: use MAJOR.MINOR, e.g. 1.30 or v1.33.2"
                ))
            })?,
            None => KubeVersion::DEFAULT,
        };
        let ns = global.namespace.clone().unwrap_or_else(|| "default".into());
        let loaded = input::load_paths(&args.filenames, &ns, version);
        if loaded.skipped > 0 {
            tracing::info!(
                "skipped {} object(s) of kinds diagnose does not check",
                loaded.skipped
            );
        }
        warn_duplicates(&loaded.duplicates);
        let mut loaded = loaded;
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
            let shown: Vec<String> = args
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
        let mut ws = loaded.workloads;
        if global.namespace.is_some() && !args.all_namespaces {
            ws.retain(|w| w.namespace == ns);
        }
        (ws, loaded.related, version, loaded.errors)
    } else {
        if args.kube_version.is_some() {
            output::warn("--kube-version is for -f; live mode uses the server's version");
        }
        let kube = crate::connect(global).await?;
        scope = if args.all_namespaces {
            "any namespace".to_string()
        } else {
            format!("namespace {}", kube.namespace)
        };
        let g = if targets.is_empty() {
            let ns = (!args.all_namespaces).then_some(kube.namespace.as_str());
            gather::all(&kube, ns, args.selector.as_deref()).await?
        } else {
            gather::targets(&kube, &kube.namespace, &targets).await?
        };
        let mut ws = g.workloads;
        ws.sort_by(|a, b| (&a.namespace, a.kind, &a.name).cmp(&(&b.namespace, b.kind, &b.name)));
        let version = g.version.unwrap_or_else(|e| {
            crate::output::warn(&format!(
                "cannot read the server version ({e}); advising for Kubernetes {}",
                KubeVersion::DEFAULT
            ));
            KubeVersion::DEFAULT
        });
        (ws, g.related, version, g.errors)
    };

    // Offline: targets and -l filter the manifests' workloads; a named target that is not there is an
    // error, as it is live.
    if !args.filenames.is_empty() {
        if !targets.is_empty() {
            for t in &targets {
                if !workloads
                    .iter()
                    .any(|w| t.kind == w.kind && w.kind_name == t.kind.as_str() && t.name == w.name)
                {
                    errors.push(InputError {
                        source: t.to_string(),
                        message: format!("{} {} not found in the input", t.kind.lower(), t.name),
                    });
                }
            }
            workloads.retain(|w| {
                targets
                    .iter()
                    .any(|t| t.kind == w.kind && w.kind_name == t.kind.as_str() && t.name == w.name)
            });
        }
        if let Some(sel) = &selector {
            workloads.retain(|w| sel.matches(Some(&w.labels)));
        }
    }

    let index = RelatedIndex::new(&related);
    let reports: Vec<WorkloadReport> = workloads
        .iter()
        .map(|w| {
            for id in rules::ignored_by_annotation(w) {
                if rules::find_rule(&id).is_none() {
                    output::warn(&format!(
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
        })
        .collect();

    let report = DiagnoseReport {
        api_version: API_VERSION,
        kind: "DiagnoseReport",
        kubernetes_version: version.to_string(),
        summary: Summary::of(&reports),
        workloads: reports,
        errors,
    };
    for e in &report.errors {
        eprintln!("error: {}: {}", e.source, e.message);
    }
    if args.output == DiagnoseOutput::Sarif {
        let origins: Vec<Origin> = workloads.iter().map(|w| w.origin.clone()).collect();
        printer.data(&sarif::log(&report, &origins))?;
    } else if printer.is_machine() {
        printer.data(&report)?;
    } else if report.workloads.is_empty() {
        output::note(&format!("No workloads found in {scope}."));
    } else {
        render::human(&printer, &report)?;
    }
    Ok(exit_code(&report, args.fail_on))
}

/// One warning for objects defined more than once (a directory with two variants of an install, a
/// chart rendered twice): each is checked once, as its last definition.
fn warn_duplicates(dups: &[input::Duplicate]) {
    if dups.is_empty() {
        return;
    }
    let examples: Vec<String> = dups
        .iter()
        .take(3)
        .map(|(what, at)| format!("{what} ({})", at.join(", ")))
        .collect();
    output::warn(&format!(
        "{} object{} defined more than once; each is checked once, as its last definition (what `kubectl apply` leaves): {}{}",
        dups.len(),
        if dups.len() == 1 { " is" } else { "s are" },
        examples.join("; "),
        if dups.len() > 3 { "; …" } else { "" }
    ));
}

/// 2 when an input was bad, else 1 when a finding is at or above `--fail-on`, else 0.
pub fn exit_code(report: &DiagnoseReport, fail_on: FailOn) -> Exit {
    if !report.errors.is_empty() {
        return Exit::Error;
    }
    let threshold = match fail_on {
        FailOn::Info => Severity::Info,
        FailOn::Warning => Severity::Warning,
        FailOn::Error => Severity::Error,
        FailOn::Never => return Exit::Ok,
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

fn rule_or_usage(id: &str, flag: &str) -> Result<&'static rules::Rule> {
    rules::find_rule(id).ok_or_else(|| {
        let near = rules::near_rules(id);
        let hint = if near.is_empty() {
            "see `kubectl graceful diagnose rules`".to_string()
        } else {
            format!("did you mean {}?", near.join(", "))
        };
        Error::usage(format!("{flag}: unknown rule {id:?}: {hint}"))
    })
}
