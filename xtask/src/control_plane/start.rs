//! `control-plane start`: etcd → kube-apiserver (`/readyz`, namespace `default`) → kube-controller-manager →
//! garbage-collector canary. Reuses a running plane; cleans up what it started when a step fails.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::state::{self, Ports, State};
use super::{ETCD_VERSION, KUBERNETES_VERSION, Paths, ensure_built, kubeconfig, pki, probe, processes, stop};

/// How long etcd and kube-apiserver may take to become ready (≥ 3× what contended CI machines need).
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the garbage collector and the namespace controller may take in the canary.
const CANARY_TIMEOUT: Duration = Duration::from_secs(90);
const ATTEMPTS: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartOutcome {
    /// This call started the plane.
    Started,
    /// A plane recorded in the state was already up and is reused.
    Reused,
}

pub async fn start(paths: &Paths) -> Result<StartOutcome> {
    if let Some(existing) = state::load(&paths.state_file())? {
        if plane_is_up(&existing).await {
            println!("control plane already running at {}", existing.server);
            print_export(&existing.kubeconfig);
            return Ok(StartOutcome::Reused);
        }
        println!("the recorded control plane is down; cleaning up before starting a new one");
        stop::stop_recorded(paths, &existing).await?;
    }
    ensure_built(paths).await?;
    std::fs::create_dir_all(&paths.state_dir).with_context(|| format!("creating {}", paths.state_dir.display()))?;

    let default_route = processes::has_default_route();
    if !default_route {
        println!(
            "no default route in /proc/net/route: kube-apiserver cannot pick an advertise address by itself; \
             passing --advertise-address={NO_ROUTE_ADVERTISE_ADDRESS} --endpoint-reconciler-type=none"
        );
    }
    for attempt in 1..=ATTEMPTS {
        let mut state = State::default();
        match start_once(paths, &mut state, default_route).await {
            Ok(()) => return Ok(StartOutcome::Started),
            Err(e) => {
                let port_taken =
                    state.processes.iter().any(|p| processes::log_tail(&p.log, 50).contains("address already in use"));
                stop::stop_recorded(paths, &state).await.context("cleaning up after a failed start")?;
                if port_taken && attempt < ATTEMPTS {
                    println!("a picked port was taken meanwhile; retrying with new ports");
                    continue;
                }
                return Err(e);
            }
        }
    }
    bail!("could not start the control plane in {ATTEMPTS} attempts")
}

/// All recorded processes run and `/readyz` answers 200.
pub async fn plane_is_up(state: &State) -> bool {
    if state.processes.is_empty() || !state.processes.iter().all(processes::is_alive) {
        return false;
    }
    match probe::client(&state.kubeconfig).await {
        Ok(client) => probe::readyz(&client).await.is_ok(),
        Err(_) => false,
    }
}

/// Without a default route (checked in a network namespace with only `lo`), kube-apiserver v1.35.4 exits with
/// "Unable to find suitable network address … no default routes found"; `--endpoint-reconciler-type=none` alone
/// does not help, an explicit non-loopback `--advertise-address` does (1.21+ refuses loopback). The address is
/// only published in the `kubernetes` Service's endpoints, which nothing here uses, and the endpoint reconciler
/// that would maintain them is switched off. 192.0.2.1 is TEST-NET-1 (RFC 5737).
const NO_ROUTE_ADVERTISE_ADDRESS: &str = "192.0.2.1";

