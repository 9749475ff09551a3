//! The one place that decides how results print: tables for people, JSON/YAML for machines.
//! Data goes to stdout; logs, warnings and progress go to stderr. A closed stdout (`| head`) is not an
//! error: printing simply stops.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::{Error, Result};
use crate::settings::OutputSettings;

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Semantic styles; how they look is decided here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Error,
    Warning,
    Ok,
    Info,
    Dim,
    Bold,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub settings: OutputSettings,
}

impl Printer {
    pub(crate) fn new(settings: OutputSettings) -> Self {
        Printer { settings }
    }

    /// `-o json` or `-o yaml`.
    pub(crate) fn is_machine(&self) -> bool {
        matches!(
            self.settings.format,
            OutputFormat::Json | OutputFormat::Yaml
        )
    }

    pub(crate) fn is_wide(&self) -> bool {
        self.settings.format == OutputFormat::Wide
    }

    /// A table in kubectl's look: no borders, upper-case headers, wrapped to the terminal only on a terminal.
    pub(crate) fn table<S: AsRef<str>>(&self, header: &[S]) -> Table {
        let mut t = Table::new();
        t.load_preset(presets::NOTHING);
        if self.settings.color {
            t.enforce_styling();
            // Wrap to the terminal only when its width is known: an unknown width (a pty without a size)
            // would squeeze every column to one character.
            if t.width().is_some_and(|w| w >= 40) {
                t.set_content_arrangement(ContentArrangement::Dynamic);
            } else {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        } else {
            t.force_no_tty();
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
        t.set_header(header.iter().map(|h| {
            let c = Cell::new(h.as_ref().to_uppercase());
            if self.settings.color {
                c.add_attribute(Attribute::Bold)
            } else {
                c
            }
        }));
        for col in t.column_iter_mut() {
            col.set_padding((0, 3));
        }
        t
    }

    /// The text of a table of `rows` under `header`, each cell with its style (None: plain), as
    /// [`Printer::table`] and [`Printer::print_table`] make it. Without colour, cells of printable
    /// ASCII on one line are laid out here directly ([`plain_table`]): comfy-table's layout engine
    /// (wrapping, graphemes, styles) costs a tenth of `diagnose -f` on 10,000 small tables.
    pub(crate) fn table_text(
        &self,
        header: &[&str],
        rows: &[Vec<(&str, Option<Style>)>],
    ) -> String {
        if !self.settings.color {
            let upper: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
            if let Some(text) = plain_table(&upper, rows) {
                return text;
            }
        }
        let mut t = self.table(header);
        for row in rows {
            t.add_row(row.iter().map(|(text, style)| match style {
                Some(s) => self.cell(text, *s),
                None => Cell::new(text),
            }));
        }
        table_text(&t)
    }

    /// A table cell in a style (plain without colour).
    pub(crate) fn cell(&self, text: impl ToString, style: Style) -> Cell {
        let c = Cell::new(text.to_string());
        if !self.settings.color {
            return c;
        }
        match style {
            Style::Error => c.fg(Color::Red).add_attribute(Attribute::Bold),
            Style::Warning => c.fg(Color::Yellow),
            Style::Ok => c.fg(Color::Green),
            Style::Info => c.fg(Color::Cyan),
            Style::Dim => c.add_attribute(Attribute::Dim),
            Style::Bold => c.add_attribute(Attribute::Bold),
        }
    }

    /// Text in a style, for report lines (ANSI only when colour is on).
    pub(crate) fn paint(&self, text: &str, style: Style) -> String {
        if !self.settings.color {
            return text.to_string();
        }
        let code = match style {
            Style::Error => "1;31",
            Style::Warning => "33",
            Style::Ok => "32",
            Style::Info => "36",
            Style::Dim => "2",
            Style::Bold => "1",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    pub(crate) fn print_table(&self, t: &Table) -> Result<()> {
        self.print(&table_text(t))
    }

    /// Writes text to stdout as is.
    pub(crate) fn print(&self, text: &str) -> Result<()> {
        write_stdout(text.as_bytes())
    }

    /// Writes one line to stdout.
    pub(crate) fn line(&self, text: &str) -> Result<()> {
        write_stdout(format!("{text}\n").as_bytes())
    }

    /// Prints a value as JSON (pretty) or YAML, per `-o`. Tables are the caller's job.
    pub(crate) fn data<T: Serialize>(&self, value: &T) -> Result<()> {
        let text = match self.settings.format {
            OutputFormat::Yaml => {
                serde_yaml::to_string(value).map_err(|e| Error::other("render YAML", e))?
            }
            _ => {
                let mut s = serde_json::to_string_pretty(value)
                    .map_err(|e| Error::other("render JSON", e))?;
                s.push('\n');
                s
            }
        };
        self.print(&text)
    }

    /// One compact JSON object per line (for event streams).
    pub(crate) fn json_line<T: Serialize>(&self, value: &T) -> Result<()> {
        let s = serde_json::to_string(value).map_err(|e| Error::other("render JSON", e))?;
        self.line(&s)
    }
}

/// Stdout text kept in memory and written in large pieces: one write per [`Buffered::CHUNK`] instead
/// of a write and a flush per line (10,000 of diagnose's tables: tens of thousands of system calls).
/// Only for output that need not interleave with stderr while it prints (diagnose's report prints its
/// warnings and input errors before it); restart's lines keep [`Printer::line`], which writes at once,
/// so they stay in order with its stderr. What is held is written by [`Buffered::finish`], or on drop
/// when an error cut the printing short.
pub(crate) struct Buffered {
    buf: String,
}

impl Buffered {
    const CHUNK: usize = 64 * 1024;

    pub(crate) fn new() -> Buffered {
        Buffered {
            buf: String::with_capacity(Self::CHUNK + 4096),
        }
    }

    /// Text as is.
    pub(crate) fn print(&mut self, text: &str) -> Result<()> {
        self.buf.push_str(text);
        self.spill()
    }

    /// One line.
    pub(crate) fn line(&mut self, text: &str) -> Result<()> {
        self.buf.push_str(text);
        self.buf.push('\n');
        self.spill()
    }

    /// Writes what is held.
    pub(crate) fn finish(mut self) -> Result<()> {
        let text = std::mem::take(&mut self.buf);
        write_stdout(text.as_bytes())
    }

    fn spill(&mut self) -> Result<()> {
        if self.buf.len() < Self::CHUNK {
            return Ok(());
        }
        let r = write_stdout(self.buf.as_bytes());
        self.buf.clear();
        r
    }
}

impl Drop for Buffered {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let _ = write_stdout(self.buf.as_bytes());
        }
    }
}

/// A table's text without the trailing blanks of its lines (comfy-table pads the last column).
fn table_text(t: &Table) -> String {
    let s = t.to_string();
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    lines.join("\n") + "\n"
}

/// comfy-table's layout of a plain table (preset NOTHING, no wrapping, three blanks after each
/// column, line ends trimmed) when every cell is one line of printable ASCII, whose width is its
/// length; None otherwise (comfy-table measures graphemes and splits lines).
fn plain_table<H: AsRef<str>>(header: &[H], rows: &[Vec<(&str, Option<Style>)>]) -> Option<String> {
    let simple = |s: &str| s.bytes().all(|b| (b' '..=b'~').contains(&b));
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.as_ref().len().max(1)).collect();
    for row in rows {
        if row.len() != columns {
            return None;
        }
        for (w, (text, _)) in widths.iter_mut().zip(row) {
            *w = (*w).max(text.len());
        }
    }
    let all_simple = header.iter().all(|h| simple(h.as_ref()))
        && rows.iter().flatten().all(|(text, _)| simple(text));
    if !all_simple || widths.iter().any(|w| *w >= usize::from(u16::MAX)) {
        return None;
    }
    let line_len: usize = widths.iter().map(|w| w + 3).sum();
    let mut out = String::with_capacity((rows.len() + 1) * (line_len + 1));
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let start = out.len();
        for (text, w) in cells.zip(&widths) {
            out.push_str(text);
            out.extend(std::iter::repeat_n(' ', w - text.len() + 3));
        }
        out.truncate(start + out[start..].trim_end().len());
        out.push('\n');
    };
    line(&mut header.iter().map(|h| h.as_ref()));
    for row in rows {
        line(&mut row.iter().map(|(text, _)| *text));
    }
    Some(out)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    #[cfg(test)]
    if capture::take(bytes) {
        return Ok(());
    }
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Error::other("write to stdout", e)),
    }
}

