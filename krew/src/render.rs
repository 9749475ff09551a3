//! Renders the krew manifest from the krew-release-bot template `krew/.krew.yaml`.
//!
//! The template is the one source of the manifest's text: krew-release-bot renders it on each release for
//! its krew-index pull request, and this renderer renders the same file for the manifest attached to the
//! release, for `dist` and for the committed `krew/graceful.yaml`. Only the bot's two constructs are
//! replaced, exactly as the bot does, and everything else is copied byte for byte:
//!
//! - `{{ .TagName }}` (any spacing) → `vVERSION`;
//! - `{{addURIAndSha "URL" .TagName }}` → `uri: URL` + newline + `    sha256: "HEX"` (the bot's output, four
//!   spaces before `sha256:`, so platform keys in the template are indented by four spaces; quoted here,
//!   where the bot does not quote, because krew's YAML parser reads a sha256 of digits only as a number). `{{ .TagName }}`
//!   inside URL is expanded first. With a base URL, the URL's directory is replaced by it and its file name
//!   kept.
//!
//! Any other `{{` is an error, so the template cannot use a construct this renderer does not understand.

use std::path::{Path, PathBuf};

use crate::platform;
use crate::{archive, Error, Result};

/// The template, relative to the repository root (also the workflow's `krew_template_file`).
pub const TEMPLATE: &str = "krew/.krew.yaml";

/// The committed manifest, relative to the repository root.
pub const COMMITTED: &str = "krew/graceful.yaml";

/// The command that regenerates [`COMMITTED`].
pub const REGENERATE: &str = "cargo xtask manifest --unreleased";

/// The sha256 of every platform in an unreleased manifest: krew refuses to install any archive with it.
pub const PLACEHOLDER_SHA256: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Where each platform's sha256 comes from.
#[derive(Debug, Clone)]
pub enum Shas {
    /// No release yet: every sha256 is [`PLACEHOLDER_SHA256`] and a comment header says so.
    Unreleased,
    /// The archives in `dir` (looked up by the file name of each `uri`).
    Archives {
        dir: PathBuf,
        /// Leave a platform out (with a warning) when its archive is missing, instead of failing.
        allow_missing: bool,
        /// When a platform's release archive is missing, use an archive of the same version whose triple
        /// runs on the same os/arch (e.g. a local `x86_64-unknown-linux-gnu` build for linux/amd64; see
        /// [`platform::os_arch`]). The `uri` then names that archive. Used by `dist`.
        local_substitutes: bool,
    },
}

/// A rendered manifest.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: String,
    /// Platforms left out or substituted.
    pub warnings: Vec<String>,
}

/// The header of an unreleased manifest.
pub fn unreleased_header(version: &str) -> String {
    format!(
        "# krew manifest for kubectl-graceful v{version}, before its release.\n\
         # The sha256 values are placeholders (64 zeros) until the release workflow renders the real\n\
         # manifest from the release archives; krew refuses to install with them, so this fails safe.\n\
         # Generated from {TEMPLATE} by `{REGENERATE}`; do not edit by hand.\n"
    )
}

/// Reads the template from the repository root and renders it.
pub fn render_file(
    root: &Path,
    version: &str,
    base_url: Option<&str>,
    shas: &Shas,
) -> Result<Rendered> {
    let path = root.join(TEMPLATE);
    let template = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    render(&template, version, base_url, shas).map_err(|e| {
        let msg = e.to_string();
        if msg.starts_with("line ") {
            Error::new(format!("{}: {msg}", path.display()))
        } else {
            e
        }
    })
}

