//! Leader election through a Lease with kube-lease-manager (spec §5.10, D-27).

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Client};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Seconds a Lease stays valid after its last renewal.
pub const LEASE_DURATION_SECONDS: u64 = 15;
/// The holder renews this many seconds before expiry (renews about every 10 s).
pub const LEASE_GRACE_SECONDS: u64 = 5;

/// The leader gives up when it could not confirm its Lease for this long (the reference's renew deadline).
const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often the leader confirms its Lease (the reference's retry period).
const RETRY_PERIOD: Duration = Duration::from_secs(2);

/// A running campaign for the Lease.
pub struct Election {
    identity: String,
    lease: Api<Lease>,
    name: String,
    state: watch::Receiver<bool>,
    task: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
}

/// `<instance>-<8 random hex digits>`: two processes on one host (or a restarted pod) never share an identity.
pub fn identity(instance: &str) -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("{instance}-{:08x}", hasher.finish() & 0xffff_ffff)
}

impl Election {
    /// Starts campaigning for the Lease `name` in `namespace` (created if absent).
    pub async fn start(client: Client, name: &str, namespace: &str, identity: String) -> anyhow::Result<Self> {
        let lease = Api::namespaced(client.clone(), namespace);
        let manager = LeaseManagerBuilder::new(client, name)
            .with_namespace(namespace)
            .with_identity(identity.clone())
            .with_duration(LEASE_DURATION_SECONDS)
            .with_grace(LEASE_GRACE_SECONDS)
            .build()
            .await
            .with_context(|| format!("preparing the leader-election Lease {namespace}/{name}"))?;
        let (state, task) = manager.watch().await;
        tracing::info!(lease = %format!("{namespace}/{name}"), %identity, "standing by for leadership");
        Ok(Self { identity, lease, name: name.to_owned(), state, task })
    }

    /// Waits until this process holds the Lease (`true`) or `shutdown` is cancelled first (`false`).
    pub async fn acquired(&mut self, shutdown: &CancellationToken) -> anyhow::Result<bool> {
        loop {
            if *self.state.borrow_and_update() {
                tracing::info!(identity = %self.identity, "acquired the leader-election Lease");
                return Ok(true);
            }
            tokio::select! {
                changed = self.state.changed() => {
                    changed.map_err(|_| anyhow::anyhow!("the leader-election task stopped"))?;
                }
                () = shutdown.cancelled() => return Ok(false),
            }
        }
    }

    /// Resolves when this process, holding the Lease, has lost it: the lease manager says so, its task stopped,
    /// or the Lease could not be confirmed (another holder, expired, deleted, or unreadable for the renew deadline;
    /// the lease manager alone keeps reporting leadership while the API server is unreachable).
    pub async fn lost(&mut self) {
        let state = &mut self.state;
        let manager_says = async move {
            loop {
                if !*state.borrow_and_update() {
                    tracing::warn!("the lease manager reports the Lease lost");
                    return;
                }
                if state.changed().await.is_err() {
                    tracing::warn!("the lease manager stopped");
                    return;
                }
            }
        };
        tokio::select! {
            () = manager_says => {}
            () = confirm_until_lost(&self.lease, &self.name, &self.identity) => {}
        }
    }

    /// Stops campaigning and releases the Lease if held (waits at most `timeout`).
    pub async fn release(self, timeout: Duration) {
        let Self { identity, state, task, .. } = self;
        // Closing the channel makes the manager's task release the Lease and end.
        drop(state);
        match tokio::time::timeout(timeout, task).await {
            Ok(Ok(Ok(_))) => tracing::info!(%identity, "released the leader-election Lease"),
            Ok(Ok(Err(error))) => tracing::warn!(%identity, %error, "releasing the leader-election Lease failed"),
            Ok(Err(error)) => tracing::warn!(%identity, %error, "the leader-election task failed"),
            Err(_) => tracing::warn!(%identity, ?timeout, "releasing the leader-election Lease timed out"),
        }
    }
}

/// Reads the Lease every [`RETRY_PERIOD`]; returns once it is not (or can no longer be shown to be) ours.
async fn confirm_until_lost(lease: &Api<Lease>, name: &str, identity: &str) {
    let mut confirmed = Instant::now();
    loop {
        tokio::time::sleep(RETRY_PERIOD).await;
        match lease.get_opt(name).await {
            Ok(Some(lease)) => {
                let spec = lease.spec.unwrap_or_default();
                let holder = spec.holder_identity.unwrap_or_default();
                if holder != identity {
                    tracing::warn!(%holder, "the Lease has another holder");
                    return;
                }
                let expired = spec.renew_time.zip(spec.lease_duration_seconds).is_some_and(|(renewed, duration)| {
                    renewed.0.as_second().saturating_add(i64::from(duration)) < Timestamp::now().as_second()
                });
                if expired {
                    tracing::warn!("the Lease expired without renewal");
                    return;
                }
                confirmed = Instant::now();
            }
            Ok(None) => {
                tracing::warn!("the Lease was deleted");
                return;
            }
            Err(error) if confirmed.elapsed() >= RENEW_DEADLINE => {
                tracing::warn!(%error, deadline = ?RENEW_DEADLINE, "could not confirm the Lease within the renew deadline");
                return;
            }
            Err(error) => tracing::debug!(%error, "reading the Lease failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::identity;

    #[test]
    fn identities_carry_the_instance_and_differ() {
        let (a, b) = (identity("pod-1"), identity("pod-1"));
        assert!(a.starts_with("pod-1-") && a.len() == "pod-1-".len() + 8, "{a}");
        assert_ne!(a, b);
    }
}
