//! One reconcile pass of a ModelBooster (spec §5.3): validate, render, apply what changed, prune, status.

use std::collections::{BTreeMap, BTreeSet};

use booster_api::{ModelBooster, labels};
use booster_render::{Child, Settings};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use crate::plan::{contained, plan};
use crate::status::{self, Observation};
use crate::{ChildKind, Cluster, ClusterError, Event, FIELD_MANAGER, REPLICAS_FIELD_MANAGER};

/// What a pass wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Children applied (created or changed), in order.
    pub applied: Vec<(ChildKind, String)>,
    /// Children deleted, in order.
    pub pruned: Vec<(ChildKind, String)>,
    /// Whether the status was written.
    pub status_written: bool,
}

/// How a pass ended without an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The ModelBooster is being deleted (or lacks its identity); nothing was done.
    Skipped,
    /// Every child is applied and pruned, the status is current.
    Reconciled(Report),
    /// The spec is invalid: `Failed` is set, no child was written; wait for the next change.
    Invalid(Report),
}

/// How a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A non-transient failure (ownership conflict, API rejection), recorded in the `Failed` condition.
    #[error("{message}")]
    Failed {
        /// The `Failed` condition's message.
        message: String,
        /// What the pass wrote before it failed.
        report: Report,
    },
    /// Worth retrying; the status was not changed.
    #[error("{0}")]
    Transient(ClusterError),
}

/// The state of one pass.
struct Pass<'a, C> {
    cluster: &'a C,
    booster: &'a ModelBooster,
    namespace: &'a str,
    name: &'a str,
    uid: &'a str,
    now: Timestamp,
    report: Report,
    /// Live ModelServings of the booster by name, updated by applies and deletes.
    servings: BTreeMap<String, Value>,
}

/// Reconciles `booster` once; `now` stamps condition transitions.
pub async fn reconcile<C: Cluster>(
    cluster: &C,
    booster: &ModelBooster,
    settings: &Settings,
    now: Timestamp,
) -> Result<Outcome, ReconcileError> {
    let meta = &booster.metadata;
    let (Some(namespace), Some(name), Some(uid)) = (&meta.namespace, &meta.name, &meta.uid) else {
        return Ok(Outcome::Skipped);
    };
    if meta.deletion_timestamp.is_some() {
        return Ok(Outcome::Skipped);
    }
    let mut pass =
        Pass { cluster, booster, namespace, name, uid, now, report: Report::default(), servings: BTreeMap::new() };
    let live = pass.list_owned().await?;
    pass.servings = live
        .get(&ChildKind::ModelServing)
        .into_iter()
        .flatten()
        .map(|serving| (name_of(serving).to_owned(), serving.clone()))
        .collect();

    let desired = booster_render::validate(booster)
        .map_err(|errors| errors.to_string())
        .and_then(|()| booster_render::render(booster, settings).map_err(|e| e.to_string()));
    let children = match desired {
        Ok(children) => children,
        Err(message) => {
            pass.write_status(false, Some(message)).await?;
            return Ok(Outcome::Invalid(pass.report));
        }
    };

    let autoscaled: BTreeSet<String> = booster
        .spec
        .backends
        .iter()
        .filter(|b| booster.spec.autoscaling_policy.is_some() || b.autoscaling_policy.is_some())
        .map(|b| format!("{name}-{}", b.name))
        .collect();
    let children = children.into_vec();
    let current = pass.current_children(&children, &live).await?;
    for child in &children {
        let kind = ChildKind::of(child);
        let manage_replicas = !(kind == ChildKind::ModelServing && autoscaled.contains(child.name()));
        pass.apply(child, current.get(&(kind, child.name().to_owned())), manage_replicas).await?;
    }
    let desired: BTreeSet<(ChildKind, &str)> = children.iter().map(|c| (ChildKind::of(c), c.name())).collect();
    for kind in ChildKind::PRUNE_ORDER {
        for object in live.get(&kind).into_iter().flatten() {
            if !desired.contains(&(kind, name_of(object))) {
                pass.prune(kind, object).await?;
            }
        }
    }
    pass.write_status(true, None).await?;
    Ok(Outcome::Reconciled(pass.report))
}