/// Renders `template` for `version` (without the leading `v`).
pub fn render(
    template: &str,
    version: &str,
    base_url: Option<&str>,
    shas: &Shas,
) -> Result<Rendered> {
    let tag = format!("v{version}");
    let lines: Vec<&str> = template.split_inclusive('\n').collect();
    let items = platform_items(&lines);
    let mut dropped = vec![false; items.len()];
    let mut out_lines: Vec<String> = Vec::with_capacity(lines.len());
    let mut warnings = Vec::new();

    for (i, line) in lines.iter().enumerate() {
        let item = items.iter().position(|r| r.contains(&i));
        let mut rendered = String::new();
        let mut rest: &str = line;
        while let Some(start) = rest.find("{{") {
            rendered.push_str(&rest[..start]);
            let after = &rest[start..];
            if let Some((url, len)) = parse_add_uri_and_sha(after) {
                let url = expand_tag(url, &tag, i)?;
                match resolve(&url, version, base_url, shas)? {
                    Resolved::Found {
                        uri,
                        sha256,
                        warning,
                    } => {
                        warnings.extend(warning);
                        // Quoted: a sha256 of digits only would be a number to krew's YAML parser.
                        rendered.push_str(&format!("uri: {uri}\n    sha256: \"{sha256}\""));
                    }
                    Resolved::Missing(msg) => {
                        let Some(item) = item else {
                            return Err(Error::new(format!(
                                "line {}: addURIAndSha outside a platforms entry",
                                i + 1
                            )));
                        };
                        dropped[item] = true;
                        warnings.push(format!("{msg}: platform left out of the manifest"));
                    }
                }
                rest = &after[len..];
            } else if let Some(len) = tag_name_len(after) {
                rendered.push_str(&tag);
                rest = &after[len..];
            } else {
                return Err(Error::new(format!(
                    "line {}: unsupported template construct (only {{{{ .TagName }}}} and \
                     {{{{addURIAndSha \"URL\" .TagName }}}} are rendered): {}",
                    i + 1,
                    line.trim_end()
                )));
            }
        }
        rendered.push_str(rest);
        out_lines.push(rendered);
    }

    let mut text = String::new();
    if matches!(shas, Shas::Unreleased) {
        text.push_str(&unreleased_header(version));
    }
    for (i, line) in out_lines.iter().enumerate() {
        if let Some(item) = items.iter().position(|r| r.contains(&i)) {
            if dropped[item] {
                continue;
            }
        }
        text.push_str(line);
    }
    if !dropped.is_empty() && dropped.iter().all(|d| *d) {
        return Err(Error::new(
            "no archive for any platform: the manifest would be empty",
        ));
    }
    Ok(Rendered { text, warnings })
}

enum Resolved {
    Found {
        uri: String,
        sha256: String,
        warning: Option<String>,
    },
    Missing(String),
}

fn resolve(url: &str, version: &str, base_url: Option<&str>, shas: &Shas) -> Result<Resolved> {
    let (dir_url, file) = url
        .rsplit_once('/')
        .ok_or_else(|| Error::new(format!("addURIAndSha URL without a file name: {url}")))?;
    let dir_url = base_url.map(|b| b.trim_end_matches('/')).unwrap_or(dir_url);
    let uri = |file: &str| format!("{dir_url}/{file}");
    match shas {
        Shas::Unreleased => Ok(Resolved::Found {
            uri: uri(file),
            sha256: PLACEHOLDER_SHA256.to_string(),
            warning: None,
        }),
        Shas::Archives {
            dir,
            allow_missing,
            local_substitutes,
        } => {
            let path = dir.join(file);
            if path.is_file() {
                return Ok(Resolved::Found {
                    uri: uri(file),
                    sha256: archive::sha256_file(&path)?,
                    warning: None,
                });
            }
            if *local_substitutes {
                if let Some(sub) = substitute(dir, file, version)? {
                    let sha256 = archive::sha256_file(&dir.join(&sub))?;
                    return Ok(Resolved::Found {
                        warning: Some(format!(
                            "{file} not in {}: using {sub} instead",
                            dir.display()
                        )),
                        uri: uri(&sub),
                        sha256,
                    });
                }
            }
            let msg = format!("archive {file} not found in {}", dir.display());
            if *allow_missing {
                Ok(Resolved::Missing(msg))
            } else {
                Err(Error::new(msg))
            }
        }
    }
}

/// An archive in `dir` of `version` for the same os/arch as the release archive `file`.
fn substitute(dir: &Path, file: &str, version: &str) -> Result<Option<String>> {
    let Some(want) = platform::triple_of_archive(file, version).and_then(|t| platform::os_arch(&t))
    else {
        return Ok(None);
    };
    let mut candidates = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(triple) = platform::triple_of_archive(&name, version) {
            if platform::os_arch(&triple) == Some(want) && entry.path().is_file() {
                candidates.push(name);
            }
        }
    }
    candidates.sort();
    Ok(candidates.into_iter().next())
}

