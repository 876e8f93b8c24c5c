//! `control-plane build`: kube-apiserver and kube-controller-manager from a generated wrapper module around
//! `k8s.io/kubernetes` (one `replace` per staging module it requires at `v0.0.0`), etcd from a separate wrapper
//! module around `go.etcd.io/etcd/server/v3`. Both go through the Go module proxy and the checksum database, with
//! `GOTOOLCHAIN=local` and `CGO_ENABLED=0`. Skipped when the cached binaries report the pinned versions.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use tokio::process::Command;

use super::{ETCD_VERSION, KUBERNETES_VERSION, Paths};

/// `go get -tool` needs the `tool` directive of Go 1.24; each module's own `go` line is checked as well.
const MIN_GO: GoVersion = GoVersion(1, 24, 0);
const K8S_COMMANDS: [&str; 2] = ["kube-apiserver", "kube-controller-manager"];
const ETCD_MODULE: &str = "go.etcd.io/etcd/server/v3";

/// Makes sure the three binaries of the pinned versions are in the cache; builds what is missing or stale.
pub async fn ensure_built(paths: &Paths) -> Result<()> {
    let kube_version = format!("Kubernetes v{KUBERNETES_VERSION}");
    let etcd_version = format!("etcd Version: {ETCD_VERSION}");
    let kube_current = reports_version(&paths.kube_apiserver(), &kube_version).await
        && reports_version(&paths.kube_controller_manager(), &kube_version).await;
    let etcd_current = reports_version(&paths.etcd(), &etcd_version).await;
    if kube_current && etcd_current {
        println!(
            "control-plane binaries (Kubernetes v{KUBERNETES_VERSION}, etcd v{ETCD_VERSION}) are current in {}",
            paths.cache.display()
        );
        return Ok(());
    }

    let go = detect_go().await?;
    tokio::fs::create_dir_all(&paths.cache).await.with_context(|| format!("creating {}", paths.cache.display()))?;
    if !kube_current {
        build_kubernetes(paths, go).await?;
        for binary in [paths.kube_apiserver(), paths.kube_controller_manager()] {
            if !reports_version(&binary, &kube_version).await {
                bail!("{} was built but does not report {kube_version}", binary.display());
            }
        }
    }
    if !etcd_current {
        build_etcd(paths, go).await?;
        if !reports_version(&paths.etcd(), &etcd_version).await {
            bail!("{} was built but does not report {etcd_version}", paths.etcd().display());
        }
    }
    Ok(())
}

/// Whether `<binary> --version` prints a line equal to `expected`.
async fn reports_version(binary: &Path, expected: &str) -> bool {
    if !binary.is_file() {
        return false;
    }
    let run = Command::new(binary).arg("--version").kill_on_drop(true).output();
    match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok(out)) if out.status.success() => {
            String::from_utf8_lossy(&out.stdout).lines().any(|line| line.trim() == expected)
        }
        _ => false,
    }
}

