//! [`Cluster`] on the Kubernetes API server.

use booster_api::ModelBooster;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
use kube::{Client, Resource};
use serde_json::Value;

use crate::{ChildKind, Cluster, ClusterError, Event, FIELD_MANAGER};

/// The API server, with one event recorder (it aggregates repeated events into series).
#[derive(Clone)]
pub struct KubeCluster {
    client: Client,
    recorder: Recorder,
}

impl KubeCluster {
    /// Talks to the API server through `client`; events are reported by `recorder`.
    pub fn new(client: Client, recorder: Recorder) -> Self {
        Self { client, recorder }
    }

    fn api(&self, kind: ChildKind, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &kind.api_resource())
    }
}

impl From<kube::Error> for ClusterError {
    /// API answers by their HTTP status; everything else (connection, timeout, decoding) is transient.
    fn from(error: kube::Error) -> Self {
        match error {
            kube::Error::Api(status) => Self::from_status(status.code, status.message),
            other => Self::Transient(other.to_string()),
        }
    }
}

fn to_value(object: DynamicObject) -> Result<Value, ClusterError> {
    serde_json::to_value(object).map_err(|e| ClusterError::Transient(format!("encoding an object: {e}")))
}

impl Cluster for KubeCluster {
    async fn list(&self, kind: ChildKind, namespace: &str, selector: &str) -> Result<Vec<Value>, ClusterError> {
        let list = self.api(kind, namespace).list(&ListParams::default().labels(selector)).await?;
        list.items.into_iter().map(to_value).collect()
    }

    async fn get(&self, kind: ChildKind, namespace: &str, name: &str) -> Result<Option<Value>, ClusterError> {
        self.api(kind, namespace).get_opt(name).await?.map(to_value).transpose()
    }

    async fn apply(
        &self,
        kind: ChildKind,
        namespace: &str,
        name: &str,
        body: &Value,
        field_manager: &str,
    ) -> Result<Value, ClusterError> {
        let params = PatchParams::apply(field_manager).force();
        let stored = self.api(kind, namespace).patch(name, &params, &Patch::Apply(body)).await?;
        to_value(stored)
    }

    async fn delete(&self, kind: ChildKind, namespace: &str, name: &str, uid: &str) -> Result<(), ClusterError> {
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: Some(uid.into()), resource_version: None }),
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        self.api(kind, namespace).delete(name, &params).await?;
        Ok(())
    }

    async fn patch_status(&self, namespace: &str, name: &str, patch: &Value) -> Result<(), ClusterError> {
        let api: Api<ModelBooster> = Api::namespaced(self.client.clone(), namespace);
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
        api.patch_status(name, &params, &Patch::Merge(patch)).await?;
        Ok(())
    }

    async fn publish(&self, booster: &ModelBooster, event: Event) {
        let related = event.related.map(|(kind, name)| ObjectReference {
            api_version: Some(kind.api_version()),
            kind: Some(kind.kind().into()),
            name: Some(name),
            namespace: booster.metadata.namespace.clone(),
            ..ObjectReference::default()
        });
        let event = KubeEvent {
            type_: if event.warning { EventType::Warning } else { EventType::Normal },
            reason: event.reason.into(),
            note: Some(event.note),
            action: "Reconcile".into(),
            secondary: related,
        };
        if let Err(error) = self.recorder.publish(&event, &booster.object_ref(&())).await {
            tracing::warn!(%error, reason = event.reason, "publishing an event failed");
        }
    }
}