/// Line ranges of the entries of `spec.platforms` (each starts at a `- ` line of the list).
fn platform_items(lines: &[&str]) -> Vec<std::ops::Range<usize>> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let blank = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    let Some(start) = lines.iter().position(|l| l.trim_end() == "  platforms:") else {
        return Vec::new();
    };
    let mut items = Vec::new();
    let mut item_indent = None;
    let mut current: Option<usize> = None;
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        if blank(line) {
            continue;
        }
        let ind = indent(line);
        let is_item = line.trim_start().starts_with("- ") || line.trim() == "-";
        let item_ind = *item_indent.get_or_insert(ind);
        if is_item && ind == item_ind {
            if let Some(s) = current.replace(i) {
                items.push(s..i);
            }
        } else if ind <= item_ind {
            end = i;
            break;
        }
    }
    if let Some(s) = current {
        items.push(s..end);
    }
    items
}

/// `{{ .TagName }}` at the start of `s` (any spacing): its length.
fn tag_name_len(s: &str) -> Option<usize> {
    let inner = s.strip_prefix("{{")?;
    let close = inner.find("}}")?;
    (inner[..close].trim() == ".TagName").then_some(2 + close + 2)
}

/// `{{addURIAndSha "URL" .TagName }}` at the start of `s` (any spacing): the URL and the construct's length.
fn parse_add_uri_and_sha(s: &str) -> Option<(&str, usize)> {
    let inner = s.strip_prefix("{{")?;
    let body = inner.trim_start();
    let body = body.strip_prefix("addURIAndSha")?;
    let args = body.trim_start();
    if args.len() == body.len() {
        return None; // `addURIAndShaX`
    }
    let args = args.strip_prefix('"')?;
    let q = args.find('"')?;
    let url = &args[..q];
    let tail = args[q + 1..].trim_start();
    let tail = tail.strip_prefix(".TagName")?;
    let tail_trimmed = tail.trim_start();
    let close = tail_trimmed.strip_prefix("}}")?;
    Some((url, s.len() - close.len()))
}

