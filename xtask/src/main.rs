//! Project automation for model-booster (`cargo xtask --help`).

mod control_plane;
mod demo;
mod gen_crds;
mod helm;
mod test;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation for model-booster")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the six CRDs from the API types into charts/model-booster/ (--check: fail if the committed files differ).
    GenCrds {
        /// Compare instead of writing; exit non-zero naming every stale file.
        #[arg(long)]
        check: bool,
    },
    /// A local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) built from Go modules.
    ControlPlane {
        #[command(subcommand)]
        action: control_plane::Action,
    },
    /// The helm CLI (for the chart tests) built from Go modules.
    Helm {
        #[command(subcommand)]
        action: helm::Action,
    },
    /// fmt, clippy, gen-crds --check, then every test against a local control plane (started and stopped here).
    Test,
    /// The operator on a local control plane, serving every file of examples/ (--once: print and exit).
    Demo {
        /// Exit after printing the children and conditions instead of running until Ctrl-C.
        #[arg(long)]
        once: bool,
    },
    /// Benchmarks of rendering and validation (criterion; prints the medians).
    Bench,
}

#[tokio::main]
async fn main() -> Result<()> {
    let root = workspace_root();
    match Cli::parse().command {
        Command::GenCrds { check } => gen_crds::run(&root, check),
        Command::ControlPlane { action } => control_plane::run(&root, action).await,
        Command::Helm { action } => helm::run(action).await,
        Command::Test => test::run(&root).await,
        Command::Demo { once } => demo::run(&root, once).await,
        Command::Bench => bench(&root).await,
    }
}

async fn bench(root: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = tokio::process::Command::new(cargo)
        .args(["bench", "--package", "booster-render"])
        .current_dir(root)
        .status()
        .await
        .context("running cargo bench")?;
    if status.success() { Ok(()) } else { anyhow::bail!("cargo bench failed: {status}") }
}

/// The workspace root (the parent of this crate's directory).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}
