//! krew-index's checks on a plugin manifest (krew's `validation.ValidatePlugin` and
//! `validate-krew-manifest`), plus the issue's rules (shortDescription ≤ 50 characters, https URIs, `.exe`
//! on Windows) and, given the archives, what `krew install` would find in them.
//!
//! Every function returns the list of problems found (empty = valid) instead of stopping at the first.

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::archive;

/// The only apiVersion krew accepts.
pub const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";
/// The only kind krew accepts.
pub const KIND: &str = "Plugin";
/// The issue's limit on `shortDescription`.
pub const SHORT_DESCRIPTION_MAX: usize = 50;

/// The os/arch pairs krew supports (validate-krew-manifest's `allPlatforms`); every platform's selector
/// must match at least one, and no pair may be matched by two platforms.
pub const KREW_PLATFORMS: [(&str, &str); 11] = [
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// File names (case-insensitive) krew-index accepts as the license in an installed plugin.
pub const LICENSE_FILES: [&str; 8] = [
    "license",
    "license.txt",
    "license.md",
    "licenses",
    "licenses.txt",
    "licenses.md",
    "copying",
    "copying.txt",
];

/// Names krew refuses as plugin names (reserved on Windows).
const WINDOWS_RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// One platform of a manifest that passed the structural checks far enough to be looked at.
#[derive(Debug, Clone)]
pub struct PlatformEntry {
    pub index: usize,
    pub uri: String,
    pub sha256: String,
    pub bin: String,
    /// The krew-supported os/arch pairs its selector matches.
    pub matches: Vec<(&'static str, &'static str)>,
}

impl PlatformEntry {
    pub fn is_windows(&self) -> bool {
        self.matches.iter().any(|(os, _)| *os == "windows")
    }

    /// The file name at the end of the uri.
    pub fn file_name(&self) -> &str {
        self.uri.rsplit('/').next().unwrap_or(&self.uri)
    }

    fn label(&self) -> String {
        let pairs: Vec<String> = self
            .matches
            .iter()
            .map(|(o, a)| format!("{o}/{a}"))
            .collect();
        format!("spec.platforms[{}] ({})", self.index, pairs.join(", "))
    }
}

/// The result of the structural checks.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub problems: Vec<String>,
    pub platforms: Vec<PlatformEntry>,
}