impl<C: Cluster> Pass<'_, C> {
    /// The booster's children: labelled with its uid and owned by it, by kind.
    async fn list_owned(&mut self) -> Result<BTreeMap<ChildKind, Vec<Value>>, ReconcileError> {
        let selector =
            format!("{}={},{}={}", labels::MANAGED_BY, labels::MANAGED_BY_VALUE, labels::MODEL_UID, self.uid);
        let mut live = BTreeMap::new();
        for kind in ChildKind::ALL {
            let objects = match self.cluster.list(kind, self.namespace, &selector).await {
                Ok(objects) => objects,
                Err(error) => return Err(self.fail(format!("list {}: {error}", kind.kind()), error).await),
            };
            live.insert(kind, objects.into_iter().filter(|o| owned_by(o, self.uid)).collect());
        }
        Ok(live)
    }

    /// §5.5: the live object of every desired child, which must be ours.
    async fn current_children(
        &mut self,
        children: &[Child],
        live: &BTreeMap<ChildKind, Vec<Value>>,
    ) -> Result<BTreeMap<(ChildKind, String), Value>, ReconcileError> {
        let mut current = BTreeMap::new();
        for child in children {
            let (kind, name) = (ChildKind::of(child), child.name());
            let listed = live.get(&kind).into_iter().flatten().find(|o| name_of(o) == name).cloned();
            let object = match listed {
                Some(object) => Some(object),
                None => match self.cluster.get(kind, self.namespace, name).await {
                    Ok(object) => object,
                    Err(error) => {
                        return Err(self
                            .fail(format!("get {} {}/{name}: {error}", kind.kind(), self.namespace), error)
                            .await);
                    }
                },
            };
            if let Some(object) = object {
                if !owned_by(&object, self.uid) {
                    let message = format!(
                        "{} {}/{name} already exists and is not owned by ModelBooster {}",
                        kind.kind(),
                        self.namespace,
                        self.name
                    );
                    self.write_status(false, Some(message.clone())).await?;
                    return Err(ReconcileError::Failed { message, report: std::mem::take(&mut self.report) });
                }
                current.insert((kind, name.to_owned()), object);
            }
        }
        Ok(current)
    }

    /// Applies `child` if the live object lacks anything we render (§5.4).
    async fn apply(
        &mut self,
        child: &Child,
        live: Option<&Value>,
        manage_replicas: bool,
    ) -> Result<(), ReconcileError> {
        let (kind, name) = (ChildKind::of(child), child.name());
        let rendered = child
            .to_value()
            .map_err(|e| ReconcileError::Failed { message: e.to_string(), report: self.report.clone() })?;
        let Some(write) = plan(rendered, live, manage_replicas) else { return Ok(()) };
        let describe = |error: &ClusterError| format!("apply {} {}/{name}: {error}", kind.kind(), self.namespace);
        if let Some(replicas) = write.handover_replicas {
            // Conditional on the resourceVersion the value was read at: a forced apply of a stale value would undo
            // an autoscaler write made since (409 instead; the next pass sees the autoscaler owning the field).
            let mut metadata = json!({"name": name, "namespace": self.namespace});
            if let Some(version) = live.and_then(|l| l.pointer("/metadata/resourceVersion")) {
                metadata["resourceVersion"] = version.clone();
            }
            let handover = json!({
                "apiVersion": kind.api_version(),
                "kind": kind.kind(),
                "metadata": metadata,
                "spec": {"replicas": replicas},
            });
            if let Err(error) = self.cluster.apply(kind, self.namespace, name, &handover, REPLICAS_FIELD_MANAGER).await
            {
                return Err(self.fail(describe(&error), error).await);
            }
        }
        let stored = match self.cluster.apply(kind, self.namespace, name, &write.body, FIELD_MANAGER).await {
            Ok(stored) => stored,
            Err(error) => return Err(self.fail(describe(&error), error).await),
        };
        if !contained(&write.body, &stored) {
            tracing::warn!(
                kind = kind.kind(),
                name,
                "the API server did not store every rendered field (pruned by its CRD?)"
            );
        }
        if kind == ChildKind::ModelServing {
            self.servings.insert(name.to_owned(), stored);
        }
        self.report.applied.push((kind, name.to_owned()));
        self.publish("Applied", format!("applied {} {name}", kind.kind()), (kind, name.to_owned())).await;
        Ok(())
    }

    /// §5.6: deletes a child that is no longer desired; it is gone already or replaced when 404 or 409.
    async fn prune(&mut self, kind: ChildKind, object: &Value) -> Result<(), ReconcileError> {
        let name = name_of(object).to_owned();
        let uid = object.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default();
        match self.cluster.delete(kind, self.namespace, &name, uid).await {
            Ok(()) => {
                self.report.pruned.push((kind, name.clone()));
                self.publish("Pruned", format!("deleted {} {name}", kind.kind()), (kind, name.clone())).await;
            }
            Err(ClusterError::NotFound | ClusterError::Conflict(_)) => {}
            Err(error) => {
                return Err(self
                    .fail(format!("delete {} {}/{name}: {error}", kind.kind(), self.namespace), error)
                    .await);
            }
        }
        if kind == ChildKind::ModelServing {
            self.servings.remove(&name);
        }
        Ok(())
    }

    /// A failed request: transient errors change nothing; others become the `Failed` condition.
    async fn fail(&mut self, message: String, error: ClusterError) -> ReconcileError {
        if error.is_transient() {
            return ReconcileError::Transient(error);
        }
        if let Err(error) = self.write_status(false, Some(message.clone())).await {
            return error;
        }
        ReconcileError::Failed { message, report: std::mem::take(&mut self.report) }
    }

    /// Writes the status if it changed, and publishes the events of its changes.
    async fn write_status(&mut self, applied_all: bool, failure: Option<String>) -> Result<(), ReconcileError> {
        let observed = Observation { applied_all, failure, servings: &self.servings };
        let new = status::compute(self.booster, &observed, self.now);
        let old = self.booster.status.clone().unwrap_or_default();
        if new == old {
            return Ok(());
        }
        let patch = status::merge_patch(&new);
        if let Err(error) = self.cluster.patch_status(self.namespace, self.name, &patch).await {
            tracing::warn!(name = self.name, %error, "writing the status failed");
            return Err(if error.is_transient() {
                ReconcileError::Transient(error)
            } else {
                ReconcileError::Failed { message: format!("patch status: {error}"), report: self.report.clone() }
            });
        }
        self.report.status_written = true;
        for event in status::events(&old, &new) {
            self.cluster.publish(self.booster, event).await;
        }
        Ok(())
    }

    /// Publishes a `Normal` event about a child.
    async fn publish(&self, reason: &'static str, note: String, child: (ChildKind, String)) {
        self.cluster.publish(self.booster, Event { warning: false, reason, note, related: Some(child) }).await;
    }
}

