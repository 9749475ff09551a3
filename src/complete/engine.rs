//! The pure completion engine: the words typed so far + a [`Snapshot`] of what the cluster and the
//! kubeconfig hold → the completions to print. No I/O here; [`super::dynamic`] fills the snapshot.
//!
//! Everything it knows about the command line comes from clap's own [`clap::Command`] (flags, their
//! help, which take values, possible values, subcommands), so it cannot drift from `--help`.

use std::collections::BTreeMap;

use clap::{Arg, ArgAction, Command, ValueHint};

use crate::target::Kind;

/// Cobra's `ShellCompDirective` bits, as kubectl and cobra's shell scripts read them.
pub(crate) mod directive {
    pub(crate) const DEFAULT: u32 = 0;
    pub(crate) const NO_SPACE: u32 = 2;
    pub(crate) const NO_FILE_COMP: u32 = 4;
    pub(crate) const FILTER_FILE_EXT: u32 = 8;
}

/// One completion: the value, and a description shown next to it by shells that can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub value: String,
    pub help: Option<String>,
}

impl Candidate {
    fn new(value: impl Into<String>, help: Option<String>) -> Self {
        Candidate {
            value: value.into(),
            help,
        }
    }
}

/// What `__complete` prints: the candidates, then `:<directive>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completions {
    pub items: Vec<Candidate>,
    pub directive: u32,
}

impl Completions {
    /// Cobra's format: one `value[\tdescription]` per line, the last line `:<directive>`.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.items {
            out.push_str(&one_line(&c.value));
            if let Some(h) = c.help.as_deref().map(one_line).filter(|h| !h.is_empty()) {
                out.push('\t');
                out.push_str(&h);
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }

    #[cfg(test)]
    pub(crate) fn values(&self) -> Vec<&str> {
        self.items.iter().map(|c| c.value.as_str()).collect()
    }
}

/// A line of the protocol must not contain a newline or a tab of its own.
fn one_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("")
        .replace('\t', " ")
        .trim()
        .to_string()
}

/// What the cluster and kubeconfig hold, as far as it could be read (empty when not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub contexts: Vec<String>,
    pub clusters: Vec<String>,
    pub users: Vec<String>,
    pub namespaces: Vec<String>,
    /// Object names per kind, in the namespace the command would use.
    pub names: BTreeMap<Kind, Vec<String>>,
}

/// What must be looked up to complete the current word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Context, cluster and user names from the kubeconfig (no cluster call).
    pub kubeconfig: bool,
    pub namespaces: bool,
    /// Object names of these kinds in the namespace.
    pub kinds: Vec<Kind>,
}

impl Needs {
    /// A call to the API server is needed (and so the async runtime).
    pub(crate) fn cluster(&self) -> bool {
        self.namespaces || !self.kinds.is_empty()
    }
}

/// The connection flags found in the words, to look things up where the command itself would.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Connection {
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub namespace: Option<String>,
    pub verbose: u8,
}

/// The position of the word being completed.
#[derive(Debug, Clone)]
enum Slot<'a> {
    /// A subcommand name of `cmd`.
    Subcommand,
    /// A flag name (the word starts with `-`).
    FlagName,
    /// The value of a flag (`-o <TAB>`, `--output=<TAB>`).
    Value(&'a Arg),
    /// The `index`th positional argument of `cmd`.
    Positional { index: usize },
}

/// The words parsed up to the one being completed.
#[derive(Debug, Clone)]
pub(crate) struct Parsed<'a> {
    /// The deepest subcommand named.
    cmd: &'a Command,
    /// The subcommand names, outermost first (empty at the top level).
    path: Vec<String>,
    /// Flags given so far (arg id, value).
    given: Vec<(String, Option<String>)>,
    positionals: Vec<String>,
    slot: Slot<'a>,
    /// The text being completed (the value part only for `--flag=value`).
    word: String,
}

fn takes_value(a: &Arg) -> bool {
    a.get_action().takes_values()
}

fn repeatable(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Append | ArgAction::Count)
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| {
        !a.is_positional()
            && a.get_long_and_visible_aliases()
                .is_some_and(|l| l.contains(&name))
    })
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| {
        !a.is_positional()
            && a.get_short_and_visible_aliases()
                .is_some_and(|s| s.contains(&c))
    })
}

