//! This project's own checks on a krew manifest and its archives: only what krew-index's validator
//! (`validate-krew-manifest`, run by [`crate::krew_index`]) does not check, so the two can never
//! disagree. Structure, names, semver, sha256 form, selectors and their overlaps are krew's to judge.
//!
//! Ours:
//! - the fields we read are strings as krew's YAML parser reads them (a plain `sha256: 000…0` is the
//!   number 0 to sigs.k8s.io/yaml and to serde_yaml alike, and krew refuses the manifest);
//! - `spec.version` is `v` + Cargo.toml's version;
//! - `shortDescription` fits krew-index's guideline of 50 characters (krew only warns past 70);
//! - uris are https (loopback addresses allowed, for local installs and tests);
//! - each platform names its `os` and `arch` in `matchLabels` (how our template writes them), and a
//!   Windows `bin` ends in `.exe`;
//! - given the archives: each exists, matches its sha256, and holds `bin` (executable) and a LICENSE,
//!   checked offline, before anything is uploaded.
//!
//! Every function returns the list of problems found (empty = valid) instead of stopping at the first.

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml::Value;

use crate::archive;

/// krew-index's guideline for `shortDescription`.
pub const SHORT_DESCRIPTION_MAX: usize = 50;

/// File names (case-insensitive) krew-index accepts as the license in an installed plugin
/// (validate-krew-manifest's `licenseFiles`).
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

/// One platform of a manifest, as far as our checks read it.
#[derive(Debug, Clone)]
pub struct PlatformEntry {
    pub index: usize,
    pub uri: String,
    pub sha256: String,
    pub bin: String,
    /// `(os, arch)` from the selector's `matchLabels`.
    pub matches: Vec<(String, String)>,
}

impl PlatformEntry {
    pub fn is_windows(&self) -> bool {
        self.matches.iter().any(|(os, _)| os == "windows")
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

/// The result of the manifest checks.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub problems: Vec<String>,
    pub platforms: Vec<PlatformEntry>,
}

/// What krew's YAML parser (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1 rules) makes of a plain,
/// unquoted scalar that is not a string: `Some("number")`, `Some("boolean")` or `Some("null")`.
pub fn yaml11_non_string(plain: &str) -> Option<&'static str> {
    const NULLS: [&str; 5] = ["", "~", "null", "Null", "NULL"];
    const BOOLS: [&str; 22] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ];
    if NULLS.contains(&plain) {
        return Some("null");
    }
    if BOOLS.contains(&plain) {
        return Some("boolean");
    }
    let unsigned = plain.strip_prefix(['-', '+']).unwrap_or(plain);
    let digits =
        |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c == '_' || c.is_digit(radix));
    let is_int = digits(unsigned, 10)
        || unsigned.strip_prefix("0x").is_some_and(|r| digits(r, 16))
        || unsigned.strip_prefix("0o").is_some_and(|r| digits(r, 8))
        || unsigned.strip_prefix("0b").is_some_and(|r| digits(r, 2));
    // go-yaml's float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, plus .inf and .nan.
    let is_float = {
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
            None => (unsigned, None),
        };
        let mantissa_ok = match mantissa.split_once('.') {
            Some((int, frac)) => {
                (int.is_empty() && digits(frac, 10))
                    || (digits(int, 10) && (frac.is_empty() || digits(frac, 10)))
            }
            None => digits(mantissa, 10),
        };
        let exponent_ok =
            exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
        mantissa_ok && exponent_ok
    };
    let special = [".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"].contains(&unsigned);
    (is_int || is_float || special).then_some("number")
}