/// A warning on stderr (never mixed into stdout data).
pub(crate) fn warn(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {msg}");
}

/// A progress/log line on stderr.
pub(crate) fn note(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// Tests read what a command would print on stdout: [`capture::start`] on a thread, then
/// [`capture::finish`] returns what was printed there meanwhile.
#[cfg(test)]
pub(crate) mod capture {
    use std::cell::RefCell;

    thread_local! {
        static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    }

    pub(crate) fn start() {
        CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    }

    pub(crate) fn finish() -> String {
        let bytes = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Keeps `bytes` when this thread captures; false when they go to stdout.
    pub(super) fn take(bytes: &[u8]) -> bool {
        CAPTURED.with(|c| match c.borrow_mut().as_mut() {
            Some(buf) => {
                buf.extend_from_slice(bytes);
                true
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Printer {
        Printer::new(OutputSettings {
            format: OutputFormat::Table,
            color: false,
            interactive: false,
        })
    }

    /// comfy-table's text for the same table.
    fn comfy(header: &[&str], rows: &[Vec<(&str, Option<Style>)>]) -> String {
        let p = plain();
        let mut t = p.table(header);
        for row in rows {
            t.add_row(row.iter().map(|(text, _)| Cell::new(text)));
        }
        table_text(&t)
    }

    #[test]
    fn plain_tables_are_laid_out_as_comfy_table_lays_them_out() {
        let words = [
            "",
            "-",
            "a",
            "warning",
            "prestop-missing",
            "  padded  ",
            "no preStop pause although the pod serves traffic: endpoints are removed while it stops",
            "x ",
        ];
        let mut checked = 0;
        for columns in 1..=5 {
            let header: Vec<&str> =
                ["severity", "rule", "c", "finding", "field"][..columns].to_vec();
            for n in 0..4 {
                let rows: Vec<Vec<(&str, Option<Style>)>> = (0..n)
                    .map(|r| {
                        (0..columns)
                            .map(|c| (words[(r * 3 + c * 5 + columns) % words.len()], None))
                            .collect()
                    })
                    .collect();
                let got = plain_table(
                    &header.iter().map(|h| h.to_uppercase()).collect::<Vec<_>>(),
                    &rows,
                );
                assert_eq!(
                    got.as_deref(),
                    Some(comfy(&header, &rows).as_str()),
                    "{rows:?}"
                );
                assert_eq!(plain().table_text(&header, &rows), comfy(&header, &rows));
                checked += 1;
            }
        }
        assert_eq!(checked, 20);
        // What only comfy-table measures right is left to it.
        for odd in ["two\nlines", "tab\there", "naïve", "名前"] {
            let rows = vec![vec![("a", None), (odd, None)]];
            assert_eq!(plain_table(&["A", "B"], &rows), None);
            assert_eq!(
                plain().table_text(&["a", "b"], &rows),
                comfy(&["a", "b"], &rows)
            );
        }
    }

    #[test]
    fn buffered_text_is_written_in_large_pieces_and_never_lost() {
        capture::start();
        let mut out = Buffered::new();
        out.line("a").unwrap();
        out.print("b\n").unwrap();
        // Held, not written line by line.
        assert_eq!(capture::finish(), "");
        capture::start();
        out.finish().unwrap();
        assert_eq!(capture::finish(), "a\nb\n");
        // Past a chunk it writes what it holds; dropped early (an error cut printing short), it
        // writes the rest.
        capture::start();
        let line = "x".repeat(1000);
        {
            let mut out = Buffered::new();
            for _ in 0..70 {
                out.line(&line).unwrap();
            }
            assert_eq!(capture::finish().len(), 66 * 1001);
            capture::start();
        }
        assert_eq!(capture::finish().len(), 4 * 1001);
    }
}
