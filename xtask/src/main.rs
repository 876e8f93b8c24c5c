//! Project automation for model-booster (`cargo xtask --help`).

mod control_plane;
mod gen_crds;
mod test;

use std::path::{Path, PathBuf};

use anyhow::Result;
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
    /// fmt, clippy, gen-crds --check, then every test against a local control plane (started and stopped here).
    Test,
}

#[tokio::main]
async fn main() -> Result<()> {
    let root = workspace_root();
    match Cli::parse().command {
        Command::GenCrds { check } => gen_crds::run(&root, check),
        Command::ControlPlane { action } => control_plane::run(&root, action).await,
        Command::Test => test::run(&root).await,
    }
}

/// The workspace root (the parent of this crate's directory).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}