async fn start_once(paths: &Paths, state: &mut State, default_route: bool) -> Result<()> {
    let started = Instant::now();
    let picked = processes::free_ports(3)?;
    let ports = Ports { apiserver: picked[0], etcd_client: picked[1], etcd_peer: picked[2] };
    let pki = pki::generate(&paths.pki_dir())?;
    let server = format!("https://127.0.0.1:{}", ports.apiserver);
    let kubeconfig = paths.kubeconfig();
    kubeconfig::write(&kubeconfig, &server, &pki)?;
    let etcd_data_dir = etcd_data_dir(paths, ports.etcd_client);
    reset_dir(&etcd_data_dir)?;
    *state = State {
        kubernetes_version: KUBERNETES_VERSION.into(),
        etcd_version: ETCD_VERSION.into(),
        server: server.clone(),
        kubeconfig: kubeconfig.clone(),
        etcd_data_dir: etcd_data_dir.clone(),
        ports: ports.clone(),
        processes: Vec::new(),
        started_at: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default(),
    };
    state::save(&paths.state_file(), state)?;

    // etcd
    let etcd_client_url = format!("http://127.0.0.1:{}", ports.etcd_client);
    let etcd_peer_url = format!("http://127.0.0.1:{}", ports.etcd_peer);
    let etcd_args = vec![
        format!("--data-dir={}", etcd_data_dir.display()),
        format!("--listen-client-urls={etcd_client_url}"),
        format!("--advertise-client-urls={etcd_client_url}"),
        format!("--listen-peer-urls={etcd_peer_url}"),
        format!("--initial-advertise-peer-urls={etcd_peer_url}"),
        format!("--initial-cluster=default={etcd_peer_url}"),
        "--unsafe-no-fsync=true".into(),
    ];
    let mut etcd = launch(paths, state, "etcd", &paths.etcd(), &etcd_args)?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if probe::etcd_healthy(ports.etcd_client).await {
            break;
        }
        check_running(&mut etcd, state, "etcd")?;
        wait_or_timeout(deadline, "etcd /health", &paths.log("etcd")).await?;
    }
    println!("  etcd ready in {:.1?}", started.elapsed());

    // kube-apiserver
    let mut apiserver_args = vec![
        format!("--etcd-servers={etcd_client_url}"),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", ports.apiserver),
        format!("--cert-dir={}", paths.pki_dir().display()),
        format!("--tls-cert-file={}", pki.serving_cert.display()),
        format!("--tls-private-key-file={}", pki.serving_key.display()),
        format!("--client-ca-file={}", pki.ca_cert.display()),
        format!("--service-account-key-file={}", pki.sa_public_key.display()),
        format!("--service-account-signing-key-file={}", pki.sa_private_key.display()),
        format!("--service-account-issuer={server}/"),
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        "--allow-privileged=true".into(),
        "--disable-admission-plugins=ServiceAccount".into(),
        "--authorization-mode=RBAC".into(),
        "--enable-priority-and-fairness=false".into(),
    ];
    if !default_route {
        apiserver_args.push(format!("--advertise-address={NO_ROUTE_ADVERTISE_ADDRESS}"));
        apiserver_args.push("--endpoint-reconciler-type=none".into());
    }
    let mut apiserver = launch(paths, state, "kube-apiserver", &paths.kube_apiserver(), &apiserver_args)?;
    let client = probe::client(&kubeconfig).await?;
    loop {
        if probe::readyz(&client).await.is_ok() && probe::default_namespace_exists(&client).await {
            break;
        }
        check_running(&mut apiserver, state, "kube-apiserver")?;
        check_running(&mut etcd, state, "etcd")?;
        wait_or_timeout(deadline, "kube-apiserver /readyz and namespace default", &paths.log("kube-apiserver")).await?;
    }
    println!("  kube-apiserver ready in {:.1?}", started.elapsed());

    // kube-controller-manager: garbage collector and namespace controller only, no serving port.
    let kcm_args = vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        "--controllers=garbage-collector-controller,namespace-controller".into(),
        "--use-service-account-credentials=false".into(),
        "--leader-elect=false".into(),
        "--secure-port=0".into(),
    ];
    let mut kcm = launch(paths, state, "kube-controller-manager", &paths.kube_controller_manager(), &kcm_args)?;
    let canary = probe::canary(&client, CANARY_TIMEOUT).await;
    check_running(&mut kcm, state, "kube-controller-manager")?;
    canary.with_context(|| {
        format!("kube-controller-manager log tail:\n{}", processes::log_tail(&paths.log("kube-controller-manager"), 30))
    })?;

    println!(
        "control plane ready in {:.1?}: Kubernetes v{KUBERNETES_VERSION} at {server}, etcd v{ETCD_VERSION} at {etcd_client_url}",
        started.elapsed()
    );
    for record in &state.processes {
        println!(
            "  {:<24} pid {:<8} RSS {:>5} MiB  log {}",
            record.name,
            record.pid,
            rss_mib(record.pid).map_or_else(|| "?".into(), |m| m.to_string()),
            record.log.display()
        );
    }
    print_export(&kubeconfig);
    Ok(())
}

/// Spawns a child, records it in the state file at once (so `stop` finds it even if `start` is interrupted).
fn launch(paths: &Paths, state: &mut State, name: &str, binary: &Path, args: &[String]) -> Result<Child> {
    let log = paths.log(name);
    match std::fs::remove_file(&log) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing the old {}", log.display()));
        }
        _ => {}
    }
    let (child, record) = processes::spawn(name, binary, args, &log)?;
    state.processes.push(record);
    state::save(&paths.state_file(), state)?;
    Ok(child)
}

/// Fails with the log tail when the child has exited.
fn check_running(child: &mut Child, state: &State, name: &str) -> Result<()> {
    match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => {
            let log = state.processes.iter().find(|p| p.name == name).map(|p| p.log.clone()).unwrap_or_default();
            bail!(
                "{name} exited ({status}) during start-up; last lines of {}:\n{}",
                log.display(),
                processes::log_tail(&log, 30)
            )
        }
        Err(e) => Err(e).with_context(|| format!("checking whether {name} runs")),
    }
}

async fn wait_or_timeout(deadline: Instant, what: &str, log: &Path) -> Result<()> {
    if Instant::now() >= deadline {
        bail!(
            "timed out after {READY_TIMEOUT:?} waiting for {what}; last lines of {}:\n{}",
            log.display(),
            processes::log_tail(log, 30)
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

/// etcd's data on tmpfs when there is one (no disk I/O; the data dies with the plane anyway).
fn etcd_data_dir(paths: &Paths, etcd_port: u16) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && writable(shm) {
        shm.join(format!("model-booster-etcd-{etcd_port}"))
    } else {
        paths.state_dir.join("etcd-data")
    }
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".model-booster-probe-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

fn reset_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", dir.display()));
        }
        _ => {}
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {}", dir.display()))
}

/// Resident memory of a process in MiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

pub fn print_export(kubeconfig: &Path) {
    println!("export KUBECONFIG={}", kubeconfig.display());
}
