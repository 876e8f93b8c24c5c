//! `ModelServer` (networking.serving.volcano.sh/v1alpha1): how the router reaches the pods of one backend.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The pods serving a model, as seen by the router.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "networking.serving.volcano.sh",
    version = "v1alpha1",
    kind = "ModelServer",
    namespaced,
    derive = "PartialEq",
    status = "ModelServerStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct ModelServerSpec {
    /// Model name the engine serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub model: Option<String>,
    /// Inference engine of the pods.
    pub inference_engine: InferenceEngine,
    /// Which pods belong to this server.
    pub workload_selector: WorkloadSelector,
    /// Port of the engine in the pods.
    pub workload_port: WorkloadPort,
    /// Timeouts and retries of the router towards the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_policy: Option<TrafficPolicy>,
    /// KV-cache transfer between prefill and decode pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_connector: Option<KvConnector>,
}

/// Inference engine of a ModelServer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum InferenceEngine {
    #[serde(rename = "vLLM")]
    Vllm,
    #[serde(rename = "SGLang")]
    Sglang,
}

/// Pod selection of a ModelServer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    /// Labels every selected pod carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Prefill/decode grouping of the selected pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pd_group: Option<PdGroup>,
}

/// How prefill and decode pods of one serving group are told apart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PdGroup {
    /// Label whose value groups a prefill pod with its decode pods.
    pub group_key: String,
    /// Labels of prefill pods.
    pub prefill_labels: BTreeMap<String, String>,
    /// Labels of decode pods.
    pub decode_labels: BTreeMap<String, String>,
}

/// Port of the engine.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadPort {
    /// Port number, 1..65535.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Protocol of the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_protocol")]
    pub protocol: Option<Protocol>,
}

fn default_protocol() -> Option<Protocol> {
    Some(Protocol::Http)
}

/// Protocol of an engine port.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Http,
    Https,
}

/// Timeouts and retries of the router.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicy {
    /// Request timeout (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Retries of failed requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

/// Retries of failed requests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    /// Number of attempts.
    pub attempts: i32,
    /// Pause between attempts (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_retry_interval")]
    pub retry_interval: Option<String>,
}

fn default_retry_interval() -> Option<String> {
    Some("100ms".into())
}

/// KV-cache connector of a prefill/decode ModelServer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct KvConnector {
    /// Connector kind.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_kv_connector_type")]
    pub type_: Option<KvConnectorType>,
}

fn default_kv_connector_type() -> Option<KvConnectorType> {
    Some(KvConnectorType::Http)
}

/// KV-cache connector kinds the router knows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KvConnectorType {
    #[default]
    Http,
    Lmcache,
    Nixl,
    Mooncake,
}

/// Status of a ModelServer (empty).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ModelServerStatus {}
