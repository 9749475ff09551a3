//! Text to YAML documents (the text decoded by [`super::decode`]): CRLF line ends, `---` separators, and
//! the line each document's content starts on. Parsing is bounded: deeply nested flow collections are
//! refused before parsing (libyaml's simple-key bookkeeping is quadratic in flow depth), serde_yaml
//! stops at 128 levels of nesting and at alias expansions that repeat too much. A document that is not
//! YAML is an [`InputError`] at `file:line:column`.

use super::InputError;

/// Hands each document of a YAML stream to `f` as soon as it is complete, with the line (1-based) it
/// starts on: only one document's text is held at a time.
pub fn each_document(text: &str, mut f: impl FnMut(usize, String)) {
    let mut cur = String::new();
    let mut start = 1;
    // `lines()` also drops the `\r` of CRLF line ends; a BOM can start any concatenated file.
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}');
        let t = line.trim_end();
        let is_sep = t == "---" || t.starts_with("--- ") || t == "...";
        if is_sep {
            f(start, std::mem::take(&mut cur));
            start = i + 2;
            // `--- {…}`: content on the separator line.
            if let Some(rest) = t.strip_prefix("--- ") {
                cur.push_str(rest);
                cur.push('\n');
                start = i + 1;
            }
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    f(start, cur);
}

/// The first line of a document that holds content (skipping blank lines and comments).
pub fn content_line(start: usize, doc: &str) -> usize {
    doc.lines()
        .position(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .map_or(start, |p| start + p)
}

/// Flow collections (`[`, `{`) nested deeper than this are refused (serde_yaml refuses 128 levels of
/// any nesting anyway).
const MAX_FLOW_DEPTH: usize = 256;

/// The line (0-based, in `doc`) where flow nesting first goes deeper than [`MAX_FLOW_DEPTH`]. Linear
/// in the text. Brackets in quoted scalars and comments count too: a quote left open must not hide a
/// deep nest, and no real manifest has hundreds of unmatched brackets in its strings.
fn too_deep(doc: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 0usize);
    for c in doc.bytes() {
        match c {
            b'\n' => line += 1,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Parses a file's documents: each is (its content's line, its value), or an error at `file:line:col`.
/// Empty documents are left out.
pub fn parse(name: &str, text: &str) -> Vec<Result<(usize, serde_yaml::Value), InputError>> {
    let mut out = Vec::new();
    each_parsed(name, text, |d| out.push(d));
    out
}

/// [`parse`], one document at a time.
pub fn each_parsed(
    name: &str,
    text: &str,
    f: impl FnMut(Result<(usize, serde_yaml::Value), InputError>),
) {
    each_parsed_or_direct(name, text, |_, _| false, f);
}

/// [`each_parsed`], offering each YAML document's text first to `direct(content line, text)`, which
/// returns true when it has read the document itself (see [`super::typed`]); the others are parsed.
/// Documents nested too deep and JSON documents are never offered.
pub fn each_parsed_or_direct(
    name: &str,
    text: &str,
    mut direct: impl FnMut(usize, &str) -> bool,
    mut f: impl FnMut(Result<(usize, serde_yaml::Value), InputError>),
) {
    each_document(text, |start, doc| {
        if offered(&doc) && direct(content_line(start, &doc), &doc) {
            return;
        }
        if let Some(d) = parse_one(name, start, &doc) {
            f(d);
        }
    });
}

/// Whether [`each_parsed_or_direct`] offers `doc` to be read directly.
fn offered(doc: &str) -> bool {
    too_deep(doc).is_none() && !doc.trim_start().starts_with('{')
}

/// The documents [`each_parsed_or_direct`] would offer to be read directly, as (content line, text),
/// for reading them ahead of the pass.
pub fn offered_documents(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    each_document(text, |start, doc| {
        if offered(&doc) {
            out.push((content_line(start, &doc), doc));
        }
    });
    out
}

fn parse_one(
    name: &str,
    start: usize,
    doc: &str,
) -> Option<Result<(usize, serde_yaml::Value), InputError>> {
    if let Some(line) = too_deep(doc) {
        return Some(Err(InputError {
            source: format!("{name}:{}", start + line),
            message: format!(
                "not valid YAML: flow collections nested deeper than {MAX_FLOW_DEPTH} levels"
            ),
        }));
    }
    // JSON (`kubectl get -o json`, one object per line) is YAML too, but serde_json reads it far faster.
    if doc.trim_start().starts_with('{') {
        if let Ok(v) = serde_json::from_str::<serde_yaml::Value>(doc) {
            return Some(Ok((content_line(start, doc), v)));
        }
    }
    match serde_yaml::from_str::<serde_yaml::Value>(doc) {
        Ok(v) if v.is_null() => None,
        Ok(v) => Some(Ok((content_line(start, doc), v))),
        Err(e) => {
            let (line, col) = e
                .location()
                .map_or((start, 1), |l| (start + l.line() - 1, l.column()));
            // The position is in `source`: only that one is cut from the message (a second one, "while
            // parsing a flow sequence at line 3 column 18", says where the broken part began).
            let msg = e.to_string();
            let msg = match e.location() {
                Some(l) => msg.replacen(
                    &format!(" at line {} column {}", l.line(), l.column()),
                    "",
                    1,
                ),
                None => msg,
            };
            Some(Err(InputError {
                source: format!("{name}:{line}:{col}"),
                message: format!("not valid YAML: {msg}"),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_line_and_column_once() {
        let docs = parse(
            "bad.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n",
        );
        let e = docs[0].as_ref().unwrap_err();
        assert_eq!(e.source, "bad.yaml:4:1");
        assert!(e.message.starts_with("not valid YAML: "), "{e:?}");
        assert!(!e.message.contains("at line 4 column 1"), "{e:?}");
        assert_eq!(
            e.message,
            "not valid YAML: did not find expected node content, while parsing a flow node"
        );
    }

    #[test]
    fn crlf_and_separators_keep_line_numbers() {
        let docs = parse(
            "f",
            "a: 1\r\n---\r\n# c\r\nb: 2\r\n--- {c: 3}\r\n---\r\n\u{feff}d: [\r\n",
        );
        assert_eq!(docs.len(), 4);
        assert_eq!(docs[0].as_ref().unwrap().0, 1);
        assert_eq!(docs[1].as_ref().unwrap().0, 4);
        assert_eq!(docs[2].as_ref().unwrap().0, 5);
        assert!(docs[3].as_ref().unwrap_err().source.starts_with("f:"));
    }

    #[test]
    fn pathological_nesting_is_bounded() {
        // 200,000 nested flow sequences: an error, fast, not a crash (libyaml alone takes minutes).
        let deep = format!("a: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
        let started = std::time::Instant::now();
        let docs = parse("deep.yaml", &deep);
        assert!(
            docs[0]
                .as_ref()
                .unwrap_err()
                .message
                .contains("nested deeper than 256"),
            "{docs:?}"
        );
        // Under the flow limit, serde_yaml's own recursion limit answers.
        let deep = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        assert!(parse("deep.yaml", &deep)[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("recursion limit"),);
        // An open quote does not hide a deep nest.
        let hidden = format!("a: it's\nb: {}\n", "[".repeat(100_000));
        assert!(parse("h.yaml", &hidden)[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("nested deeper"));
        // Aliases that expand exponentially ("billion laughs").
        let mut laughs = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            laughs.push_str(&format!("{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
            prev = n;
        }
        let docs = parse("laughs.yaml", &laughs);
        assert!(
            docs[0]
                .as_ref()
                .unwrap_err()
                .message
                .contains("repetition limit"),
            "{docs:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
