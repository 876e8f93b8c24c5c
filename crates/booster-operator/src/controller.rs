//! The kube-runtime controller: watches (spec §5.2), one reconcile pass per trigger (§5.3), requeue and backoff
//! (§5.8).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use booster_api::{ModelBooster, labels};
use booster_reconcile::{ChildKind, ClusterError, KubeCluster, Outcome, ReconcileError};
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject};
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::http::Health;
use crate::metrics::{Metrics, PassResult};

/// First backoff delay after a failed pass.
const BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest backoff delay.
const BACKOFF_CAP: Duration = Duration::from_secs(300);

type Guarded = DeserializeGuard<ModelBooster>;

/// What every pass shares.
pub struct Context {
    client: Client,
    cluster: KubeCluster,
    settings: booster_render::Settings,
    resync: Duration,
    metrics: Arc<Metrics>,
    /// Consecutive failed passes per ModelBooster (`namespace/name`), reset by a pass that does not fail.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(
        client: Client,
        cluster: KubeCluster,
        settings: booster_render::Settings,
        resync: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self { client, cluster, settings, resync, metrics, failures: Mutex::new(HashMap::new()) }
    }

    fn failures(&self) -> MutexGuard<'_, HashMap<String, u32>> {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn reset_backoff(&self, key: &str) {
        self.failures().remove(key);
    }

    /// The delay before retrying `key` after one more failure: 1 s, doubling, capped at 5 min.
    fn next_backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures();
        let count = failures.entry(key.to_owned()).or_insert(0);
        let delay = backoff(*count);
        *count = count.saturating_add(1);
        delay
    }
}

/// The backoff after `failures` earlier consecutive failures.
fn backoff(failures: u32) -> Duration {
    BACKOFF_START.saturating_mul(2u32.saturating_pow(failures.min(16))).min(BACKOFF_CAP)
}

fn key_of(guarded: &Guarded) -> String {
    format!("{}/{}", guarded.namespace().unwrap_or_default(), guarded.name_any())
}

/// One pass over a ModelBooster.
///
/// The cached object triggers the pass, but the pass works on the object as the API server has it now: the cache
/// may not yet hold the status this controller wrote in its previous pass, and a pass over that older status would
/// write the same status again (and could restamp a `lastTransitionTime`).
async fn reconcile(guarded: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let key = key_of(&guarded);
    if let Err(invalid) = &guarded.0 {
        return Ok(skip_invalid(&ctx, &key, &invalid.error));
    }
    let Some(namespace) = guarded.namespace() else { return Ok(Action::await_change()) };
    let api: Api<Guarded> = Api::namespaced(ctx.client.clone(), &namespace);
    let fresh = match api.get_opt(&guarded.name_any()).await {
        Ok(Some(fresh)) => fresh,
        Ok(None) => {
            tracing::debug!(booster = %key, "the ModelBooster is gone");
            ctx.reset_backoff(&key);
            return Ok(Action::await_change());
        }
        Err(error) => {
            ctx.metrics.pass(PassResult::error, Duration::ZERO);
            tracing::warn!(booster = %key, %error, "reading the ModelBooster failed (transient)");
            return Err(ReconcileError::Transient(ClusterError::from(error)));
        }
    };
    let booster = match &fresh.0 {
        Ok(booster) => booster,
        Err(invalid) => return Ok(skip_invalid(&ctx, &key, &invalid.error)),
    };
    let started = Instant::now();
    let outcome = booster_reconcile::reconcile(&ctx.cluster, booster, &ctx.settings, Timestamp::now()).await;
    let elapsed = started.elapsed();
    match outcome {
        Ok(Outcome::Skipped) => {
            tracing::debug!(booster = %key, "skipped (being deleted)");
            ctx.metrics.pass(PassResult::success, elapsed);
            ctx.reset_backoff(&key);
            Ok(Action::await_change())
        }
        Ok(Outcome::Reconciled(report)) => {
            ctx.metrics.pass(PassResult::success, elapsed);
            ctx.metrics.writes(&report);
            ctx.reset_backoff(&key);
            if report.applied.is_empty() && report.pruned.is_empty() && !report.status_written {
                tracing::debug!(booster = %key, ?elapsed, "reconciled, nothing to write");
            } else {
                tracing::info!(
                    booster = %key,
                    ?elapsed,
                    applied = report.applied.len(),
                    pruned = report.pruned.len(),
                    status_written = report.status_written,
                    "reconciled"
                );
            }
            Ok(Action::requeue(ctx.resync))
        }
        Ok(Outcome::Invalid(report)) => {
            ctx.metrics.pass(PassResult::invalid, elapsed);
            ctx.metrics.writes(&report);
            ctx.reset_backoff(&key);
            tracing::info!(booster = %key, status_written = report.status_written, "invalid spec; waiting for a change");
            Ok(Action::await_change())
        }
        Err(error) => {
            ctx.metrics.pass(PassResult::error, elapsed);
            match &error {
                ReconcileError::Failed { message, report } => {
                    ctx.metrics.writes(report);
                    tracing::warn!(booster = %key, %message, "pass failed");
                }
                ReconcileError::Transient(cause) => {
                    tracing::warn!(booster = %key, error = %cause, "pass failed (transient)");
                }
            }
            Err(error)
        }
    }
}

