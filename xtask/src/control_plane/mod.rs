//! `cargo xtask control-plane build|start|stop|status`: a local Kubernetes control plane for integration tests.
//!
//! etcd, kube-apiserver and kube-controller-manager (garbage collector and namespace controller only), built from
//! Go modules (see `../shared/guides/control-plane.md`), run as children in their own process groups on loopback
//! ports. Binaries are cached per version outside the repository; the running plane's state (pids, ports, logs,
//! certificates, kubeconfig) lives in `target/control-plane/`.

pub(crate) mod build;
mod kubeconfig;
mod pki;
pub(crate) mod probe;
pub(crate) mod processes;
mod start;
mod state;
mod stop;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;

pub use build::ensure_built;
pub use start::{StartOutcome, start};
pub use stop::{status, stop};

/// Whether a plane is recorded in the state directory and up (all processes run, `/readyz` is 200).
pub async fn state_if_up(paths: &Paths) -> Result<bool> {
    Ok(match state::load(&paths.state_file())? {
        Some(recorded) => start::plane_is_up(&recorded).await,
        None => false,
    })
}

/// The pinned Kubernetes release; its minor matches the `k8s-openapi` version feature (`v1_35`).
pub const KUBERNETES_VERSION: &str = "1.35.4";
/// The pinned etcd release (kubeadm pairs Kubernetes 1.34–1.36 with etcd 3.6.x).
pub const ETCD_VERSION: &str = "3.6.16";

#[derive(Subcommand)]
pub enum Action {
    /// Build kube-apiserver, kube-controller-manager and etcd from Go modules into the cache (skipped when current).
    Build,
    /// Start the control plane (building it first if needed), or reuse a running one; prints `export KUBECONFIG=…`.
    Start,
    /// Stop exactly the processes recorded by `start` and remove the state (logs are kept).
    Stop,
    /// Report what runs and where; exits non-zero when the plane is down.
    Status,
}

pub async fn run(root: &Path, action: Action) -> Result<()> {
    let paths = Paths::new(root)?;
    match action {
        Action::Build => ensure_built(&paths).await.map(|_| ()),
        Action::Start => start(&paths).await.map(|_| ()),
        Action::Stop => stop(&paths).await,
        Action::Status => status(&paths).await,
    }
}

/// Where the binaries are cached and where the running plane keeps its state.
#[derive(Clone, Debug)]
pub struct Paths {
    /// `${XDG_CACHE_HOME:-~/.cache}/model-booster/control-plane/<k8s version>+etcd<etcd version>/`.
    pub cache: PathBuf,
    /// `<workspace>/target/control-plane/`.
    pub state_dir: PathBuf,
}

impl Paths {
    pub fn new(root: &Path) -> Result<Self> {
        let root = std::path::absolute(root).with_context(|| format!("making {} absolute", root.display()))?;
        Ok(Self {
            cache: cache_root()?
                .join("model-booster")
                .join("control-plane")
                .join(format!("{KUBERNETES_VERSION}+etcd{ETCD_VERSION}")),
            state_dir: root.join("target").join("control-plane"),
        })
    }

    pub fn kube_apiserver(&self) -> PathBuf {
        self.cache.join("kube-apiserver")
    }

    pub fn kube_controller_manager(&self) -> PathBuf {
        self.cache.join("kube-controller-manager")
    }

    pub fn etcd(&self) -> PathBuf {
        self.cache.join("etcd")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.state_dir.join("kubeconfig")
    }

    pub fn state_file(&self) -> PathBuf {
        self.state_dir.join("state.json")
    }

    pub fn pki_dir(&self) -> PathBuf {
        self.state_dir.join("pki")
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.log"))
    }
}

pub(crate) fn cache_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return Ok(dir);
        }
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache")),
        None => bail!("neither XDG_CACHE_HOME (absolute) nor HOME is set: no place to cache the binaries"),
    }
}
