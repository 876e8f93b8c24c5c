//! `control-plane stop` and `status`.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::start::{print_export, rss_mib};
use super::state::{self, State};
use super::{Paths, probe, processes};

/// How long a process may take to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(20);

pub async fn stop(paths: &Paths) -> Result<()> {
    match state::load(&paths.state_file())? {
        Some(recorded) => {
            stop_recorded(paths, &recorded).await?;
            println!("control plane stopped; logs kept in {}", paths.state_dir.display());
        }
        None => println!("no control plane recorded in {}; nothing to stop", paths.state_file().display()),
    }
    Ok(())
}

/// Ends the recorded processes (newest first) and removes the state, the certificates and the etcd data.
pub async fn stop_recorded(paths: &Paths, recorded: &State) -> Result<()> {
    let mut failures = Vec::new();
    for record in recorded.processes.iter().rev() {
        if let Err(e) = processes::terminate(record, GRACE).await {
            failures.push(format!("{e:#}"));
        }
    }
    if !failures.is_empty() {
        bail!(
            "could not stop every process (state kept in {}):\n{}",
            paths.state_file().display(),
            failures.join("\n")
        );
    }
    for dir in [&recorded.etcd_data_dir, &paths.pki_dir()] {
        if dir.as_os_str().is_empty() {
            continue;
        }
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", dir.display()));
            }
            _ => {}
        }
    }
    state::remove(&paths.kubeconfig())?;
    state::remove(&paths.state_file())
}

pub async fn status(paths: &Paths) -> Result<()> {
    let Some(recorded) = state::load(&paths.state_file())? else {
        bail!(
            "control plane is not running (no {}); start it with `cargo xtask control-plane start`",
            paths.state_file().display()
        );
    };
    println!(
        "control plane: Kubernetes v{}, etcd v{}, API server {}",
        recorded.kubernetes_version, recorded.etcd_version, recorded.server
    );
    let mut down = Vec::new();
    for record in &recorded.processes {
        let alive = processes::is_alive(record);
        if !alive {
            down.push(record.name.clone());
        }
        println!(
            "  {:<24} pid {:<8} {:<8} RSS {:>5} MiB  log {}",
            record.name,
            record.pid,
            if alive { "running" } else { "DOWN" },
            if alive { rss_mib(record.pid) } else { None }.map_or_else(|| "-".into(), |m| m.to_string()),
            record.log.display()
        );
    }
    println!(
        "  ports: apiserver {}, etcd client {}, etcd peer {}; etcd data {}",
        recorded.ports.apiserver,
        recorded.ports.etcd_client,
        recorded.ports.etcd_peer,
        recorded.etcd_data_dir.display()
    );
    let ready = match probe::client(&recorded.kubeconfig).await {
        Ok(client) => probe::readyz(&client).await,
        Err(e) => Err(e),
    };
    match &ready {
        Ok(()) => println!("  /readyz: ok"),
        Err(e) => println!("  /readyz: {e:#}"),
    }
    print_export(&recorded.kubeconfig);
    if !down.is_empty() || ready.is_err() {
        bail!(
            "control plane is down ({}); `cargo xtask control-plane stop` cleans up, `start` starts a new one",
            if down.is_empty() {
                "API server not ready".to_string()
            } else {
                format!("not running: {}", down.join(", "))
            }
        );
    }
    Ok(())
}
