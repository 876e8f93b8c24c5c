//! `booster run`: the operator process (spec §5): client, CRD check, HTTP endpoints, leader election, controller
//! and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use booster_reconcile::KubeCluster;
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use tokio_util::sync::CancellationToken;

use crate::controller::{self, Context};
use crate::http::{self, Health, Phase};
use crate::leader::{self, Election};
use crate::metrics::Metrics;
use crate::settings::{RunArgs, instance_name};
use crate::{crds, logging, shutdown};

/// The reporting controller of events.
const REPORTING_CONTROLLER: &str = "model-booster";
/// How long releasing the Lease and stopping the HTTP server may take at shutdown.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the operator until the first SIGTERM or SIGINT (then `Ok`) or a fatal error.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    logging::init(args.log_format)?;
    let shutdown = shutdown::on_signals()?;
    let client = Client::try_default()
        .await
        .context("connecting to Kubernetes (KUBECONFIG, ~/.kube/config or the in-cluster service account)")?;
    crds::check_served(&client).await?;

    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let http_stop = CancellationToken::new();
    let http = http::serve(args.http_bind_address, health.clone(), metrics.clone(), http_stop.clone()).await?;
    tokio::spawn({
        let (health, shutdown) = (health.clone(), shutdown.clone());
        async move {
            shutdown.cancelled().await;
            health.set_phase(Phase::Stopping);
        }
    });

    let instance = instance_name();
    let recorder = Recorder::new(
        client.clone(),
        Reporter { controller: REPORTING_CONTROLLER.into(), instance: Some(instance.clone()) },
    );
    let ctx = Arc::new(Context::new(
        client.clone(),
        KubeCluster::new(client.clone(), recorder),
        args.render_settings(),
        args.resync_interval,
        metrics.clone(),
    ));
    tracing::info!(
        watch_namespace = args.watch_namespace().unwrap_or("<all>"),
        workers = args.workers,
        resync_interval = ?args.resync_interval,
        leader_elect = args.leader_elect,
        "starting"
    );

    let outcome = if args.leader_elect {
        let namespace = args.lease_namespace();
        let mut election =
            Election::start(client.clone(), &args.leader_election_id, &namespace, leader::identity(&instance)).await?;
        health.set_phase(Phase::StandingBy);
        let outcome = match election.acquired(&shutdown).await {
            Ok(true) => {
                metrics.set_leader(true);
                health.set_phase(Phase::Leading);
                let outcome = control(&client, &args, ctx, &health, &shutdown, election.lost()).await;
                metrics.set_leader(false);
                outcome
            }
            Ok(false) => Ok(()),
            Err(error) => {
                health.set_failed();
                Err(error)
            }
        };
        election.release(RELEASE_TIMEOUT).await;
        outcome
    } else {
        metrics.set_leader(true);
        health.set_phase(Phase::Leading);
        control(&client, &args, ctx, &health, &shutdown, std::future::pending()).await
    };

    http_stop.cancel();
    if tokio::time::timeout(RELEASE_TIMEOUT, http).await.is_err() {
        tracing::warn!("the HTTP server did not stop in time");
    }
    if outcome.is_ok() {
        tracing::info!("stopped");
    }
    outcome
}

/// Runs the controller until shutdown (draining at most `--shutdown-timeout`); exits the process with status 1
/// when `lost` resolves (D-27: the Lease was lost after being held).
async fn control(
    client: &Client,
    args: &RunArgs,
    ctx: Arc<Context>,
    health: &Arc<Health>,
    shutdown: &CancellationToken,
    lost: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let controller =
        controller::run(client.clone(), args.watch_namespace(), args.workers, ctx, health.clone(), shutdown.clone());
    let timeout = args.shutdown_timeout;
    let drain_deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(timeout).await;
    };
    tokio::select! {
        () = controller => {
            if shutdown.is_cancelled() {
                tracing::info!("controller stopped; running passes finished");
                Ok(())
            } else {
                health.set_failed();
                anyhow::bail!("the controller stopped unexpectedly")
            }
        }
        () = drain_deadline => {
            tracing::warn!(?timeout, "passes still running after the shutdown timeout; abandoning them");
            Ok(())
        }
        () = lost => {
            tracing::error!("lost the leader-election Lease after holding it; exiting with status 1");
            std::process::exit(1);
        }
    }
}