/// Checks manifest `text` whose file is named `NAME.yaml` (`name` = NAME). With `version`, the manifest's
/// version must be `v` + it.
pub fn check_manifest(text: &str, name: &str, version: Option<&str>) -> Report {
    let mut r = Report::default();
    let doc: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            r.problems.push(format!("not a YAML document: {e}"));
            return r;
        }
    };
    let p = &mut r.problems;

    match doc.get("apiVersion").and_then(Value::as_str) {
        Some(API_VERSION) => {}
        other => p.push(format!(
            "apiVersion is {other:?}, krew supports only {API_VERSION:?}"
        )),
    }
    match doc.get("kind").and_then(Value::as_str) {
        Some(KIND) => {}
        other => p.push(format!("kind is {other:?}, krew supports only {KIND:?}")),
    }
    if !is_safe_plugin_name(name) {
        p.push(format!("the file name {name:?} is not an allowed plugin name (^[\\w-]+$, not a reserved Windows name)"));
    }
    match doc.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str) {
        Some(n) if n == name => {}
        Some(n) => p.push(format!("metadata.name is {n:?} but the file is {name}.yaml: the plugin must be named after its file")),
        None => p.push("metadata.name is missing".to_string()),
    }

    let spec = doc.get("spec");
    let field = |k: &str| spec.and_then(|s| s.get(k)).and_then(Value::as_str);
    match field("shortDescription") {
        None | Some("") => p.push("spec.shortDescription is missing".to_string()),
        Some(s) if s.contains(['\r', '\n']) => {
            p.push("spec.shortDescription must not contain line breaks".to_string())
        }
        Some(s) if s.chars().count() > SHORT_DESCRIPTION_MAX => p.push(format!(
            "spec.shortDescription is {} characters, at most {SHORT_DESCRIPTION_MAX} allowed: {s:?}",
            s.chars().count()
        )),
        Some(_) => {}
    }
    if field("description").is_none_or(|d| d.trim().is_empty()) {
        p.push("spec.description is missing".to_string());
    }
    match field("homepage") {
        Some(h) if h.starts_with("https://") => {}
        Some(h) => p.push(format!("spec.homepage {h:?} is not an https URL")),
        None => p.push("spec.homepage is missing".to_string()),
    }
    match field("version") {
        None | Some("") => p.push("spec.version is missing".to_string()),
        Some(v) => {
            if let Err(e) = check_semver(v) {
                p.push(format!(
                    "spec.version {v:?} is not a semantic version with a leading v: {e}"
                ));
            } else if let Some(want) = version {
                if v != format!("v{want}") {
                    p.push(format!("spec.version is {v:?} but Cargo.toml's version is {want:?} (expected \"v{want}\")"));
                }
            }
        }
    }

    let platforms = spec.and_then(|s| s.get("platforms"));
    let list = match platforms {
        Some(Value::Sequence(l)) if !l.is_empty() => l.as_slice(),
        Some(Value::Sequence(_)) | None => {
            p.push(
                "spec.platforms is missing or empty: at least one platform is required".to_string(),
            );
            &[]
        }
        Some(_) => {
            p.push("spec.platforms is not a list".to_string());
            &[]
        }
    };
    for (i, pl) in list.iter().enumerate() {
        if let Some(entry) = check_platform(i, pl, p) {
            r.platforms.push(entry);
        }
    }
    // No os/arch pair may select two platforms (krew could not choose).
    for (os, arch) in KREW_PLATFORMS {
        let hits: Vec<usize> = r
            .platforms
            .iter()
            .filter(|e| e.matches.contains(&(os, arch)))
            .map(|e| e.index)
            .collect();
        if hits.len() > 1 {
            r.problems.push(format!(
                "spec.platforms {hits:?} have overlapping selectors: all select os={os}, arch={arch}"
            ));
        }
    }
    r
}

fn check_platform(i: usize, pl: &Value, p: &mut Vec<String>) -> Option<PlatformEntry> {
    let at = format!("spec.platforms[{i}]");
    let s = |k: &str| pl.get(k).and_then(Value::as_str).unwrap_or("");
    let uri = s("uri");
    if uri.is_empty() {
        p.push(format!("{at}.uri has to be set"));
    } else if !uri.starts_with("https://") {
        p.push(format!("{at}.uri {uri:?} is not an https URL"));
    }
    let sha256 = s("sha256");
    if sha256.is_empty() {
        p.push(format!("{at}.sha256 has to be set"));
    } else if !is_sha256(sha256) {
        p.push(format!(
            "{at}.sha256 {sha256:?} is not valid: must match ^[a-f0-9]{{64}}$ (lowercase hex)"
        ));
    }
    let bin = s("bin");
    if bin.is_empty() {
        p.push(format!("{at}.bin has to be set"));
    }
    check_files(&at, pl.get("files"), p);
    let matches = match pl.get("selector") {
        None | Some(Value::Null) => {
            p.push(format!(
                "{at}.selector is missing (a nil selector is not supported)"
            ));
            None
        }
        Some(sel) => match Selector::parse(sel) {
            Ok(sel) => {
                let m: Vec<(&str, &str)> = KREW_PLATFORMS
                    .into_iter()
                    .filter(|(os, arch)| sel.matches(os, arch))
                    .collect();
                if m.is_empty() {
                    p.push(format!(
                        "{at}.selector matches none of krew's supported os/arch pairs"
                    ));
                }
                Some(m)
            }
            Err(e) => {
                p.push(format!("{at}.selector is invalid: {e}"));
                None
            }
        },
    };
    let matches = matches?;
    if matches.iter().any(|(os, _)| *os == "windows") && !bin.is_empty() && !bin.ends_with(".exe") {
        p.push(format!(
            "{at}.bin {bin:?} selects Windows but does not end in .exe"
        ));
    }
    Some(PlatformEntry {
        index: i,
        uri: uri.to_string(),
        sha256: sha256.to_string(),
        bin: bin.to_string(),
        matches,
    })
}

