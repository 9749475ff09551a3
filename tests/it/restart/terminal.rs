//! `kubectl graceful restart` on a real (pseudo-)terminal: live progress lines that leave nothing behind,
//! and a summary table that fits a narrow terminal without breaking words. The output is replayed through a
//! terminal emulator (vt100) to see the screen a person would see.

use super::common::*;

const ROWS: u16 = 120;

/// Runs `kubectl-graceful ARGS` in a pseudo-terminal of COLS columns and returns the final screen, one
/// string per row, and the exit code; `None` without util-linux `script` (skipped).
fn on_terminal(sim: &kubesim::Sim, args: &[&str], cols: u16) -> Option<(Vec<String>, i32)> {
    let kubeconfig = sim.kubeconfig_path().display().to_string();
    let args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--kubeconfig", &kubeconfig])
        .collect();
    let (bytes, code) = crate::support::on_terminal(&args, "xterm", Some((cols, ROWS)), true)?;
    let nz = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero");
    let mut term = vt100::Parser::new(nz(ROWS), nz(cols), 0);
    term.process(&bytes);
    let rows = term
        .screen()
        .rows(0, cols)
        .map(|r| r.trim_end().to_string())
        .collect();
    Some((rows, code))
}

const SPINNER: &[char] = &['⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈'];

/// 64 columns: too narrow for DETAIL beside the other columns, so it goes under the table; 84: DETAIL
/// is a column wrapped at spaces.
#[test]
fn parallel_progress_leaves_no_spinner_behind_and_the_table_fits() {
    for cols in [64, 84] {
        progress_and_table_on(cols);
    }
}

fn progress_and_table_on(cols: u16) {
    let sim = start(
        &[slow("alpha", 2), slow("bravo", 2)].join("\n---\n"),
        10.0,
        None,
    );
    settle(&sim, "alpha", 2);
    settle(&sim, "bravo", 2);
    let Some((screen, code)) = on_terminal(
        &sim,
        &["restart", "deploy/alpha", "deploy/bravo", "--parallel", "2"],
        cols,
    ) else {
        return;
    };
    let text = screen.join("\n");
    assert_eq!(code, 0, "{text}");
    for row in &screen {
        assert!(
            !row.contains(SPINNER),
            "a spinner line was left behind: {row:?}\n{text}"
        );
    }
    // The table: header and both rows, each word whole (wrapping only at spaces in DETAIL).
    let header = screen
        .iter()
        .position(|r| r.starts_with("TARGET"))
        .unwrap_or_else(|| panic!("no table in\n{text}"));
    assert_eq!(screen[header].contains("DETAIL"), cols > 80, "{text}");
    for t in ["deploy/alpha", "deploy/bravo"] {
        let row = screen[header..]
            .iter()
            .find(|r| r.starts_with(t))
            .unwrap_or_else(|| panic!("{t} row in\n{text}"));
        for word in ["RollingUpdate", "Complete", "2/2"] {
            assert!(row.contains(word), "{word:?} broken in {row:?}\n{text}");
        }
    }
    let table: String = screen[header..].join(" ");
    for word in ["all", "new", "pods", "Ready,", "old", "gone"] {
        assert!(
            table.split_whitespace().any(|w| w == word),
            "{word:?} broken in\n{text}"
        );
    }
}

#[test]
fn help_offers_only_the_output_formats_restart_accepts() {
    let out = graceful().args(["restart", "--help"]).assert().success();
    let help = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(help.contains("table"), "{help}");
    assert!(help.contains("json"), "{help}");
    let output_help: String = help
        .lines()
        .skip_while(|l| !l.contains("--output"))
        .take(6)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!output_help.contains("yaml"), "{output_help}");
    assert!(!output_help.contains("wide"), "{output_help}");
}