/// A string field as krew reads it: numbers, booleans and null where a string belongs make krew
/// refuse the manifest, so they are problems here too (with the fix: quote the value). serde_yaml
/// follows YAML 1.2 and reads some of them (`000…0`, `yes`) as strings, so the raw line decides
/// whether the value was written plain.
fn krew_string(
    text: &str,
    key: &str,
    v: Option<&Value>,
    at: &str,
    p: &mut Vec<String>,
) -> Option<String> {
    let refused = |what: String| {
        format!("{at} is read as {what} by krew's YAML parser (sigs.k8s.io/yaml): quote the value")
    };
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            if let Some(kind) = yaml11_non_string(s) {
                if written_plain(text, key, s) {
                    p.push(refused(format!("a {kind}, not the string {s:?},")));
                    return None;
                }
            }
            Some(s.clone())
        }
        Some(Value::Number(n)) => {
            p.push(refused(format!("the number {n}")));
            None
        }
        Some(Value::Bool(b)) => {
            p.push(refused(format!("the boolean {b}")));
            None
        }
        Some(_) => {
            p.push(format!("{at} is not a string"));
            None
        }
    }
}

/// Whether some line of `text` is `key: value` with `value` unquoted (also as a list item, `- key:`).
fn written_plain(text: &str, key: &str, value: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("- ").unwrap_or(line).trim_start();
        line.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|rest| rest.split(" #").next().unwrap_or(rest).trim())
            .is_some_and(|v| v == value)
    })
}

/// Checks manifest `text`. With `version`, the manifest's version must be `v` + it.
pub fn check_manifest(text: &str, version: Option<&str>) -> Report {
    let mut r = Report::default();
    let doc: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            r.problems.push(format!("not a YAML document: {e}"));
            return r;
        }
    };
    let p = &mut r.problems;
    let spec = doc.get("spec");
    let field = |k: &str| spec.and_then(|s| s.get(k));

    if let Some(s) = krew_string(
        text,
        "shortDescription",
        field("shortDescription"),
        "spec.shortDescription",
        p,
    ) {
        if s.chars().count() > SHORT_DESCRIPTION_MAX {
            p.push(format!(
                "spec.shortDescription is {} characters, krew-index asks for at most {SHORT_DESCRIPTION_MAX}: {s:?}",
                s.chars().count()
            ));
        }
    }
    if let (Some(v), Some(want)) = (
        krew_string(text, "version", field("version"), "spec.version", p),
        version,
    ) {
        if v != format!("v{want}") {
            p.push(format!(
                "spec.version is {v:?} but Cargo.toml's version is {want:?} (expected \"v{want}\")"
            ));
        }
    }
    if let Some(Value::Sequence(list)) = field("platforms") {
        for (i, pl) in list.iter().enumerate() {
            r.platforms.push(check_platform(text, i, pl, p));
        }
    }
    r
}

fn check_platform(text: &str, i: usize, pl: &Value, p: &mut Vec<String>) -> PlatformEntry {
    let at = format!("spec.platforms[{i}]");
    let mut field = |k: &str, v: Option<&Value>, at: &str| krew_string(text, k, v, at, p);
    let uri = field("uri", pl.get("uri"), &format!("{at}.uri")).unwrap_or_default();
    let sha256 = field("sha256", pl.get("sha256"), &format!("{at}.sha256")).unwrap_or_default();
    let bin = field("bin", pl.get("bin"), &format!("{at}.bin")).unwrap_or_default();
    let labels = pl.get("selector").and_then(|s| s.get("matchLabels"));
    let mut label = |k: &str| {
        field(
            k,
            labels.and_then(|l| l.get(k)),
            &format!("{at}.selector.matchLabels.{k}"),
        )
    };
    let os_arch = (label("os"), label("arch"));
    if !uri.is_empty() && !uri.starts_with("https://") && !is_loopback_url(&uri) {
        p.push(format!("{at}.uri {uri:?} is not an https URL"));
    }
    let both_named = ["os", "arch"]
        .iter()
        .all(|k| labels.and_then(|l| l.get(*k)).is_some());
    let matches = match os_arch {
        (Some(os), Some(arch)) => vec![(os, arch)],
        // A value krew cannot read was reported above.
        _ if both_named => Vec::new(),
        _ => {
            p.push(format!(
                "{at}.selector: this project's manifests name both os and arch in matchLabels"
            ));
            Vec::new()
        }
    };
    let entry = PlatformEntry {
        index: i,
        uri,
        sha256,
        bin,
        matches,
    };
    if entry.is_windows() && !entry.bin.ends_with(".exe") {
        p.push(format!(
            "{at}.bin {:?} selects Windows but does not end in .exe",
            entry.bin
        ));
    }
    entry
}

