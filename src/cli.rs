//! Command-line definitions (clap derive). Nothing here does work: [`crate::settings`] turns the parsed
//! flags into validated settings, and the commands only ever see those.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

use crate::exit::EXIT_CODES_HELP;

const ABOUT: &str =
    "Explain why pods died, audit graceful-shutdown settings, and restart workloads safely.";

const TOP_EXAMPLES: &str = "\
Examples:
  # Why did this pod restart? (last termination, signal, events, previous logs, one verdict)
  kubectl graceful explain web-7d4b9c-x2x8k -n shop

  # Every unhealthy pod of a Deployment, worst first
  kubectl graceful explain deploy/web

  # Audit shutdown and zero-downtime settings of a namespace, or of manifests before they ship
  kubectl graceful diagnose -n shop
  kubectl graceful diagnose -f k8s/ --fail-on warning

  # Restart three workloads one after another, each only when the previous one is Ready
  kubectl graceful restart deploy/api sts/db ds/agent --stable-for 30s";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-graceful",
    bin_name = "kubectl graceful",
    version,
    about = ABOUT,
    long_about = None,
    after_help = format!("{TOP_EXAMPLES}\n\n{EXIT_CODES_HELP}"),
    propagate_version = true,
    arg_required_else_help = true,
    // Help is printed as written, never re-wrapped (like kubectl's): a wrapped example would lose its
    // leading `#` or split a command line.
    term_width = 0,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Connection and presentation flags shared by every subcommand, named and read as kubectl names and
/// reads them (a flag beats the kubeconfig).
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file to use (only this file; KUBECONFIG is ignored then)
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub kubeconfig: Option<PathBuf>,

    /// The name of the kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub context: Option<String>,

    /// The name of the kubeconfig cluster to use
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub cluster: Option<String>,

    /// The name of the kubeconfig user to use
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub user: Option<String>,

    /// The namespace to use (default: the context's namespace, else "default")
    #[arg(
        short = 'n',
        long,
        global = true,
        value_name = "NS",
        help_heading = "Connection"
    )]
    pub namespace: Option<String>,

    /// The address and port of the Kubernetes API server
    #[arg(
        short = 's',
        long,
        global = true,
        value_name = "URL",
        help_heading = "Connection"
    )]
    pub server: Option<String>,

    /// Bearer token for authentication to the API server
    #[arg(long, global = true, value_name = "TOKEN", help_heading = "Connection")]
    pub token: Option<String>,

    /// Path to a cert file for the certificate authority
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub certificate_authority: Option<PathBuf>,

    /// Path to a client certificate file for TLS
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub client_certificate: Option<PathBuf>,

    /// Path to a client key file for TLS
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub client_key: Option<PathBuf>,

    /// If true, the server's certificate will not be checked for validity (insecure)
    #[arg(
        long,
        global = true,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        help_heading = "Connection"
    )]
    pub insecure_skip_tls_verify: Option<bool>,

    /// Server name to use for server certificate validation (default: the server's hostname)
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub tls_server_name: Option<String>,

    /// Username to impersonate for the operation
    #[arg(
        long = "as",
        global = true,
        value_name = "USER",
        help_heading = "Connection"
    )]
    pub as_user: Option<String>,

    /// Group to impersonate for the operation (repeatable)
    #[arg(
        long = "as-group",
        global = true,
        value_name = "GROUP",
        help_heading = "Connection"
    )]
    pub as_group: Vec<String>,

    /// UID to impersonate for the operation
    #[arg(
        long = "as-uid",
        global = true,
        value_name = "UID",
        help_heading = "Connection"
    )]
    pub as_uid: Option<String>,

    /// Time limit for each single API request (e.g. 10s, 1m; 0 = none). Watches are never cut by it
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help_heading = "Connection"
    )]
    pub request_timeout: Option<String>,

    /// Never colour the output (NO_COLOR and TERM=dumb are honoured too)
    #[arg(long, global = true, help_heading = "Output")]
    pub no_color: bool,

    /// Log level on stderr, as kubectl's: 1-3 info, 4-5 debug, 6 every API request (method, URL, status,
    /// time), 7 with request headers, 9 everything. RUST_LOG overrides
    #[arg(
        short = 'v',
        long = "v",
        global = true,
        value_name = "LEVEL",
        help_heading = "Output"
    )]
    pub verbose: Option<u8>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explain why a pod or container died, or never started
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),

    /// Audit graceful-shutdown and zero-downtime settings, live or from manifest files
    #[command(after_help = DIAGNOSE_EXAMPLES)]
    Diagnose(DiagnoseArgs),

    /// Restart workloads one after another, each waiting until its new pods are Ready
    #[command(after_help = RESTART_EXAMPLES)]
    Restart(RestartArgs),

    /// Print a completion script: bash, zsh, fish, powershell, or the kubectl helper
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completion(CompletionArgs),
}

