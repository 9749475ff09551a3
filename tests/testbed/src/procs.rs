//! Child processes (etcd, kube-apiserver, …) that never outlive the test bed.
//!
//! A test binary keeps its test bed in a `static`, which Rust never drops, and may die of a panic
//! with `panic = "abort"` or a signal. So three things stop the children:
//! - `Drop` of [`Proc`] (SIGTERM, a short wait, then SIGKILL) for the binary and explicit stops;
//! - an `atexit` hook that stops every registered child and removes registered folders when the
//!   process exits normally (the test harness calls `exit` after the last test);
//! - `PR_SET_PDEATHSIG` = SIGKILL in every child, for an abnormal end. Linux sends it when the
//!   spawning *thread* ends, so all children are spawned by one thread that lives forever.

use anyhow::Context;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running child process whose output goes to `log`.
pub struct Proc {
    pub name: String,
    pub log: PathBuf,
    child: Child,
}

struct Registry {
    pids: Vec<i32>,
    dirs: Vec<PathBuf>,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(|| {
        // SAFETY: registering a plain `extern "C" fn` that only uses async-signal-tolerant calls
        // and a mutex; it runs once, at exit.
        unsafe { libc::atexit(cleanup_at_exit) };
        Mutex::new(Registry {
            pids: Vec::new(),
            dirs: Vec::new(),
        })
    })
}

extern "C" fn cleanup_at_exit() {
    let Ok(mut r) = registry().lock() else { return };
    for &pid in &r.pids {
        // SAFETY: signalling a pid this process started and has not reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    for &pid in &r.pids {
        while Instant::now() < deadline {
            // SAFETY: non-blocking wait on our own child.
            let rc = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
            if rc != 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above; a reaped pid makes this fail harmlessly with ESRCH.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    r.pids.clear();
    for d in r.dirs.drain(..) {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Remove `dir` when the process exits (unless it is gone by then).
pub fn remove_at_exit(dir: &Path) {
    registry().lock().unwrap().dirs.push(dir.to_path_buf());
}

type SpawnJob = (Command, mpsc::Sender<std::io::Result<Child>>);

/// The one thread that spawns children (see the module docs on PR_SET_PDEATHSIG).
fn spawner() -> &'static Mutex<mpsc::Sender<SpawnJob>> {
    static S: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    S.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("testbed-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The sender lives in a static: this thread never ends, so neither do the
                // children's parent-death links.
            })
            .expect("spawn the testbed-spawner thread");
        Mutex::new(tx)
    })
}

impl Proc {
    /// Start `program args…` with stdout and stderr appended to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        log: PathBuf,
    ) -> anyhow::Result<Proc> {
        let out = File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Go's proxy settings must not route 127.0.0.1 traffic elsewhere.
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY");
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let reg = registry();
        let (tx, rx) = mpsc::channel();
        spawner()
            .lock()
            .unwrap()
            .send((cmd, tx))
            .map_err(|_| anyhow::anyhow!("the spawner thread is gone"))?;
        let child = rx
            .recv()
            .context("the spawner thread is gone")?
            .with_context(|| format!("start {name} ({})", program.display()))?;
        reg.lock().unwrap().pids.push(child.id() as i32);
        Ok(Proc {
            name: name.to_string(),
            log,
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` when the process has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `n` lines of its log, for an error message.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Resident memory in KiB (from /proc), 0 when unknown.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGSTOP (`false`) or SIGCONT (`true`): a process that stops answering without going away.
    pub fn set_running(&mut self, running: bool) -> anyhow::Result<()> {
        if self.exited().is_some() {
            anyhow::bail!("{} has exited", self.name);
        }
        let sig = if running {
            libc::SIGCONT
        } else {
            libc::SIGSTOP
        };
        // SAFETY: signalling our own, not yet reaped child.
        if unsafe { libc::kill(self.child.id() as i32, sig) } != 0 {
            return Err(std::io::Error::last_os_error()).context(format!("signal {}", self.name));
        }
        Ok(())
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_none() {
            // SAFETY: signalling our own, not yet reaped child (a stopped one must run to exit).
            unsafe { libc::kill(self.child.id() as i32, libc::SIGCONT) };
            // SAFETY: as above.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + grace;
            while self.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.exited().is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        let pid = self.child.id() as i32;
        registry().lock().unwrap().pids.retain(|&p| p != pid);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for one machine's tests).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(l.local_addr()?.port())
}