fn expand_tag(url: &str, tag: &str, line: usize) -> Result<String> {
    let mut out = String::new();
    let mut rest = url;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let len = tag_name_len(&rest[start..]).ok_or_else(|| {
            Error::new(format!(
                "line {}: unsupported construct in addURIAndSha URL: {url}",
                line + 1
            ))
        })?;
        out.push_str(tag);
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "spec:\n  version: {{ .TagName }}\n  platforms:\n  - selector:\n      matchLabels:\n        os: linux\n    {{addURIAndSha \"https://h/d/{{ .TagName }}/kubectl-graceful-{{.TagName}}-x86_64-unknown-linux-musl.tar.gz\" .TagName }}\n    bin: a\n  - selector:\n      matchLabels:\n        os: windows\n    {{ addURIAndSha \"https://h/d/{{ .TagName }}/kubectl-graceful-{{ .TagName }}-x86_64-pc-windows-msvc.zip\" .TagName }}\n    bin: a.exe\n  caveats: x\n";

    fn dist(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, data) in files {
            std::fs::write(d.path().join(name), data).unwrap();
        }
        d
    }

    #[test]
    fn unreleased_replaces_only_the_two_constructs() {
        let r = render(T, "1.2.3", None, &Shas::Unreleased).unwrap();
        let body = r.text.split_once("do not edit by hand.\n").unwrap().1;
        let expected = T
            .replace(
                "{{addURIAndSha \"https://h/d/{{ .TagName }}/kubectl-graceful-{{.TagName}}-x86_64-unknown-linux-musl.tar.gz\" .TagName }}",
                &format!("uri: https://h/d/v1.2.3/kubectl-graceful-v1.2.3-x86_64-unknown-linux-musl.tar.gz\n    sha256: \"{PLACEHOLDER_SHA256}\""),
            )
            .replace(
                "{{ addURIAndSha \"https://h/d/{{ .TagName }}/kubectl-graceful-{{ .TagName }}-x86_64-pc-windows-msvc.zip\" .TagName }}",
                &format!("uri: https://h/d/v1.2.3/kubectl-graceful-v1.2.3-x86_64-pc-windows-msvc.zip\n    sha256: \"{PLACEHOLDER_SHA256}\""),
            )
            .replace("{{ .TagName }}", "v1.2.3");
        assert_eq!(body, expected);
        assert!(r
            .text
            .starts_with("# krew manifest for kubectl-graceful v1.2.3"));
    }

    #[test]
    fn archives_give_real_sha256_and_base_url_replaces_the_directory() {
        let d = dist(&[
            (
                "kubectl-graceful-v1.2.3-x86_64-unknown-linux-musl.tar.gz",
                "linux",
            ),
            (
                "kubectl-graceful-v1.2.3-x86_64-pc-windows-msvc.zip",
                "windows",
            ),
        ]);
        let shas = Shas::Archives {
            dir: d.path().into(),
            allow_missing: false,
            local_substitutes: false,
        };
        let r = render(T, "1.2.3", Some("https://example.invalid/rel/"), &shas).unwrap();
        assert!(r.text.contains(&format!(
            "    uri: https://example.invalid/rel/kubectl-graceful-v1.2.3-x86_64-pc-windows-msvc.zip\n    sha256: \"{}\"\n",
            archive::sha256_hex(b"windows")
        )), "{}", r.text);
        assert!(r.text.contains(&archive::sha256_hex(b"linux")));
        assert!(!r.text.starts_with('#'));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn a_missing_archive_is_an_error_naming_it_unless_allowed() {
        let d = dist(&[(
            "kubectl-graceful-v1.2.3-x86_64-unknown-linux-musl.tar.gz",
            "linux",
        )]);
        let mut shas = Shas::Archives {
            dir: d.path().into(),
            allow_missing: false,
            local_substitutes: false,
        };
        let err = render(T, "1.2.3", None, &shas).unwrap_err().to_string();
        assert!(
            err.contains("kubectl-graceful-v1.2.3-x86_64-pc-windows-msvc.zip"),
            "{err}"
        );

        if let Shas::Archives { allow_missing, .. } = &mut shas {
            *allow_missing = true;
        }
        let r = render(T, "1.2.3", None, &shas).unwrap();
        assert!(!r.text.contains("windows"), "{}", r.text);
        assert!(!r.text.contains("a.exe"), "{}", r.text);
        assert!(
            r.text.contains("os: linux") && r.text.ends_with("    bin: a\n  caveats: x\n"),
            "{}",
            r.text
        );
        assert_eq!(r.warnings.len(), 1);
        assert!(
            r.warnings[0].contains("x86_64-pc-windows-msvc.zip"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn a_local_build_stands_in_for_its_os_arch() {
        let d = dist(&[(
            "kubectl-graceful-v1.2.3-x86_64-unknown-linux-gnu.tar.gz",
            "gnu",
        )]);
        let shas = Shas::Archives {
            dir: d.path().into(),
            allow_missing: true,
            local_substitutes: true,
        };
        let r = render(T, "1.2.3", None, &shas).unwrap();
        assert!(r.text.contains(&format!(
            "uri: https://h/d/v1.2.3/kubectl-graceful-v1.2.3-x86_64-unknown-linux-gnu.tar.gz\n    sha256: \"{}\"",
            archive::sha256_hex(b"gnu")
        )), "{}", r.text);
        // Only linux/amd64 had an archive.
        assert!(!r.text.contains("windows"));
        // No archive of the version at all: an error, not an empty manifest.
        let empty = dist(&[(
            "kubectl-graceful-v9.9.9-x86_64-unknown-linux-gnu.tar.gz",
            "old",
        )]);
        let shas = Shas::Archives {
            dir: empty.path().into(),
            allow_missing: true,
            local_substitutes: true,
        };
        assert!(render(T, "1.2.3", None, &shas).is_err());
    }

    #[test]
    fn unknown_constructs_are_refused() {
        for bad in [
            "x: {{ .Version }}\n",
            "  {{addURIAndSha \"https://h/{{ .TagName }}/a.zip\" .TagName | indent 6 }}\n",
            "  {{addURIAndSha \"https://h/{{ .Version }}/a.zip\" .TagName }}\n",
        ] {
            let t = format!("  platforms:\n  - selector: {{}}\n{bad}");
            let err = render(&t, "1.0.0", None, &Shas::Unreleased)
                .unwrap_err()
                .to_string();
            assert!(err.contains("unsupported"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_template_names_each_release_archive() {
        let template = std::fs::read_to_string(crate::repo_root().join(TEMPLATE)).unwrap();
        let r = render(&template, "1.2.3", None, &Shas::Unreleased).unwrap();
        for p in platform::PLATFORMS {
            let name = platform::archive_name("1.2.3", p.triple);
            assert_eq!(
                r.text.matches(&format!("/v1.2.3/{name}\n")).count(),
                1,
                "{name}"
            );
        }
    }
}