#[derive(Debug, Args, Clone)]
pub struct CompletionArgs {
    /// The shell to print the script for; `kubectl` prints the `kubectl_complete-graceful` helper
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// Bash script for `kubectl-graceful …`
    Bash,
    /// Zsh script for `kubectl-graceful …`
    Zsh,
    /// Fish script for `kubectl-graceful …`
    Fish,
    /// PowerShell script for `kubectl-graceful …`
    Powershell,
    /// Helper `kubectl_complete-graceful` (sh) so kubectl's own completion completes `kubectl graceful …`
    Kubectl,
}

const COMPLETION_EXAMPLES: &str = "\
Examples:
  # Bash: now, or in every shell (~/.bashrc)
  source <(kubectl-graceful completion bash)
  echo 'source <(kubectl-graceful completion bash)' >> ~/.bashrc

  # Zsh (compinit enabled): a file in your $fpath
  kubectl-graceful completion zsh > \"${fpath[1]}/_kubectl-graceful\"

  # Fish
  kubectl-graceful completion fish > ~/.config/fish/completions/kubectl-graceful.fish

  # PowerShell (add to $PROFILE)
  kubectl-graceful completion powershell | Out-String | Invoke-Expression

  # `kubectl graceful <TAB>` in kubectl's own completion (kubectl >= 1.26, any shell): kubectl runs an
  # executable `kubectl_complete-graceful` from PATH. `cargo install` and the release archives ship it;
  # with krew, install the helper script into a directory on PATH:
  kubectl graceful completion kubectl > ~/.local/bin/kubectl_complete-graceful
  chmod +x ~/.local/bin/kubectl_complete-graceful

The completions of pods, workloads, namespaces and contexts use the same connection flags as the command
(-n, --context, --kubeconfig) and give up after 2s.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// A table for people (default)
    #[default]
    Table,
    /// A wider table with more columns
    Wide,
    /// JSON with a documented, stable schema
    Json,
    /// YAML with the same schema as JSON
    Yaml,
}

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  # Explain one pod (all its containers), or only one container of it
  kubectl graceful explain web-7d4b9c-x2x8k
  kubectl graceful explain web-7d4b9c-x2x8k -c app

  # The failing or restarting pods of a workload, worst first
  kubectl graceful explain deploy/web
  kubectl graceful explain sts/db -n data

  # Every unhealthy pod in the namespace, or in all namespaces
  kubectl graceful explain
  kubectl graceful explain -A

  # Offline, from saved YAML (a pod, or pods with their events)
  kubectl get pod web-1 -o yaml > pod.yaml && kubectl graceful explain -f pod.yaml
  kubectl get pods,events -o yaml > ns.yaml && kubectl graceful explain -f ns.yaml web-1

  # The verdicts as JSON (schema graceful.kubectl.io/v1alpha1 ExplainReport), more log lines
  kubectl graceful explain deploy/web -o json --tail 50

Exit codes: 0 nothing failed, 1 a failure was explained, 2 error, 130 interrupted (SIGINT), 143 terminated (SIGTERM)";