fn name_of(object: &Value) -> &str {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

/// Whether `object` has an owner reference with `uid` (§5.5; the controller flag is not required).
fn owned_by(object: &Value, uid: &str) -> bool {
    object.pointer("/metadata/ownerReferences").and_then(Value::as_array).into_iter().flatten().any(|r| r["uid"] == uid)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::memory::InMemoryCluster;

    const NS: &str = "team";

    /// The in-memory cluster, where the autoscaler writes `spec.replicas` just before the first replicas hand-over
    /// reaches the API server (after the pass read the ModelServing).
    struct AutoscalerRace {
        inner: InMemoryCluster,
        raced: AtomicBool,
    }

    impl Cluster for AutoscalerRace {
        async fn list(&self, kind: ChildKind, namespace: &str, selector: &str) -> Result<Vec<Value>, ClusterError> {
            self.inner.list(kind, namespace, selector).await
        }

        async fn get(&self, kind: ChildKind, namespace: &str, name: &str) -> Result<Option<Value>, ClusterError> {
            self.inner.get(kind, namespace, name).await
        }

        async fn apply(
            &self,
            kind: ChildKind,
            namespace: &str,
            name: &str,
            body: &Value,
            field_manager: &str,
        ) -> Result<Value, ClusterError> {
            if field_manager == REPLICAS_FIELD_MANAGER && !self.raced.swap(true, Ordering::SeqCst) {
                self.inner.merge_spec_as(kind, namespace, name, "autoscaler", json!({"replicas": 3}));
            }
            self.inner.apply(kind, namespace, name, body, field_manager).await
        }

        async fn delete(&self, kind: ChildKind, namespace: &str, name: &str, uid: &str) -> Result<(), ClusterError> {
            self.inner.delete(kind, namespace, name, uid).await
        }

        async fn patch_status(&self, namespace: &str, name: &str, patch: &Value) -> Result<(), ClusterError> {
            self.inner.patch_status(namespace, name, patch).await
        }

        async fn publish(&self, booster: &ModelBooster, event: Event) {
            self.inner.publish(booster, event).await;
        }
    }

    fn autoscaled_booster() -> Result<ModelBooster, serde_json::Error> {
        serde_json::from_value(json!({
            "apiVersion": "workload.serving.volcano.sh/v1alpha1",
            "kind": "ModelBooster",
            "metadata": {"name": "llm", "namespace": NS, "uid": "u-1", "generation": 1},
            "spec": {"backends": [{
                "name": "a", "type": "vLLM", "modelURI": "hf://org/model", "minReplicas": 1, "maxReplicas": 4,
                "workers": [{"type": "server", "image": "vllm/vllm-openai:v0.10.0"}],
                "autoscalingPolicy": {"metrics": [{"metricName": "kthena:num_requests_waiting", "targetValue": 10}]},
            }]},
        }))
    }

    fn replicas(cluster: &InMemoryCluster) -> Option<Value> {
        cluster.object(ChildKind::ModelServing, NS, "llm-a").and_then(|o| o.pointer("/spec/replicas").cloned())
    }

    /// Found on the test API server (operator test 6): the hand-over re-applied the value read before the
    /// autoscaler's write, forced, and so reset the autoscaler's 3 to the creating pass's 1.
    #[tokio::test]
    async fn a_replicas_hand_over_never_undoes_a_concurrent_autoscaler_write() -> Result<(), Box<dyn std::error::Error>>
    {
        let cluster = AutoscalerRace { inner: InMemoryCluster::new(), raced: AtomicBool::new(false) };
        let mut m = autoscaled_booster()?;
        let settings = Settings::default();
        let now = Timestamp::UNIX_EPOCH;
        // Creation: replicas = minReplicas, owned by model-booster.
        reconcile(&cluster, &m, &settings, now).await?;
        assert_eq!(replicas(&cluster.inner), Some(json!(1)));
        m.status = cluster.inner.booster_status(NS, "llm");

        // The hand-over is due; the autoscaler scales to 3 in between: the stale hand-over is refused (409).
        let raced = reconcile(&cluster, &m, &settings, now).await;
        assert!(matches!(raced, Err(ReconcileError::Transient(ClusterError::Conflict(_)))), "{raced:?}");
        assert_eq!(replicas(&cluster.inner), Some(json!(3)), "the autoscaler's write was undone");

        // The retry finds the autoscaler owning the field: no hand-over, 3 stays.
        reconcile(&cluster, &m, &settings, now).await?;
        assert_eq!(replicas(&cluster.inner), Some(json!(3)));
        Ok(())
    }
}