/// Parses `words` (what follows `kubectl graceful`; the last one is the word to complete, possibly
/// empty) against `root`, which must be built ([`Command::build`]) so global flags are everywhere.
pub(crate) fn parse<'a>(root: &'a Command, words: &[String]) -> Parsed<'a> {
    let (done, last) = match words.split_last() {
        Some((last, done)) => (done, last.clone()),
        None => (&[][..], String::new()),
    };
    let mut cmd = root;
    let mut path = Vec::new();
    let mut given: Vec<(String, Option<String>)> = Vec::new();
    let mut positionals = Vec::new();
    let mut dashdash = false;
    let mut pending: Option<&Arg> = None;
    for w in done {
        if let Some(arg) = pending.take() {
            given.push((arg.get_id().to_string(), Some(w.clone())));
            continue;
        }
        if dashdash {
            positionals.push(w.clone());
            continue;
        }
        if w == "--" {
            dashdash = true;
            continue;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if let Some(arg) = find_long(cmd, name) {
                if takes_value(arg) && value.is_none() {
                    pending = Some(arg);
                } else {
                    given.push((arg.get_id().to_string(), value));
                }
            }
            continue;
        }
        if let Some(shorts) = w.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (i, c) in shorts.char_indices() {
                let Some(arg) = find_short(cmd, c) else { break };
                if takes_value(arg) {
                    let rest = &shorts[i + c.len_utf8()..];
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    if rest.is_empty() {
                        pending = Some(arg);
                    } else {
                        given.push((arg.get_id().to_string(), Some(rest.to_string())));
                    }
                    break;
                }
                given.push((arg.get_id().to_string(), None));
            }
            continue;
        }
        if cmd.has_subcommands() {
            if let Some(sub) = cmd.find_subcommand(w) {
                cmd = sub;
                path.push(sub.get_name().to_string());
                continue;
            }
        }
        positionals.push(w.clone());
    }

    let (slot, word) = if let Some(arg) = pending {
        (Slot::Value(arg), last)
    } else if dashdash {
        (
            Slot::Positional {
                index: positionals.len(),
            },
            last,
        )
    } else if let Some((name, value)) = last
        .strip_prefix("--")
        .and_then(|l| l.split_once('='))
        .map(|(n, v)| (n.to_string(), v.to_string()))
    {
        match find_long(cmd, &name).filter(|a| takes_value(a)) {
            Some(arg) => (Slot::Value(arg), value),
            // An unknown flag or one without a value: nothing sensible to offer.
            None => (Slot::FlagName, last),
        }
    } else if last.starts_with('-') {
        (Slot::FlagName, last)
    } else if cmd.has_subcommands() {
        (Slot::Subcommand, last)
    } else {
        (
            Slot::Positional {
                index: positionals.len(),
            },
            last,
        )
    };
    Parsed {
        cmd,
        path,
        given,
        positionals,
        slot,
        word,
    }
}

impl Parsed<'_> {
    fn value_of(&self, id: &str) -> Option<String> {
        self.given
            .iter()
            .rev()
            .find(|(i, v)| i == id && v.is_some())
            .and_then(|(_, v)| v.clone())
    }

    fn has(&self, id: &str) -> bool {
        self.given.iter().any(|(i, _)| i == id)
    }

    /// The subcommand the word belongs to (`explain`), `None` at the top level.
    fn subcommand(&self) -> Option<&str> {
        self.path.first().map(String::as_str)
    }

    /// The connection flags given so far.
    pub(crate) fn connection(&self) -> Connection {
        Connection {
            kubeconfig: self.value_of("kubeconfig"),
            context: self.value_of("context"),
            cluster: self.value_of("cluster"),
            user: self.value_of("user"),
            namespace: self.value_of("namespace"),
            verbose: self
                .value_of("verbose")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        }
    }

    /// What must be looked up to complete the word.
    pub(crate) fn needs(&self) -> Needs {
        let mut n = Needs::default();
        match &self.slot {
            Slot::Value(arg) => match arg.get_id().as_str() {
                "context" | "cluster" | "user" => n.kubeconfig = true,
                "namespace" => n.namespaces = true,
                _ => {}
            },
            Slot::Positional { .. } => {
                if let Some(t) = self.targets() {
                    if !self.has("all_namespaces")
                        && !self.has("filename")
                        && !self.has("filenames")
                    {
                        match self.word.split_once('/') {
                            Some((k, _)) => {
                                if let Some(kind) = Kind::parse(k).filter(|k| t.kinds.contains(k)) {
                                    n.kinds.push(kind);
                                }
                            }
                            None => n.kinds.extend(t.bare),
                        }
                    }
                }
            }
            _ => {}
        }
        n
    }

    /// How the current subcommand's TARGET positionals are spelled, if it has them.
    /// None after a keyword (`diagnose rules …`): what follows it is not a target.
    fn targets(&self) -> Option<Targets> {
        let t = targets_of(self.subcommand()?)?;
        let after_keyword = self
            .positionals
            .first()
            .is_some_and(|w| t.keywords.iter().any(|(kw, _)| kw == w));
        (!after_keyword).then_some(t)
    }
}

