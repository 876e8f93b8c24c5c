//! `cargo xtask helm build`: the Helm CLI, built from the `helm.sh/helm/v3` Go module (no release binary is
//! downloaded), cached beside the control plane under `<cache>/model-booster/tools/helm-v<version>/helm` and
//! skipped when the cached binary reports the pinned version. `cargo xtask test` builds it and hands its path to
//! the chart tests in [`HELM_ENV`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use tokio::process::Command;

use crate::control_plane::build::{detect_go, download_go_mod, go_ok, install, recreate_dir, remove_dir};
use crate::control_plane::cache_root;

/// The pinned Helm release.
pub const HELM_VERSION: &str = "3.22.0";
/// The environment variable that gives the chart tests the helm binary.
pub const HELM_ENV: &str = "MODEL_BOOSTER_HELM";
const HELM_MODULE: &str = "helm.sh/helm/v3";
const HELM_COMMAND: &str = "helm.sh/helm/v3/cmd/helm";
/// Helm's Makefile sets these from the `k8s.io/client-go` version it requires: the Kubernetes version that
/// `helm template` and `helm lint` assume (`.Capabilities.KubeVersion`, deprecation checks); the compiled-in
/// fallback is 1.20.
const K8S_VERSION_PACKAGES: [&str; 2] = ["helm.sh/helm/v3/pkg/lint/rules", "helm.sh/helm/v3/pkg/chartutil"];

#[derive(Subcommand)]
pub enum Action {
    /// Build the helm CLI from Go modules into the cache (skipped when current); prints its path.
    Build,
}

pub async fn run(action: Action) -> Result<()> {
    match action {
        Action::Build => {
            let helm = ensure_built().await?;
            println!("{}", helm.display());
            Ok(())
        }
    }
}

/// `${XDG_CACHE_HOME:-~/.cache}/model-booster/tools/helm-v<version>/helm`.
pub fn helm_path() -> Result<PathBuf> {
    Ok(tools_dir()?.join(format!("helm-v{HELM_VERSION}")).join("helm"))
}

fn tools_dir() -> Result<PathBuf> {
    Ok(cache_root()?.join("model-booster").join("tools"))
}

/// Makes sure the pinned helm is in the cache and returns its path; builds it when missing or stale.
pub async fn ensure_built() -> Result<PathBuf> {
    let helm = helm_path()?;
    let expected = format!("v{HELM_VERSION}");
    if reported_version(&helm).await.as_deref() == Some(expected.as_str()) {
        println!("helm {expected} is current in {}", helm.display());
        return Ok(helm);
    }
    let started = Instant::now();
    let go = detect_go().await.context("building helm from Go modules")?;
    let module = format!("{HELM_MODULE}@{expected}");
    println!("building helm {expected} from Go modules (≈5 min on 2 cores when the Go caches are cold)");
    let dir = tools_dir()?.join("src").join("helm");
    recreate_dir(&dir).await?;
    go_ok(&dir, &["mod", "init", "model-booster.local/helm-bin"]).await?;
    let upstream = download_go_mod(&dir, &module).await?;
    go.require(&upstream.go, &module)?;
    let client_go = upstream
        .require
        .iter()
        .find(|r| r.path == "k8s.io/client-go")
        .with_context(|| format!("{module}'s go.mod does not require k8s.io/client-go"))?;
    let k8s_minor = kubernetes_minor(&client_go.version).with_context(|| {
        format!("cannot read the Kubernetes minor version from k8s.io/client-go {}", client_go.version)
    })?;
    go_ok(&dir, &["get", "-tool", &format!("{HELM_COMMAND}@{expected}")]).await?;
    println!("  dependencies resolved in {:.0?}; compiling", started.elapsed());

    let mut ldflags = format!("-s -w -X helm.sh/helm/v3/internal/version.version={expected}");
    for package in K8S_VERSION_PACKAGES {
        ldflags.push_str(&format!(" -X {package}.k8sVersionMajor=1 -X {package}.k8sVersionMinor={k8s_minor}"));
    }
    let install_dir = helm.parent().context("the helm path has a parent directory")?;
    tokio::fs::create_dir_all(install_dir).await.with_context(|| format!("creating {}", install_dir.display()))?;
    let out_dir = install_dir.join(format!("tmp-build-{}", std::process::id()));
    recreate_dir(&out_dir).await?;
    let out = out_dir.join("helm");
    let out_arg = out.display().to_string();
    go_ok(&dir, &["build", "-trimpath", "-buildvcs=false", "-ldflags", &ldflags, "-o", &out_arg, HELM_COMMAND]).await?;
    install(&out, &helm).await?;
    remove_dir(&out_dir).await?;
    match reported_version(&helm).await {
        Some(version) if version == expected => {}
        other => bail!("{} was built but reports version {other:?}, not {expected}", helm.display()),
    }
    println!("built helm {expected} (Kubernetes 1.{k8s_minor} capabilities) in {:.0?}", started.elapsed());
    Ok(helm)
}

/// What `helm version --template {{.Version}}` prints, or `None` when the binary is absent or fails.
async fn reported_version(helm: &Path) -> Option<String> {
    if !helm.is_file() {
        return None;
    }
    let run = Command::new(helm).args(["version", "--template", "{{.Version}}"]).kill_on_drop(true).output();
    match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok(out)) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        _ => None,
    }
}

/// `v0.35.3` (a `k8s.io/client-go` version) → `35`.
fn kubernetes_minor(client_go: &str) -> Option<u32> {
    let rest = client_go.strip_prefix("v0.")?;
    rest.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::kubernetes_minor;

    #[test]
    fn kubernetes_minor_from_client_go() {
        assert_eq!(kubernetes_minor("v0.35.3"), Some(35));
        assert_eq!(kubernetes_minor("v0.34.0-rc.1"), Some(34));
        assert_eq!(kubernetes_minor("v1.2.3"), None);
        assert_eq!(kubernetes_minor("v0.x.1"), None);
    }
}
