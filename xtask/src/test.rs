//! `cargo xtask test`: formatting, lints, generated files, then every test of the workspace against a local control
//! plane that this command builds (first time), starts and always stops again (also on failure, Ctrl-C, SIGTERM).

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::process::Command;

use crate::control_plane::{self, Paths, StartOutcome};
use crate::{gen_crds, helm};

/// Set for the tests so that integration tests fail instead of skipping when no control plane is configured
/// (read by `booster-testkit`).
pub const REQUIRE_CLUSTER_ENV: &str = "MODEL_BOOSTER_TEST_REQUIRE_CLUSTER";

pub async fn run(root: &Path) -> Result<()> {
    let paths = Paths::new(root)?;
    let mut phases = Phases::default();
    // A plane that was up before this command belongs to whoever started it: reuse it, leave it running.
    let preexisting = match control_plane::state_if_up(&paths).await {
        Ok(up) => up,
        Err(e) => {
            println!("ignoring unreadable control-plane state: {e:#}");
            false
        }
    };
    let outcome = tokio::select! {
        result = pipeline(root, &paths, &mut phases) => result,
        signal = shutdown_signal() => Err(anyhow!("interrupted by {signal}")),
    };
    if preexisting {
        println!("leaving the control plane that was running before `cargo xtask test` running");
    } else {
        let started = Instant::now();
        let stopped = control_plane::stop(&paths).await;
        phases.record("control-plane stop", started.elapsed(), stopped.is_ok());
        if let Err(e) = stopped {
            eprintln!("error: stopping the control plane: {e:#}");
        }
    }
    phases.print();
    outcome
}

async fn pipeline(root: &Path, paths: &Paths, phases: &mut Phases) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    phases.run("cargo fmt --check", cargo_command(&cargo, root, &["fmt", "--all", "--check"])).await?;
    phases
        .run(
            "cargo clippy",
            cargo_command(&cargo, root, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
        )
        .await?;
    phases.phase("gen-crds --check", async { gen_crds::run(root, true) }).await?;
    phases.phase("control-plane build", control_plane::ensure_built(paths)).await?;
    let helm = phases.phase("helm build", helm::ensure_built()).await?;
    let outcome = phases.phase("control-plane start", control_plane::start(paths)).await?;
    if outcome == StartOutcome::Reused {
        println!("reusing the running control plane");
    }
    // --no-fail-fast: one failing test binary must not hide the results of the others.
    let mut test = cargo_command(&cargo, root, &["test", "--workspace", "--no-fail-fast"]);
    test.env("KUBECONFIG", paths.kubeconfig()).env(REQUIRE_CLUSTER_ENV, "1").env(helm::HELM_ENV, helm);
    phases.run("cargo test", test).await
}

fn cargo_command(cargo: &OsString, root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo);
    cmd.args(args).current_dir(root).kill_on_drop(true);
    cmd
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM; never when the handlers cannot be installed.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("warning: cannot handle SIGTERM: {e}");
            None
        }
    };
    let term = async {
        match terminate.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        result = tokio::signal::ctrl_c() => {
            if result.is_err() {
                std::future::pending::<()>().await;
            }
            "SIGINT"
        }
        () = term => "SIGTERM",
    }
}

#[derive(Default)]
struct Phases(Vec<(&'static str, Duration, bool)>);

impl Phases {
    async fn phase<T>(&mut self, name: &'static str, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        println!("==> {name}");
        let started = Instant::now();
        let result = work.await;
        self.record(name, started.elapsed(), result.is_ok());
        println!("==> {name}: {} in {:.1?}", if result.is_ok() { "ok" } else { "FAILED" }, started.elapsed());
        result.with_context(|| format!("{name} failed"))
    }

    async fn run(&mut self, name: &'static str, mut cmd: Command) -> Result<()> {
        self.phase(name, async move {
            let status = cmd.status().await.context("running cargo")?;
            if status.success() { Ok(()) } else { bail!("exit status {status}") }
        })
        .await
    }

    fn record(&mut self, name: &'static str, elapsed: Duration, ok: bool) {
        self.0.push((name, elapsed, ok));
    }

    fn print(&self) {
        println!("phase times:");
        for (name, elapsed, ok) in &self.0 {
            println!("  {name:<22} {:>8.1}s  {}", elapsed.as_secs_f64(), if *ok { "ok" } else { "FAILED" });
        }
    }
}