const DIAGNOSE_EXAMPLES: &str = "\
Examples:
  # Audit one Deployment, or every workload in the namespace / cluster
  kubectl graceful diagnose deploy/web
  kubectl graceful diagnose
  kubectl graceful diagnose -A -o json

  # Audit manifests before they ship (files, directories, stdin)
  kubectl graceful diagnose -f deploy/ --fail-on warning
  helm template ./chart | kubectl graceful diagnose -f -

  # Advise for the version the manifests will run on; silence a rule (or annotate the workload
  # with graceful.kubectl.io/ignore: single-replica)
  kubectl graceful diagnose -f k8s/ --kube-version 1.29 --ignore single-replica

  # SARIF for code scanning in CI (each finding at the file and line of its object)
  kubectl graceful diagnose -f k8s/ -o sarif > diagnose.sarif

  # What a rule checks and why
  kubectl graceful diagnose rules
  kubectl graceful diagnose --explain prestop-missing

Exit codes: 0 no findings at or above --fail-on, 1 findings, 2 error (also: an input that could not be
used, a named target that does not exist, a read the cluster refused), 130 interrupted (SIGINT), 143
terminated (SIGTERM)";

const RESTART_EXAMPLES: &str = "\
Examples:
  # Restart in order, each target only after the previous one is fully Ready
  kubectl graceful restart deploy/api sts/db ds/agent

  # Require the new pods to stay Ready for 30s, give each target 10 minutes
  kubectl graceful restart deploy/api --stable-for 30s --timeout 10m

  # Show the plan without changing anything
  kubectl graceful restart -l tier=backend --dry-run

  # Roll back a Deployment whose new pods fail
  kubectl graceful restart deploy/api --rollback-on-failure

  # Replace the pods of a label one at a time through evictions (PodDisruptionBudgets honoured)
  kubectl graceful restart --pods -l app=web

  # One JSON event per line, for pipelines
  kubectl graceful restart deploy/api sts/db -o json

  # Zero downtime: also send requests through the API server's service proxy, assume 10s propagation
  kubectl graceful restart deploy/web --probe svc/web:80/healthz --endpoint-margin 10s

  # Workloads of several namespaces, in this order; or every match of a label in all namespaces
  kubectl graceful restart shop/deploy/api billing/sts/db
  kubectl graceful restart -A -l tier=backend

Exit codes: 0 all restarted, 1 a target failed or preflight refused, 2 error or an outcome that could not be
observed (the API server stopped answering), 130 interrupted (SIGINT), 143 terminated (SIGTERM)";

#[derive(Debug, Args, Clone)]
pub struct ExplainArgs {
    /// POD, or KIND/NAME (pod/, deploy/, sts/, ds/, rs/, job/); none = every unhealthy pod
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Only this container
    #[arg(short = 'c', long, value_name = "NAME")]
    pub container: Option<String>,

    /// Label selector (e.g. app=web,tier!=cache)
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Look in all namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Explain pods from a YAML/JSON file instead of the cluster ('-' for stdin)
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filename: Option<PathBuf>,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,

    /// How many log lines to show per container (-1: all of them)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        allow_negative_numbers = true
    )]
    pub tail: i64,

    /// Do not fetch container logs
    #[arg(long)]
    pub no_logs: bool,
}

#[derive(Debug, Args, Clone)]
pub struct DiagnoseArgs {
    /// KIND/NAME (deploy/, sts/, ds/, pod/, rs/, job/, cronjob/); `rules` lists the rules; none = every workload
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Label selector (e.g. app=web)
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Look in all namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Manifest files or directories (recursive) to check instead of the cluster; '-' for stdin. Repeatable
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    pub filenames: Vec<PathBuf>,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: DiagnoseOutput,

    /// Kubernetes version to advise for when reading files (live mode asks the server)
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,