fn check_files(at: &str, files: Option<&Value>, p: &mut Vec<String>) {
    match files {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(ops)) if ops.is_empty() => {
            p.push(format!("{at}.files has to be unspecified or non-empty"))
        }
        Some(Value::Sequence(ops)) => {
            for (j, op) in ops.iter().enumerate() {
                for key in ["from", "to"] {
                    if op
                        .get(key)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        p.push(format!("{at}.files[{j}].{key} has to be set"));
                    }
                }
            }
        }
        Some(_) => p.push(format!("{at}.files is not a list")),
    }
}

/// A krew platform selector (a Kubernetes label selector over the labels `os` and `arch`).
#[derive(Debug, Default)]
struct Selector {
    labels: Vec<(String, String)>,
    exprs: Vec<(String, Op, Vec<String>)>,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    fn parse(v: &Value) -> Result<Selector, String> {
        let map = v.as_mapping().ok_or("not a mapping")?;
        let mut sel = Selector::default();
        let mut any = false;
        for (k, val) in map {
            match k.as_str() {
                Some("matchLabels") => {
                    any = true;
                    let labels = val.as_mapping().ok_or("matchLabels is not a mapping")?;
                    if labels.is_empty() {
                        return Err("`matchLabels` specified but empty".into());
                    }
                    for (lk, lv) in labels {
                        let key = label_key(lk)?;
                        let value = scalar(lv)
                            .ok_or_else(|| format!("matchLabels.{key} is not a string"))?;
                        sel.labels.push((key, value));
                    }
                }
                Some("matchExpressions") => {
                    any = true;
                    let exprs = val.as_sequence().ok_or("matchExpressions is not a list")?;
                    if exprs.is_empty() {
                        return Err("`matchExpressions` specified but empty".into());
                    }
                    for e in exprs {
                        sel.exprs.push(parse_expr(e)?);
                    }
                }
                Some(other) => return Err(format!("unknown field {other:?}")),
                None => return Err("a key is not a string".into()),
            }
        }
        if !any {
            return Err("empty selector is not supported".into());
        }
        Ok(sel)
    }

    fn matches(&self, os: &str, arch: &str) -> bool {
        let get = |k: &str| match k {
            "os" => os,
            _ => arch,
        };
        self.labels.iter().all(|(k, v)| get(k) == v)
            && self.exprs.iter().all(|(k, op, vals)| {
                let has = vals.iter().any(|v| v == get(k));
                match op {
                    Op::In => has,
                    Op::NotIn => !has,
                    Op::Exists => true,
                    Op::DoesNotExist => false,
                }
            })
    }
}

fn parse_expr(e: &Value) -> Result<(String, Op, Vec<String>), String> {
    let m: &Mapping = e
        .as_mapping()
        .ok_or("a matchExpressions entry is not a mapping")?;
    let key = label_key(m.get("key").ok_or("a matchExpressions entry has no key")?)?;
    let op = match m.get("operator").and_then(Value::as_str) {
        Some("In") => Op::In,
        Some("NotIn") => Op::NotIn,
        Some("Exists") => Op::Exists,
        Some("DoesNotExist") => Op::DoesNotExist,
        other => {
            return Err(format!(
                "operator {other:?} of key {key:?} is not In, NotIn, Exists or DoesNotExist"
            ))
        }
    };
    let values: Vec<String> = match m.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(vs)) => vs
            .iter()
            .map(|v| scalar(v).ok_or_else(|| format!("a value of key {key:?} is not a string")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("values of key {key:?} is not a list")),
    };
    match op {
        Op::In | Op::NotIn if values.is_empty() => Err(format!(
            "operator {op:?} of key {key:?} needs at least one value"
        )),
        Op::Exists | Op::DoesNotExist if !values.is_empty() => {
            Err(format!("operator {op:?} of key {key:?} takes no values"))
        }
        _ => Ok((key, op, values)),
    }
}