async fn build_kubernetes(paths: &Paths, go: GoVersion) -> Result<()> {
    let started = Instant::now();
    let module = format!("k8s.io/kubernetes@v{KUBERNETES_VERSION}");
    let staging_version = format!(
        "v0.{}",
        KUBERNETES_VERSION.strip_prefix("1.").context("the pinned Kubernetes version must start with `1.`")?
    );
    println!(
        "building kube-apiserver and kube-controller-manager v{KUBERNETES_VERSION} from Go modules \
         (≈5 min and 2 GB of memory on 2 cores when the Go caches are warm; longer on a fresh machine)"
    );
    let dir = fresh_module(paths, "k8s", "model-booster.local/k8s-bin").await?;
    let upstream = download_go_mod(&dir, &module).await?;
    go.require(&upstream.go, &module)?;
    go_ok(&dir, &["mod", "edit", &format!("-go={}", upstream.go)]).await?;
    let mut edit = vec!["mod".to_string(), "edit".to_string()];
    // `godebug` only takes effect in the main module (Kubernetes 1.34 sets `default=go1.24`).
    for setting in &upstream.godebug {
        edit.push(format!("-godebug={}={}", setting.key, setting.value));
    }
    let staging: Vec<&str> =
        upstream.require.iter().filter(|r| r.version == "v0.0.0").map(|r| r.path.as_str()).collect();
    if staging.is_empty() {
        bail!("{module}'s go.mod requires no module at v0.0.0; the wrapper-module recipe no longer fits");
    }
    for path in &staging {
        edit.push(format!("-replace={path}={path}@{staging_version}"));
    }
    edit.push(format!("-require={module}"));
    go_ok(&dir, &edit.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    println!("  wrapper module {}: {} staging modules pinned to {staging_version}", dir.display(), staging.len());

    let tools: Vec<String> =
        K8S_COMMANDS.iter().map(|cmd| format!("k8s.io/kubernetes/cmd/{cmd}@v{KUBERNETES_VERSION}")).collect();
    let mut get = vec!["get", "-tool"];
    get.extend(tools.iter().map(String::as_str));
    go_ok(&dir, &get).await?;
    println!("  dependencies resolved in {:.0?}; compiling", started.elapsed());

    let minor = KUBERNETES_VERSION.split('.').nth(1).unwrap_or_default();
    let mut ldflags = String::from("-s -w");
    for pkg in ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"] {
        ldflags.push_str(&format!(
            " -X {pkg}.gitVersion=v{KUBERNETES_VERSION} -X {pkg}.gitMajor=1 -X {pkg}.gitMinor={minor}"
        ));
    }
    let out_dir = paths.cache.join(format!("tmp-build-{}", std::process::id()));
    recreate_dir(&out_dir).await?;
    let out_arg = format!("{}/", out_dir.display());
    let packages: Vec<String> = K8S_COMMANDS.iter().map(|cmd| format!("k8s.io/kubernetes/cmd/{cmd}")).collect();
    let mut build = vec!["build", "-trimpath", "-buildvcs=false", "-ldflags", &ldflags, "-o", &out_arg];
    build.extend(packages.iter().map(String::as_str));
    go_ok(&dir, &build).await?;
    for cmd in K8S_COMMANDS {
        install(&out_dir.join(cmd), &paths.cache.join(cmd)).await?;
    }
    remove_dir(&out_dir).await?;
    println!("built kube-apiserver and kube-controller-manager v{KUBERNETES_VERSION} in {:.0?}", started.elapsed());
    Ok(())
}

async fn build_etcd(paths: &Paths, go: GoVersion) -> Result<()> {
    let started = Instant::now();
    let module = format!("{ETCD_MODULE}@v{ETCD_VERSION}");
    println!("building etcd v{ETCD_VERSION} from Go modules (≈1 min)");
    // A module of its own, so that etcd's requirements do not shift kube-apiserver's (grpc, otel).
    let dir = fresh_module(paths, "etcd", "model-booster.local/etcd-bin").await?;
    let upstream = download_go_mod(&dir, &module).await?;
    go.require(&upstream.go, &module)?;
    go_ok(&dir, &["get", &module]).await?;
    let out_dir = paths.cache.join(format!("tmp-build-etcd-{}", std::process::id()));
    recreate_dir(&out_dir).await?;
    let out = out_dir.join("etcd");
    let out_arg = out.display().to_string();
    go_ok(&dir, &["build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", &out_arg, ETCD_MODULE]).await?;
    install(&out, &paths.etcd()).await?;
    remove_dir(&out_dir).await?;
    println!("built etcd v{ETCD_VERSION} in {:.0?}", started.elapsed());
    Ok(())
}