    /// Lowest severity that makes the exit code 1
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Do not report this rule (repeatable; also the annotation graceful.kubectl.io/ignore: "rule,rule")
    #[arg(long, value_name = "RULE")]
    pub ignore: Vec<String>,

    /// Print what a rule checks, why, and how to fix it
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
}

/// `diagnose -o`: the common formats plus SARIF for code scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DiagnoseOutput {
    /// A table for people (default)
    #[default]
    Table,
    /// A wider table with more columns
    Wide,
    /// JSON with a documented, stable schema
    Json,
    /// YAML with the same schema as JSON
    Yaml,
    /// SARIF 2.1.0 for code scanning (GitHub, GitLab): each finding at its file and line
    Sarif,
}

impl DiagnoseOutput {
    /// The printer's format (SARIF is JSON).
    pub fn format(self) -> OutputFormat {
        match self {
            DiagnoseOutput::Table => OutputFormat::Table,
            DiagnoseOutput::Wide => OutputFormat::Wide,
            DiagnoseOutput::Json | DiagnoseOutput::Sarif => OutputFormat::Json,
            DiagnoseOutput::Yaml => OutputFormat::Yaml,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding, info included
    Info,
    /// Warnings and errors
    Warning,
    /// Errors only
    Error,
    /// Never exit 1 because of findings
    Never,
}

#[derive(Debug, Args, Clone)]
pub struct RestartArgs {
    /// KIND/NAME in the order to restart (deploy/, sts/, ds/, pod/); NAMESPACE/KIND/NAME for another namespace
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// With -l or --all: look in every namespace (ordered by namespace, kind, name)
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Restart the Deployments, StatefulSets and DaemonSets matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Restart every Deployment, StatefulSet and DaemonSet in the namespace
    #[arg(long)]
    pub all: bool,

    /// Replace the selected pods one at a time through the Eviction API (with -l or pod/ targets)
    #[arg(long)]
    pub pods: bool,

    /// How many targets may restart at once
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub parallel: usize,

    /// After a target is Ready, it must stay Ready with no new restarts for this long (e.g. 30s)
    // Hyphen values are accepted so that `-5s` is refused as a negative duration, not as an unknown flag.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub stable_for: Option<String>,

    /// Give up on a target after this long (e.g. 5m, 90s)
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5m",
        allow_hyphen_values = true
    )]
    pub timeout: String,

    /// Print the plan and send no writes
    #[arg(long)]
    pub dry_run: bool,

    /// Go ahead despite preflight risks (downtime, no readiness probe, GitOps/operator owner). Blocked targets (paused, a PDB that never allows an eviction) cannot be forced
    #[arg(long)]
    pub force: bool,

    /// When a Deployment fails, return it to its previous ReplicaSet template (StatefulSet/DaemonSet: previous revision)
    #[arg(long)]
    pub rollback_on_failure: bool,

    /// Do not watch the endpoints of the Services that select a target (no zero-downtime verdict)
    #[arg(long, conflicts_with = "probe")]
    pub no_endpoint_check: bool,

    /// How long endpoint removal takes to reach kube-proxy, ingress controllers and load balancers: a replaced pod that stops serving sooner after leaving the ready endpoints raced them
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub endpoint_margin: String,

    /// During each restart, GET this Service every 150ms through the API server's service proxy and count failures (e.g. svc/web:80/healthz)
    #[arg(long, value_name = "svc/NAME:PORT[/PATH]")]
    pub probe: Option<String>,

    /// Output format: table (progress and summary), json (one event per line)
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: RestartOutput,
}

/// The formats `restart` prints: a stream of events has no single document for YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum RestartOutput {
    /// Progress on stderr and a summary table (default)
    #[default]
    Table,
    /// One JSON event per line (NDJSON)
    Json,
}

impl From<RestartOutput> for OutputFormat {
    fn from(o: RestartOutput) -> Self {
        match o {
            RestartOutput::Table => OutputFormat::Table,
            RestartOutput::Json => OutputFormat::Json,
        }
    }
}