fn label_key(k: &Value) -> Result<String, String> {
    match k.as_str() {
        Some(k @ ("os" | "arch")) => Ok(k.to_string()),
        Some(k) => Err(format!("key {k:?} not supported (only os and arch)")),
        None => Err("a label key is not a string".into()),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// krew's plugin name rule.
pub fn is_safe_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && !WINDOWS_RESERVED
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
}

/// `^[a-f0-9]{64}$`
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// krew's version rule: `v` + a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD]).
pub fn check_semver(v: &str) -> Result<(), String> {
    let rest = v.strip_prefix('v').ok_or("no leading v")?;
    let (rest, build) = match rest.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (rest, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let nums: Vec<&str> = core.split('.').collect();
    if nums.len() != 3 {
        return Err(format!("{core:?} is not MAJOR.MINOR.PATCH"));
    }
    for n in nums {
        if n.is_empty()
            || !n.bytes().all(|b| b.is_ascii_digit())
            || (n.len() > 1 && n.starts_with('0'))
        {
            return Err(format!("{n:?} is not a number without leading zeros"));
        }
    }
    for (what, ids) in [("pre-release", pre), ("build", build)] {
        if let Some(ids) = ids {
            for id in ids.split('.') {
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return Err(format!("{what} identifier {id:?} is invalid"));
                }
                if what == "pre-release"
                    && id.len() > 1
                    && id.starts_with('0')
                    && id.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(format!("pre-release identifier {id:?} has a leading zero"));
                }
            }
        }
    }
    Ok(())
}