/// The kinds a subcommand accepts as `KIND/NAME`, and the kind of a bare `NAME`.
#[derive(Debug, Clone, Copy)]
struct Targets {
    kinds: &'static [Kind],
    bare: Option<Kind>,
    /// Kind prefixes offered for an empty word, in this order.
    prefixes: &'static [Kind],
    /// Words accepted as the first target only (`diagnose rules`).
    keywords: &'static [(&'static str, &'static str)],
}

// The kinds each command accepts, from the commands themselves; the unit test `target_kinds_match_the_help`
// checks them against the TARGET help text.
const EXPLAIN_KINDS: &[Kind] = crate::explain::KINDS;
const DIAGNOSE_KINDS: &[Kind] = crate::diagnose::KINDS;
const RESTART_KINDS: &[Kind] = crate::restart::options::KINDS;
// `explain` takes bare names as pods, so its prefixes are its kinds after the first, which must be Pod.
const _: () = assert!(matches!(EXPLAIN_KINDS[0], Kind::Pod));

fn targets_of(sub: &str) -> Option<Targets> {
    Some(match sub {
        "explain" => Targets {
            kinds: EXPLAIN_KINDS,
            bare: Some(Kind::Pod),
            // Bare names are pods already: no `pod/` prefix offered.
            prefixes: &EXPLAIN_KINDS[1..],
            keywords: &[],
        },
        "diagnose" => Targets {
            kinds: DIAGNOSE_KINDS,
            bare: None,
            prefixes: DIAGNOSE_KINDS,
            keywords: &[("rules", "List the rules diagnose checks")],
        },
        "restart" => Targets {
            kinds: RESTART_KINDS,
            bare: None,
            prefixes: RESTART_KINDS,
            keywords: &[],
        },
        _ => return None,
    })
}

/// The completions for the parsed words, given what could be looked up.
pub(crate) fn complete(p: &Parsed<'_>, snap: &Snapshot) -> Completions {
    use directive::*;
    let word = p.word.as_str();
    let mut directive = NO_FILE_COMP;
    let mut items: Vec<Candidate> = match &p.slot {
        Slot::Subcommand => p
            .cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| Candidate::new(s.get_name(), s.get_about().map(|a| a.to_string())))
            .collect(),
        Slot::FlagName => flag_names(p, word),
        Slot::Value(arg) => {
            let (items, d) = values(p, arg, snap);
            directive = d;
            items
        }
        Slot::Positional { index } => positional(p, *index, snap),
    };
    if directive & FILTER_FILE_EXT == 0 {
        items.retain(|c| c.value.starts_with(word));
    }
    let mut seen = std::collections::HashSet::new();
    items.retain(|c| seen.insert(c.value.clone()));
    // `deploy/` wants the name typed right after it: no space, when every candidate is such a prefix.
    if !items.is_empty() && items.iter().all(|c| c.value.ends_with('/')) {
        directive |= NO_SPACE;
    }
    Completions { items, directive }
}

