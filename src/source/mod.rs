//! The one manifest loader of every `-f` (explain's saved pods and events, diagnose's manifests):
//! reading a file (or `-` for stdin) as kubectl does (UTF-8 with or without a BOM, UTF-16 with a BOM:
//! `unicode.BOMOverride` in cli-runtime's resource/visitor.go), splitting it into YAML or JSON
//! documents ([`documents`]), and handing out its objects one by one with the [`Origin`] they start at,
//! the items of `List`s included ([`each_object`]). What cannot be used is an [`InputError`] at
//! `file:line[:column]`; read failures are one short reason, without OS error numbers. Which kinds mean
//! something is each command's business (`explain::offline`, `diagnose::input`). A command may read a
//! document straight into a typed object first ([`each_object_or_direct`], [`typed`]): a short cut
//! for large inputs that leaves every document it cannot read exactly as the long way to the long way.

pub mod documents;
pub mod typed;

use std::io::Read;
use std::path::Path;

use serde::Serialize;

/// A part of the input that could not be used.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputError {
    /// `file:line[:column]`, or what could not be read.
    pub source: String,
    pub message: String,
}

impl InputError {
    /// The one error of a command that reads one input and stops at its first problem (explain):
    /// `file: line L column C: message` for a syntax error, else `file:line: message`. (diagnose lists
    /// many as `file:line:column: message`; tests/it/explain/ pins "line " in explain's wording.)
    pub fn into_error(self) -> crate::error::Error {
        let mut parts = self.source.rsplitn(3, ':');
        let (col, line, file) = (parts.next(), parts.next(), parts.next());
        match (file, line, col) {
            (Some(f), Some(l), Some(c))
                if l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok() =>
            {
                crate::error::Error::input(f, format!("line {l} column {c}: {}", self.message))
            }
            _ => crate::error::Error::input(self.source, self.message),
        }
    }
}

/// Where a workload was read: a manifest (file, line of the object, item of a `List`) or the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file as given (`<stdin>` for `-`); None: read from the cluster.
    pub file: Option<String>,
    /// 1-based line the object starts on.
    pub line: Option<usize>,
    /// Index in a `List`'s items.
    pub item: Option<usize>,
}

impl Origin {
    pub fn file(file: &str, line: usize, item: Option<usize>) -> Origin {
        Origin {
            file: Some(file.to_string()),
            line: Some(line),
            item,
        }
    }

    /// `file:line`, `file:line (item N)`, or `cluster`.
    pub fn text(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => match self.item {
                Some(i) => format!("{f}:{l} (item {i})"),
                None => format!("{f}:{l}"),
            },
            (Some(f), None) => f.clone(),
            _ => "cluster".to_string(),
        }
    }
}

/// Every object of a file's text, in order, each with where it starts: the documents ([`documents`])
/// and the items of Lists (`kind: List`, `PodList` …), whose items get the list's kind and apiVersion
/// when they lack them (the API server leaves them out of typed lists). A document that is not YAML, or
/// a List whose `items` is not a list, is an [`InputError`]; the rest of the file is still read.
pub fn each_object(
    name: &str,
    text: &str,
    f: impl FnMut(Result<(Origin, serde_yaml::Value), InputError>),
) {
    each_object_or_direct(name, text, |_, _| false, f);
}

/// [`each_object`], offering each YAML document's text first to `direct(origin, text)`: it returns
/// true when it has read the document itself (straight into a typed object with [`typed::typed`],
/// the fast way for large inputs), false to have it parsed and handed to `f` as usual.
pub fn each_object_or_direct(
    name: &str,
    text: &str,
    mut direct: impl FnMut(&Origin, &str) -> bool,
    mut f: impl FnMut(Result<(Origin, serde_yaml::Value), InputError>),
) {
    documents::each_parsed_or_direct(
        name,
        text,
        |line, doc| direct(&Origin::file(name, line, None), doc),
        |doc| match doc {
            Ok((line, value)) => expand(&Origin::file(name, line, None), value, &mut f),
            Err(e) => f(Err(e)),
        },
    );
}