/// What `krew install` would meet: for each platform, its archive (looked up in `dir` by the uri's file
/// name) must exist and match `sha256`; unpacked, it must contain `bin` (executable, for a non-Windows
/// platform) and a license file.
pub fn check_archives(platforms: &[PlatformEntry], dir: &Path) -> Vec<String> {
    let mut p = Vec::new();
    for pl in platforms {
        let at = pl.label();
        let file = pl.file_name();
        let path = dir.join(file);
        if !path.is_file() {
            p.push(format!(
                "{at}: archive {file} not found in {}",
                dir.display()
            ));
            continue;
        }
        match archive::sha256_file(&path) {
            Ok(sum) if sum == pl.sha256 => {}
            Ok(sum) => p.push(format!(
                "{at}: sha256 mismatch for {file}: the manifest says {}, the archive is {sum}",
                pl.sha256
            )),
            Err(e) => p.push(format!("{at}: {e}")),
        }
        let listed = match archive::list(&path) {
            Ok(l) => l,
            Err(e) => {
                p.push(format!("{at}: cannot read {file}: {e}"));
                continue;
            }
        };
        let bin = pl.bin.trim_start_matches("./");
        match listed.iter().find(|l| l.name == bin) {
            None => p.push(format!("{at}: bin {:?} is not in {file}", pl.bin)),
            Some(l) if !pl.is_windows() && l.mode.is_some_and(|m| m & 0o111 == 0) => {
                p.push(format!(
                    "{at}: bin {:?} in {file} is not executable (mode {:o})",
                    pl.bin,
                    l.mode.unwrap_or(0)
                ))
            }
            Some(_) => {}
        }
        let has_license = listed.iter().any(|l| {
            let base = l
                .name
                .rsplit('/')
                .next()
                .unwrap_or(&l.name)
                .to_ascii_lowercase();
            LICENSE_FILES.contains(&base.as_str())
        });
        if !has_license {
            let names: BTreeSet<&str> = listed.iter().map(|l| l.name.as_str()).collect();
            p.push(format!(
                "{at}: no LICENSE file in {file} (krew-index requires one of {}); it has: {}",
                LICENSE_FILES.join(", "),
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    p
}

/// Validates the manifest file at `path` (its plugin name is the file name without `.yaml`), and with
/// `archives` the archives it points to.
pub fn validate_file(path: &Path, archives: Option<&Path>, version: Option<&str>) -> Vec<String> {
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(name) = file_name.strip_suffix(".yaml") else {
        return vec![format!(
            "{}: a krew manifest's file name must end in .yaml",
            path.display()
        )];
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("{}: {e}", path.display())],
    };
    let mut report = check_manifest(&text, name, version);
    if let Some(dir) = archives {
        report
            .problems
            .extend(check_archives(&report.platforms, dir));
    }
    report.problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: graceful
spec:
  version: v1.2.3
  homepage: https://example.invalid/graceful
  shortDescription: Explain pod deaths; safe, graceful restarts
  description: |
    Long text.
  platforms:
  - selector:
      matchLabels:
        os: linux
        arch: amd64
    uri: https://example.invalid/a-linux.tar.gz
    sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
    bin: kubectl-graceful
  - selector:
      matchLabels:
        os: windows
        arch: amd64
    uri: https://example.invalid/a-windows.zip
    sha256: 486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7
    bin: kubectl-graceful.exe
"#;

    fn problems(text: &str) -> Vec<String> {
        check_manifest(text, "graceful", Some("1.2.3")).problems
    }

    /// `GOOD` with `from` replaced by `to` has exactly one problem, containing `expect`.
    fn broken(from: &str, to: &str, expect: &str) {
        assert!(GOOD.contains(from), "{from}");
        let p = problems(&GOOD.replacen(from, to, 1));
        assert_eq!(p.len(), 1, "{from} → {to}: {p:#?}");
        assert!(p[0].contains(expect), "{from} → {to}: {p:#?}");
    }

    #[test]
    fn the_good_manifest_passes() {
        let r = check_manifest(GOOD, "graceful", Some("1.2.3"));
        assert_eq!(r.problems, Vec::<String>::new());
        assert_eq!(r.platforms.len(), 2);
        assert_eq!(r.platforms[0].matches, [("linux", "amd64")]);
        assert!(r.platforms[1].is_windows());
        assert_eq!(r.platforms[1].file_name(), "a-windows.zip");
    }

    #[test]
    fn one_broken_manifest_per_rule() {
        broken(
            "krew.googlecontainertools.github.com/v1alpha2",
            "krew.googlecontainertools.github.com/v1alpha1",
            "apiVersion",
        );
        broken("kind: Plugin", "kind: Plugins", "kind");
        broken("name: graceful", "name: gracefull", "named after its file");
        broken(
            "shortDescription: Explain pod deaths; safe, graceful restarts",
            "shortDescription: \"\"",
            "shortDescription is missing",
        );
        broken(
            "shortDescription: Explain pod deaths; safe, graceful restarts",
            "shortDescription: \"two\\nlines\"",
            "line breaks",
        );
        broken(
            "shortDescription: Explain pod deaths; safe, graceful restarts",
            "shortDescription: Explain pod deaths and restart workloads gracefully",
            "at most 50",
        );
        broken(
            "  description: |\n    Long text.\n",
            "",
            "description is missing",
        );
        broken("homepage: https://", "homepage: http://", "homepage");
        broken("version: v1.2.3", "version: 1.2.3", "leading v");
        broken("version: v1.2.3", "version: v1.2", "MAJOR.MINOR.PATCH");
        broken("version: v1.2.3", "version: v01.2.3", "leading zeros");
        broken(
            "uri: https://example.invalid/a-linux.tar.gz",
            "uri: \"\"",
            "uri has to be set",
        );
        broken(
            "uri: https://example.invalid/a-linux.tar.gz",
            "uri: http://example.invalid/a.tar.gz",
            "not an https URL",
        );
        broken("sha256: 2cf24dba", "sha256: 2CF24DBA", "lowercase hex");
        broken(
            "sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            "sha256: abc",
            "^[a-f0-9]{64}$",
        );
        broken(
            "bin: kubectl-graceful\n",
            "bin: \"\"\n",
            "bin has to be set",
        );
        broken(
            "bin: kubectl-graceful.exe",
            "bin: kubectl-graceful",
            "does not end in .exe",
        );
        broken(
            "        os: linux\n",
            "        os: linux\n        cpu: x\n",
            "key \"cpu\" not supported",
        );
        broken(
            "        os: linux\n        arch: amd64\n",
            "        os: plan9\n        arch: amd64\n",
            "none of krew's supported",
        );
        broken(
            "      matchLabels:\n        os: linux\n        arch: amd64\n",
            "      matchLabels: {}\n",
            "specified but empty",
        );
        broken(
            "  - selector:\n      matchLabels:\n        os: linux\n        arch: amd64\n",
            "  - selector: {}\n",
            "empty selector",
        );
        broken(
            "      matchLabels:\n        os: linux\n        arch: amd64\n",
            "      matchExpressions:\n      - key: os\n        operator: In\n",
            "needs at least one value",
        );
        broken(
            "      matchLabels:\n        os: linux\n        arch: amd64\n",
            "      matchExpressions:\n      - key: os\n        operator: Equals\n        values: [linux]\n",
            "operator",
        );
        broken(
            "    bin: kubectl-graceful\n",
            "    bin: kubectl-graceful\n    files: []\n",
            "files has to be unspecified or non-empty",
        );
        broken(
            "    bin: kubectl-graceful\n",
            "    bin: kubectl-graceful\n    files:\n    - from: \"*\"\n",
            "files[0].to has to be set",
        );
        // `os: linux` with any arch also selects linux/amd64, which platform 0 selects.
        broken(
            "        os: windows\n        arch: amd64\n",
            "        os: linux\n",
            "overlapping selectors",
        );
    }

    #[test]
    fn whole_document_rules() {
        let p = check_manifest(GOOD, "graceful", Some("1.2.4")).problems;
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("Cargo.toml's version is \"1.2.4\""), "{p:?}");

        let p = check_manifest(GOOD, "CON", None).problems;
        assert!(
            p.iter().any(|m| m.contains("not an allowed plugin name")),
            "{p:?}"
        );

        let no_platforms =
            GOOD.split("  platforms:").next().unwrap().to_string() + "  platforms: []\n";
        let p = problems(&no_platforms);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("at least one platform"), "{p:?}");

        assert!(problems("{ not yaml")[0].contains("not a YAML document"));
    }

    #[test]
    fn match_expressions_are_evaluated_like_kubernetes() {
        let linux_not_arm = GOOD.replacen(
            "      matchLabels:\n        os: linux\n        arch: amd64\n",
            "      matchExpressions:\n      - key: os\n        operator: In\n        values: [linux]\n      - key: arch\n        operator: NotIn\n        values: [arm, \"386\"]\n",
            1,
        );
        let r = check_manifest(&linux_not_arm, "graceful", None);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(
            r.platforms[0].matches,
            [("linux", "amd64"), ("linux", "arm64"), ("linux", "ppc64le")]
        );
    }

    #[test]
    fn semver() {
        for ok in [
            "v0.1.0",
            "v1.2.3-rc.1",
            "v1.2.3+build.5",
            "v10.20.30-alpha-1",
        ] {
            assert_eq!(check_semver(ok), Ok(()), "{ok}");
        }
        for bad in [
            "1.2.3",
            "v1.2",
            "v1.2.3.4",
            "v1.x.3",
            "v1.2.3-",
            "v1.2.3-01",
            "V1.2.3",
        ] {
            assert!(check_semver(bad).is_err(), "{bad}");
        }
    }
}