fn flag_names(p: &Parsed<'_>, word: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    for a in p.cmd.get_arguments() {
        if a.is_positional() || a.is_hide_set() {
            continue;
        }
        if p.has(a.get_id().as_str()) && !repeatable(a) {
            continue;
        }
        let help = a.get_help().map(|h| h.to_string());
        if let Some(long) = a.get_long() {
            out.push(Candidate::new(format!("--{long}"), help.clone()));
        }
        // Short forms for `-` alone (as cobra does), or when the word is exactly one.
        if let Some(short) = a.get_short() {
            let s = format!("-{short}");
            if word == "-" || word == s {
                out.push(Candidate::new(s, help));
            }
        }
    }
    out
}

fn values(p: &Parsed<'_>, arg: &Arg, snap: &Snapshot) -> (Vec<Candidate>, u32) {
    use directive::*;
    let id = arg.get_id().as_str();
    let names = |v: &[String], what: &str| -> Vec<Candidate> {
        v.iter()
            .map(|n| Candidate::new(n.clone(), Some(what.to_string())))
            .collect()
    };
    match id {
        "context" => return (names(&snap.contexts, "context"), NO_FILE_COMP),
        "cluster" => return (names(&snap.clusters, "cluster"), NO_FILE_COMP),
        "user" => return (names(&snap.users, "user"), NO_FILE_COMP),
        "namespace" => return (names(&snap.namespaces, "namespace"), NO_FILE_COMP),
        // Manifests: let the shell complete files with these extensions (and directories).
        "filename" | "filenames" => {
            return (
                ["yaml", "yml", "json"]
                    .into_iter()
                    .map(|e| Candidate::new(e, None))
                    .collect(),
                FILTER_FILE_EXT,
            )
        }
        "explain" | "ignore" if p.subcommand() == Some("diagnose") => {
            return (
                crate::diagnose::rules::RULES
                    .iter()
                    .map(|r| Candidate::new(r.id, Some(r.title.to_string())))
                    .collect(),
                NO_FILE_COMP,
            )
        }
        _ => {}
    }
    let possible = arg.get_possible_values();
    if !possible.is_empty() {
        let items = possible
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| Candidate::new(v.get_name(), v.get_help().map(|h| h.to_string())))
            .collect();
        return (items, NO_FILE_COMP);
    }
    match arg.get_value_hint() {
        ValueHint::AnyPath
        | ValueHint::FilePath
        | ValueHint::DirPath
        | ValueHint::ExecutablePath => (Vec::new(), DEFAULT),
        _ => (Vec::new(), NO_FILE_COMP),
    }
}

fn positional(p: &Parsed<'_>, index: usize, snap: &Snapshot) -> Vec<Candidate> {
    if let Some(t) = p.targets() {
        return targets(p, t, index, snap);
    }
    // Any other positional: its possible values (`completion bash`).
    let Some(arg) = p.cmd.get_positionals().nth(index).or_else(|| {
        p.cmd
            .get_positionals()
            .last()
            .filter(|a| matches!(a.get_action(), ArgAction::Append))
    }) else {
        return Vec::new();
    };
    arg.get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| Candidate::new(v.get_name(), v.get_help().map(|h| h.to_string())))
        .collect()
}

fn targets(p: &Parsed<'_>, t: Targets, index: usize, snap: &Snapshot) -> Vec<Candidate> {
    let word = p.word.as_str();
    let mut out = Vec::new();
    if let Some((k, _)) = word.split_once('/') {
        if let Some(kind) = Kind::parse(k).filter(|k| t.kinds.contains(k)) {
            for n in snap.names.get(&kind).into_iter().flatten() {
                out.push(Candidate::new(format!("{k}/{n}"), Some(kind.to_string())));
            }
        }
    } else {
        if index == 0 {
            for (kw, help) in t.keywords {
                out.push(Candidate::new(*kw, Some(help.to_string())));
            }
        }
        if let Some(kind) = t.bare {
            for n in snap.names.get(&kind).into_iter().flatten() {
                out.push(Candidate::new(n.clone(), Some(kind.to_string())));
            }
        }
        for kind in t.prefixes {
            out.push(Candidate::new(
                format!("{}/", kind.short()),
                Some(kind.to_string()),
            ));
        }
    }
    // A target already named is not offered again.
    out.retain(|c| !p.positionals.contains(&c.value));
    out
}