/// A ModelBooster that does not decode is logged and skipped until it changes.
fn skip_invalid(ctx: &Context, key: &str, error: &str) -> Action {
    tracing::warn!(booster = %key, %error, "skipping a ModelBooster that does not decode");
    ctx.metrics.pass(PassResult::invalid, Duration::ZERO);
    ctx.reset_backoff(key);
    Action::await_change()
}

/// Failed and transient errors: retry with the object's backoff.
fn error_policy(guarded: Arc<Guarded>, _error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let key = key_of(&guarded);
    let delay = ctx.next_backoff(&key);
    tracing::debug!(booster = %key, ?delay, "retrying after backoff");
    Action::requeue(delay)
}

/// Runs the controller until `shutdown` is cancelled and the running passes have finished; sets `health` synced
/// once every watch has finished its initial list.
pub async fn run(
    client: Client,
    watch_namespace: Option<&str>,
    workers: u16,
    ctx: Arc<Context>,
    health: Arc<Health>,
    shutdown: CancellationToken,
) {
    let boosters: Api<Guarded> = match watch_namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let mut controller = Controller::new(boosters, watcher::Config::default());
    let mut stores = Vec::new();
    let selector = format!("{}={}", labels::MANAGED_BY, labels::MANAGED_BY_VALUE);
    for kind in ChildKind::ALL {
        let resource = kind.api_resource();
        // Metadata only: a child event only names its owner; reconcile reads children from the API server.
        let api: Api<PartialObjectMeta<DynamicObject>> = match watch_namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let writer = reflector::store::Writer::new(resource.clone());
        stores.push(writer.as_reader());
        let children = watcher(api, watcher::Config::default().labels(&selector))
            .default_backoff()
            .modify(|child| child.managed_fields_mut().clear())
            .reflect(writer)
            .touched_objects();
        controller = controller.owns_stream_with(children, resource);
    }
    let main_store = controller.store();
    let readiness = tokio::spawn(wait_synced(main_store, stores, health));

    controller
        .with_config(controller::Config::default().concurrency(workers))
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok(_) => {}
                Err(controller::Error::ReconcilerFailed(..)) => {} // logged by reconcile
                Err(controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!(%object, "the ModelBooster is gone");
                }
                Err(error) => tracing::warn!(%error, "controller"),
            }
        })
        .await;
    readiness.abort();
}

async fn wait_synced(
    main: Store<Guarded>,
    children: Vec<Store<PartialObjectMeta<DynamicObject>>>,
    health: Arc<Health>,
) {
    let started = Instant::now();
    if !store_ready(&main).await {
        return;
    }
    tracing::debug!("the ModelBooster watch finished its initial list");
    for (store, kind) in children.into_iter().zip(ChildKind::ALL) {
        if !store_ready(&store).await {
            return;
        }
        tracing::debug!(kind = kind.kind(), "a child watch finished its initial list");
    }
    tracing::info!(elapsed = ?started.elapsed(), "every watch finished its initial list");
    health.set_synced();
}

/// Waits until `store` has its initial list (`false`: its writer is gone).
///
/// `Store::wait_until_ready` wakes only the last task that polled it (a oneshot receiver behind a mutex), and the
/// controller's own runner polls the main store too: poll again periodically instead of relying on the wake-up.
async fn store_ready<K>(store: &Store<K>) -> bool
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        match tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready()).await {
            Ok(result) => return result.is_ok(),
            Err(_) => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_up_to_five_minutes() {
        let delays: Vec<u64> = (0..12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff(u32::MAX), BACKOFF_CAP);
    }
}
