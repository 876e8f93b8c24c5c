//! Child processes of the plane: spawned in their own process group (so they outlive `xtask` and a Ctrl-C in its
//! terminal), logs to files, identified by pid plus start time, ended with SIGTERM and then SIGKILL.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rustix::process::{Pid, Signal, kill_process};

use super::state::ProcessRecord;

/// Starts `binary args…` with stdin closed and stdout/stderr appended to `log`, in a new process group.
pub fn spawn(name: &str, binary: &Path, args: &[String], log: &Path) -> Result<(Child, ProcessRecord)> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let err = out.try_clone().with_context(|| format!("opening {}", log.display()))?;
    let child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {name} ({})", binary.display()))?;
    let pid = child.id();
    let start_time =
        start_time(pid).with_context(|| format!("{name} (pid {pid}) exited immediately; see {}", log.display()))?;
    Ok((
        child,
        ProcessRecord { name: name.to_string(), pid, start_time, binary: binary.to_path_buf(), log: log.to_path_buf() },
    ))
}

/// Start time of a live (non-zombie) process, in clock ticks since boot (`/proc/<pid>/stat` field 22).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
    match fields.first() {
        Some(&"Z") | Some(&"X") | None => None,
        Some(_) => fields.get(19)?.parse().ok(),
    }
}

/// Whether the recorded process still runs (same pid and the same start time, so not a recycled pid).
pub fn is_alive(record: &ProcessRecord) -> bool {
    start_time(record.pid) == Some(record.start_time)
}

/// Ends a recorded process: SIGTERM, then SIGKILL after `grace`. Does nothing when it is gone already.
pub async fn terminate(record: &ProcessRecord, grace: Duration) -> Result<()> {
    if !is_alive(record) {
        return Ok(());
    }
    let pid = i32::try_from(record.pid)
        .ok()
        .and_then(Pid::from_raw)
        .with_context(|| format!("invalid pid {}", record.pid))?;
    signal(record, pid, Signal::TERM)?;
    if wait_gone(record, grace).await {
        println!("stopped {} (pid {})", record.name, record.pid);
        return Ok(());
    }
    println!("{} (pid {}) did not stop within {grace:?}; sending SIGKILL", record.name, record.pid);
    signal(record, pid, Signal::KILL)?;
    if wait_gone(record, Duration::from_secs(10)).await {
        Ok(())
    } else {
        bail!("{} (pid {}) survived SIGKILL", record.name, record.pid)
    }
}

fn signal(record: &ProcessRecord, pid: Pid, signal: Signal) -> Result<()> {
    match kill_process(pid, signal) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("signalling {} (pid {})", record.name, record.pid)),
    }
}

async fn wait_gone(record: &ProcessRecord, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !is_alive(record) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    !is_alive(record)
}

/// `n` distinct free loopback ports (bind to port 0, then release: a small race the caller retries on).
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .context("binding 127.0.0.1:0 to pick free ports")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect::<std::io::Result<Vec<_>>>()
        .context("reading the picked ports")
}

/// The last `lines` lines of a log file (for error messages).
pub fn log_tail(log: &Path, lines: usize) -> String {
    match std::fs::read(log) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", log.display()),
    }
}

/// Whether the kernel's IPv4 routing table has a default route (`/proc/net/route`, destination 00000000).
/// Without one, kube-apiserver cannot pick its advertise address ("Unable to find suitable network address").
pub fn has_default_route() -> bool {
    std::fs::read_to_string("/proc/net/route")
        .is_ok_and(|table| table.lines().skip(1).any(|line| line.split_whitespace().nth(1) == Some("00000000")))
}