/// `http://127.0.0.1…` or `http://localhost…`: a local install or a test, never a release.
fn is_loopback_url(uri: &str) -> bool {
    let rest = uri.strip_prefix("http://").unwrap_or("");
    rest.starts_with("127.0.0.1") || rest.starts_with("localhost") || rest.starts_with("[::1]")
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

/// Checks the manifest file at `path`, and with `archives` the archives it points to.
pub fn validate_file(path: &Path, archives: Option<&Path>, version: Option<&str>) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("{}: {e}", path.display())],
    };
    let mut report = check_manifest(&text, version);
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
    sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    bin: kubectl-graceful
  - selector:
      matchLabels:
        os: windows
        arch: amd64
    uri: https://example.invalid/a-windows.zip
    sha256: "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
    bin: kubectl-graceful.exe
"#;

    fn broken(from: &str, to: &str, expect: &str) {
        assert!(GOOD.contains(from), "{from:?} is not in the good manifest");
        let p = check_manifest(&GOOD.replacen(from, to, 1), Some("1.2.3")).problems;
        assert_eq!(p.len(), 1, "{to:?}: {p:?}");
        assert!(p[0].contains(expect), "{to:?}: {p:?}");
    }

    #[test]
    fn the_good_manifest_passes() {
        let r = check_manifest(GOOD, Some("1.2.3"));
        assert_eq!(r.problems, Vec::<String>::new());
        assert_eq!(r.platforms.len(), 2);
        assert_eq!(r.platforms[0].matches, [("linux".into(), "amd64".into())]);
        assert!(r.platforms[1].is_windows());
        assert_eq!(r.platforms[1].file_name(), "a-windows.zip");
    }

    #[test]
    fn one_broken_manifest_per_rule() {
        // What krew's YAML parser reads as a number: a sha256 of digits only, unquoted.
        broken(
            "\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "read as a number, not the string",
        );
        broken("version: v1.2.3", "version: v1.2.4", "Cargo.toml's version");
        broken(
            "shortDescription: Explain pod deaths; safe, graceful restarts",
            "shortDescription: Explain pod deaths and restart workloads gracefully",
            "at most 50",
        );
        broken(
            "uri: https://example.invalid/a-linux.tar.gz",
            "uri: http://example.invalid/a.tar.gz",
            "not an https URL",
        );
        broken(
            "bin: kubectl-graceful.exe",
            "bin: kubectl-graceful",
            "does not end in .exe",
        );
        broken(
            "      matchLabels:\n        os: linux\n        arch: amd64\n",
            "      matchExpressions:\n      - {key: os, operator: In, values: [linux]}\n",
            "name both os and arch",
        );
        broken("arch: amd64", "arch: true", "read as the boolean true");
        broken(
            "os: linux",
            "os: yes",
            "read as a boolean, not the string \"yes\"",
        );
    }

    #[test]
    fn plain_scalars_resolve_as_in_yaml_1_1() {
        for n in [
            "0000", "12", "-3", "1_000", "0x1F", "0o17", "1.5", "1e9", "2E-3", ".5", ".inf",
        ] {
            assert_eq!(yaml11_non_string(n), Some("number"), "{n}");
        }
        for b in ["yes", "No", "on", "OFF", "y", "true"] {
            assert_eq!(yaml11_non_string(b), Some("boolean"), "{b}");
        }
        for s in [
            "2cf24dba", "1e", "e5", "v1.2.3", "1.2.3", "amd64", "0xg", "linux",
        ] {
            assert_eq!(yaml11_non_string(s), None, "{s}");
        }
    }

    #[test]
    fn loopback_http_is_allowed_for_local_installs() {
        let local = GOOD.replacen(
            "https://example.invalid/a-linux.tar.gz",
            "http://127.0.0.1:8080/a-linux.tar.gz",
            1,
        );
        assert_eq!(check_manifest(&local, None).problems, Vec::<String>::new());
    }
}
