//! `target/control-plane/state.json`: what `start` launched, so that `stop` ends exactly those processes and
//! `status` and a second `start` can find them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub kubernetes_version: String,
    pub etcd_version: String,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    pub kubeconfig: PathBuf,
    /// The etcd data directory (on /dev/shm when available); removed by `stop`.
    pub etcd_data_dir: PathBuf,
    pub ports: Ports,
    /// In start order: etcd, kube-apiserver, kube-controller-manager.
    pub processes: Vec<ProcessRecord>,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ports {
    pub apiserver: u16,
    pub etcd_client: u16,
    pub etcd_peer: u16,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub name: String,
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22): a recycled pid never matches.
    pub start_time: u64,
    pub binary: PathBuf,
    pub log: PathBuf,
}

pub fn load(path: &Path) -> Result<Option<State>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).with_context(|| format!("parsing {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes the state atomically (temporary file, then rename).
pub fn save(path: &Path, state: &State) -> Result<()> {
    let text = serde_json::to_string_pretty(state).context("serializing the state")?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

pub fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}
