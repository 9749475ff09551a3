//! krew itself as the judge of a manifest: krew-index's validator `validate-krew-manifest` and the
//! `krew` CLI, built from `sigs.k8s.io/krew` at the version pinned in `tests/go/krew-0.4.3` (with the
//! `gotools` crate, cached under `target/go/`).
//!
//! [`validate`] runs the validator as krew-index's CI does, including its install step: for every
//! platform it runs `kubectl krew install --manifest` with that platform's `KREW_OS`/`KREW_ARCH` and
//! checks that a LICENSE was unpacked. The install downloads each archive from its uri, so the
//! archives are served from 127.0.0.1 and the uris of a copy of the manifest point there.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::{Error, Result};

/// The pinned module under `tests/go` and the commands built from it.
pub const MODULE: &str = "krew-0.4.3";
const KREW_PKG: &str = "sigs.k8s.io/krew/cmd/krew";
const VALIDATOR_PKG: &str = "sigs.k8s.io/krew/cmd/validate-krew-manifest";

/// The built krew commands.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The krew CLI (install it as `kubectl-krew` on PATH to run `kubectl krew`).
    pub krew: PathBuf,
    /// krew-index's manifest validator.
    pub validator: PathBuf,
}

/// Builds (or finds cached) krew and validate-krew-manifest. Needs `go`.
pub fn tools() -> Result<Tools> {
    let dir = gotools::build(MODULE, &[KREW_PKG, VALIDATOR_PKG]).map_err(Error::new)?;
    Ok(Tools {
        krew: dir.join(gotools::binary_name(KREW_PKG)),
        validator: dir.join(gotools::binary_name(VALIDATOR_PKG)),
    })
}

/// A folder with `kubectl-krew` in it, to put on PATH so `kubectl krew` runs the pinned krew.
pub fn krew_on_path(tools: &Tools, dir: &Path) -> Result<PathBuf> {
    let bin = dir.join("kubectl-krew-bin");
    std::fs::create_dir_all(&bin).map_err(|e| Error::io(&bin, e))?;
    let link = bin.join("kubectl-krew");
    if !link.exists() {
        std::fs::copy(&tools.krew, &link).map_err(|e| Error::io(&link, e))?;
    }
    Ok(bin)
}

/// Runs krew-index's validator on `manifest` (a file named `<plugin>.yaml`). Without `archives` it
/// checks the structure only (`-skip-install`); with them it also installs every platform with the
/// real krew, from the archives in that folder served on 127.0.0.1. Returns the validator's output;
/// an error carries it.
pub fn validate(tools: &Tools, manifest: &Path, archives: Option<&Path>) -> Result<String> {
    let work = tempfile::tempdir()?;
    let bin = krew_on_path(tools, work.path())?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
        .map_err(|e| Error::new(e.to_string()))?;

    let mut cmd = Command::new(&tools.validator);
    cmd.env("PATH", &path).env("KREW_NO_UPGRADE_CHECK", "1");
    let _server;
    match archives {
        None => {
            cmd.arg("-manifest").arg(manifest).arg("-skip-install");
        }
        Some(dir) => {
            let server = FileServer::start(dir)?;
            let text = std::fs::read_to_string(manifest).map_err(|e| Error::io(manifest, e))?;
            let local = work.path().join("manifest");
            std::fs::create_dir_all(&local)?;
            let copy = local.join(manifest.file_name().unwrap_or_default());
            std::fs::write(&copy, with_local_uris(&text, &server.base_url()))
                .map_err(|e| Error::io(&copy, e))?;
            cmd.arg("-manifest").arg(&copy);
            _server = server;
        }
    }
    let out = cmd
        .output()
        .map_err(|e| Error::new(format!("run {}: {e}", tools.validator.display())))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(Error::new(format!(
            "krew-index's validate-krew-manifest refused {}:\n{}",
            manifest.display(),
            first_lines(&text, 40)
        )))
    }
}

fn first_lines(text: &str, n: usize) -> String {
    // klog's fatal error is followed by goroutine dumps: keep what comes before them.
    text.lines()
        .take_while(|l| !l.starts_with("goroutine "))
        .take(n)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The manifest with every `uri:` pointing at `base` + the uri's file name.
pub fn with_local_uris(text: &str, base: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let item = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        match item.strip_prefix("uri:") {
            Some(uri) => {
                let indent = &line[..line.len() - item.len()];
                let uri = uri.trim().trim_matches('"');
                let file = uri.rsplit('/').next().unwrap_or(uri);
                out.push_str(&format!("{indent}uri: {base}/{file}\n"));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that serves the files of one folder (GET only), for
/// krew's downloads; stops when dropped.
pub struct FileServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FileServer {
    pub fn start(dir: &Path) -> Result<FileServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let (dir, flag) = (dir.to_path_buf(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let _ = serve(conn, &dir);
                }
            }
        });
        Ok(FileServer {
            port,
            stop,
            thread: Some(thread),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut conn = conn;
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let name = path.trim_start_matches('/');
    let file = (!name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.'))
        .then(|| dir.join(name))
        .filter(|p| p.is_file());
    match file.map(std::fs::read) {
        Some(Ok(body)) => {
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            conn.write_all(&body)
        }
        _ => conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_point_at_the_local_server_and_nothing_else_changes() {
        let text = "a: 1\n  - uri: https://h/d/v1/x.tar.gz\n    sha256: \"00\"\n    uri: \"https://h/y.zip\"\n";
        assert_eq!(
            with_local_uris(text, "http://127.0.0.1:9"),
            "a: 1\n  - uri: http://127.0.0.1:9/x.tar.gz\n    sha256: \"00\"\n    uri: http://127.0.0.1:9/y.zip\n"
        );
    }

    #[test]
    fn the_file_server_serves_files_of_its_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.tar.gz"), b"archive").unwrap();
        let server = FileServer::start(dir.path()).unwrap();
        let get = |path: &str| {
            let mut c = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(&mut c, &mut s).unwrap();
            s
        };
        let ok = get("/a.tar.gz");
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(ok.ends_with("\r\n\r\narchive"), "{ok}");
        assert!(get("/../Cargo.toml").starts_with("HTTP/1.1 404"));
        assert!(get("/missing").starts_with("HTTP/1.1 404"));
    }
}