/// One object, or the items of a List, handed to `f`.
fn expand(
    origin: &Origin,
    mut value: serde_yaml::Value,
    f: &mut impl FnMut(Result<(Origin, serde_yaml::Value), InputError>),
) {
    let str_of =
        |v: &serde_yaml::Value, k: &str| v.get(k).and_then(|k| k.as_str()).map(str::to_string);
    let kind = str_of(&value, "kind").unwrap_or_default();
    let Some(item_kind) = kind.strip_suffix("List") else {
        return f(Ok((origin.clone(), value)));
    };
    let items = match value.get_mut("items").map(std::mem::take) {
        Some(serde_yaml::Value::Sequence(items)) => items,
        Some(serde_yaml::Value::Null) | None => return,
        Some(_) => {
            return f(Err(InputError {
                source: origin.text(),
                message: format!("{kind}.items is not a list"),
            }))
        }
    };
    let api_version = str_of(&value, "apiVersion");
    for (i, mut item) in items.into_iter().enumerate() {
        if let (Some(map), false) = (item.as_mapping_mut(), item_kind.is_empty()) {
            if !map.contains_key("kind") {
                map.insert("kind".into(), item_kind.into());
                if let Some(v) = &api_version {
                    map.entry("apiVersion".into())
                        .or_insert_with(|| v.as_str().into());
                }
            }
        }
        let at = Origin {
            item: Some(i),
            ..origin.clone()
        };
        expand(&at, item, f);
    }
}

/// Where an input came from, as shown in messages: the path, or `<stdin>`.
pub fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The text of `path` (`-` = stdin), or why it cannot be used.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| format!("cannot read: {}", io_reason(&e)))?;
        b
    } else {
        std::fs::read(path).map_err(|e| io_reason(&e))?
    };
    decode(&bytes)
}

/// An I/O error as a short reason a user can act on (no "(os error N)").
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or directory".into(),
        PermissionDenied => "permission denied (check the file's permissions)".into(),
        IsADirectory => "is a directory".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// The text of a file, or why it is not text.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |be: bool, body: &[u8]| {
        let units: Vec<u16> = body
            .chunks(2)
            .map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if be {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| "not valid UTF-16 text".to_string())
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| "not a text file (invalid UTF-8)".into())
        }
        [0xFF, 0xFE, rest @ ..] => utf16(false, rest),
        [0xFE, 0xFF, rest @ ..] => utf16(true, rest),
        _ => {
            String::from_utf8(bytes.to_vec()).map_err(|_| "not a text file (invalid UTF-8)".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(text: &str) -> Vec<Result<(String, String), String>> {
        let mut out = Vec::new();
        each_object("f.yaml", text, |o| {
            out.push(match o {
                Ok((origin, v)) => Ok((
                    origin.text(),
                    v.get("kind")
                        .and_then(|k| k.as_str())
                        .unwrap_or("")
                        .to_string(),
                )),
                Err(e) => Err(format!("{}: {}", e.source, e.message)),
            })
        });
        out
    }

    #[test]
    fn one_error_in_words() {
        let e = |source: &str| {
            InputError {
                source: source.into(),
                message: "m".into(),
            }
            .into_error()
            .to_string()
        };
        assert!(
            e("pod.yaml:4:1").ends_with("pod.yaml: line 4 column 1: m"),
            "{}",
            e("pod.yaml:4:1")
        );
        assert!(
            e("pod.yaml:4").ends_with("pod.yaml:4: m"),
            "{}",
            e("pod.yaml:4")
        );
    }

    #[test]
    fn lists_are_read_item_by_item() {
        let got = objects(
            "kind: Pod\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Event}\n- {apiVersion: v1, kind: Pod}\n---\napiVersion: v1\nkind: PodList\nitems: [{metadata: {name: a}}]\n---\nkind: List\nitems: {}\n---\nkind: [\n",
        );
        let ok = |at: &str, kind: &str| Ok((at.to_string(), kind.to_string()));
        assert_eq!(
            got,
            [
                ok("f.yaml:1", "Pod"),
                ok("f.yaml:3 (item 0)", "Event"),
                ok("f.yaml:3 (item 1)", "Pod"),
                // A typed list's items get its kind.
                ok("f.yaml:9 (item 0)", "Pod"),
                Err("f.yaml:13: List.items is not a list".to_string()),
                Err("f.yaml:17:1: not valid YAML: did not find expected node content, while parsing a flow node".to_string()),
            ]
        );
    }

    #[test]
    fn boms_and_utf16_like_kubectl() {
        assert_eq!(decode(b"\xEF\xBB\xBFkind: Pod").unwrap(), "kind: Pod");
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("kind: Pod".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(&le).unwrap(), "kind: Pod");
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("kind: Pod".encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(decode(&be).unwrap(), "kind: Pod");
        assert!(decode(b"\xFF\xFF\x00").is_err());
        assert!(decode(&[0x80, 0x81]).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn io_errors_read_without_os_numbers() {
        let missing = std::fs::read("/nonexistent/x.yaml").unwrap_err();
        assert_eq!(io_reason(&missing), "no such file or directory");
        assert_eq!(
            read_text(Path::new("/nonexistent/x.yaml")).unwrap_err(),
            "no such file or directory"
        );
    }
}