/// An empty wrapper module at `<cache>/src/<name>/` (regenerated on every build).
async fn fresh_module(paths: &Paths, name: &str, module_path: &str) -> Result<PathBuf> {
    let dir = paths.cache.join("src").join(name);
    recreate_dir(&dir).await?;
    go_ok(&dir, &["mod", "init", module_path]).await?;
    Ok(dir)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Download {
    go_mod: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GoMod {
    #[serde(default)]
    pub(crate) go: String,
    #[serde(default)]
    pub(crate) require: Vec<Requirement>,
    #[serde(default)]
    godebug: Vec<Godebug>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Requirement {
    pub(crate) path: String,
    pub(crate) version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Godebug {
    key: String,
    value: String,
}

/// Fetches `module@version` through the proxy and returns its parsed go.mod.
pub(crate) async fn download_go_mod(dir: &Path, module: &str) -> Result<GoMod> {
    let out = go(dir, &["mod", "download", "-json", module]).await?;
    let info: Option<Download> = serde_json::from_slice(&out.stdout).ok();
    let error = info.as_ref().and_then(|i| i.error.clone());
    let go_mod = info.and_then(|i| i.go_mod);
    let go_mod = match (out.status.success(), go_mod, error) {
        (true, Some(path), None) => path,
        (_, _, error) => {
            let detail = error.unwrap_or_else(|| tail(&out.stderr));
            bail!(
                "could not download {module} through the Go module proxy (GOPROXY={}): {detail}\n{}",
                std::env::var("GOPROXY").unwrap_or_else(|_| "default".into()),
                network_hint(&detail)
            );
        }
    };
    let out = go_ok(dir, &["mod", "edit", "-json", &go_mod]).await?;
    serde_json::from_slice(&out.stdout).with_context(|| format!("parsing {go_mod}"))
}

fn network_hint(detail: &str) -> &'static str {
    const NETWORK: [&str; 7] = [
        "dial tcp",
        "no such host",
        "connection refused",
        "i/o timeout",
        "TLS handshake",
        "proxyconnect",
        "network is unreachable",
    ];
    if NETWORK.iter().any(|needle| detail.contains(needle)) {
        "the Go module proxy looks unreachable from this machine: check GOPROXY and the network"
    } else {
        "check that the version exists on the Go module proxy (`go list -m -versions <module>`)"
    }
}

/// A `go` command with the environment every build step uses.
fn go_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("go");
    cmd.args(args)
        .current_dir(dir)
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        .env("GOWORK", "off")
        .kill_on_drop(true);
    cmd
}

async fn go(dir: &Path, args: &[&str]) -> Result<Output> {
    match go_command(dir, args).output().await {
        Ok(out) => Ok(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "Go is not installed (no `go` on PATH); the control plane and helm are built from Go modules and need Go {MIN_GO} or newer"
        ),
        Err(e) => Err(e).with_context(|| format!("running go {}", args.join(" "))),
    }
}

pub(crate) async fn go_ok(dir: &Path, args: &[&str]) -> Result<Output> {
    let out = go(dir, args).await?;
    if !out.status.success() {
        let detail = tail(&out.stderr);
        bail!("`go {}` failed in {}:\n{detail}\n{}", args.join(" "), dir.display(), network_hint(&detail));
    }
    Ok(out)
}

pub(crate) async fn detect_go() -> Result<GoVersion> {
    let out = go_ok(&std::env::temp_dir(), &["env", "GOVERSION"]).await?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = GoVersion::parse(text.trim())
        .with_context(|| format!("cannot read the Go version from `go env GOVERSION` = {text:?}"))?;
    if version < MIN_GO {
        bail!("Go {version} is too old: building the control plane needs Go {MIN_GO} or newer");
    }
    println!("using Go {version}");
    Ok(version)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GoVersion(u32, u32, u32);

impl GoVersion {
    /// Parses `go1.26.8`, `1.25.0`, `1.26`, `go1.27rc1` (→ 1.27.0).
    fn parse(text: &str) -> Option<Self> {
        let text = text.strip_prefix("go").unwrap_or(text);
        let mut parts = text.split('.').map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Self(major, minor, patch))
    }

    /// Fails when a module's `go` line asks for a newer Go than the installed one.
    pub(crate) fn require(self, go_line: &str, module: &str) -> Result<()> {
        match Self::parse(go_line) {
            Some(needed) if needed > self => {
                bail!("Go {self} is too old: {module} needs Go {needed} or newer (GOTOOLCHAIN=local is set on purpose)")
            }
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for GoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Moves a freshly built binary into the cache (a rename on the same file system, so never half-written).
pub(crate) async fn install(from: &Path, to: &Path) -> Result<()> {
    tokio::fs::rename(from, to).await.with_context(|| format!("moving {} to {}", from.display(), to.display()))
}

pub(crate) async fn recreate_dir(dir: &Path) -> Result<()> {
    remove_dir(dir).await?;
    tokio::fs::create_dir_all(dir).await.with_context(|| format!("creating {}", dir.display()))
}

pub(crate) async fn remove_dir(dir: &Path) -> Result<()> {
    match tokio::fs::remove_dir_all(dir).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// The last lines of a command's output, for error messages.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::GoVersion;

    #[test]
    fn parses_go_versions() {
        assert_eq!(GoVersion::parse("go1.26.8"), Some(GoVersion(1, 26, 8)));
        assert_eq!(GoVersion::parse("1.25.0"), Some(GoVersion(1, 25, 0)));
        assert_eq!(GoVersion::parse("1.26"), Some(GoVersion(1, 26, 0)));
        assert_eq!(GoVersion::parse("go1.27rc1"), Some(GoVersion(1, 27, 0)));
        assert_eq!(GoVersion::parse("devel"), None);
        assert!(GoVersion(1, 26, 8).require("1.25.0", "m").is_ok());
        assert!(GoVersion(1, 24, 3).require("1.25.0", "m").is_err());
    }
}
