//! `ModelBooster` (workload.serving.volcano.sh/v1alpha1): one LLM to serve, with one or more inference backends.
//!
//! Defaults are serde defaults: decoding a ModelBooster applies exactly the defaults the API server's structural
//! defaulting applies from the CRD, whose `default:` values are generated from the same functions. Every decoded
//! ModelBooster is therefore already defaulted (spec §3.2).
//!
//! The CEL rules carry the rule numbers (V-n) of the specification; the offline validator in `booster-render`
//! enforces the same rules with the same messages.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, EnvFromSource, EnvVar, ResourceClaim, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::autoscaling::{AutoscalingPolicySpec, DURATION_PATTERN, default_cost_expansion_rate_percent};
use crate::cel::{self, MAX_BACKENDS};
use crate::routing::ModelMatch;

/// DNS-1123 label syntax of backend, LoRA adapter and served names.
pub const NAME_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Schemes a model or adapter can be downloaded from.
pub const SOURCE_URI_PATTERN: &str = "^(hf://|s3://|pvc://).+";
/// Schemes of a cache location.
pub const CACHE_URI_PATTERN: &str = "^(hostpath://|pvc://).+";
/// The default of `scaleToZeroGracePeriod`.
pub const DEFAULT_SCALE_TO_ZERO_GRACE_PERIOD: &str = "30s";
/// The default of `routeWeight`.
pub const DEFAULT_ROUTE_WEIGHT: i32 = 100;

/// A model served by one or more inference backends.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "workload.serving.volcano.sh",
    version = "v1alpha1",
    kind = "ModelBooster",
    namespaced,
    derive = "PartialEq",
    status = "ModelBoosterStatus",
    shortname = "mb",
    category = "kthena",
    printcolumn(name = "Active", type_ = "string", json_path = r#".status.conditions[?(@.type=="Active")].status"#),
    printcolumn(name = "Failed", type_ = "string", json_path = r#".status.conditions[?(@.type=="Failed")].status"#, priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    // V-21
    validation = Rule::new("self.spec.backends.all(b, !has(b.loraAdapters) || b.loraAdapters.all(l, l.name != self.metadata.name))").message("lora name cannot be the same as model name").field_path(".spec.backends"),
    // V-39
    validation = Rule::new("self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("metadata.name must be a DNS-1123 label: lower-case letters, digits and '-' (it prefixes generated container names)").field_path(".metadata.name"),
    validation = Rule::new("size(self.metadata.name) <= 45").message("metadata.name must be at most 45 characters (it prefixes generated container names)").field_path(".metadata.name"),
    validation = Rule::new("self.spec.backends.all(b, size(self.metadata.name) + size(b.name) <= 62)").message("'<metadata.name>-<backend name>' must be at most 63 characters (it names the ModelServing and is a label value)").field_path(".spec.backends"),
)]
#[serde(rename_all = "camelCase")]
// V-3
#[x_kube(validation = Rule::new("self.backends.map(b, b.maxReplicas).sum() <= 1000000").message(cel::max_replicas_sum()).field_path(".backends"))]
// V-6
#[x_kube(validation = Rule::new("has(self.autoscalingPolicy) || self.backends.all(b, !has(b.scalingCost) || b.scalingCost == 0)").message(cel::offending_backends("scalingCost must not be provided when model-level autoscaling is not set", "!(!has({b}.scalingCost) || {b}.scalingCost == 0)")).field_path(".backends"))]
// V-7
#[x_kube(validation = Rule::new("has(self.autoscalingPolicy) || self.backends.all(b, !has(b.scaleToZeroGracePeriod) || duration(b.scaleToZeroGracePeriod) == duration('30s'))").message(cel::offending_backends("scaleToZeroGracePeriod must not be provided when model-level autoscaling is not set", "!(!has({b}.scaleToZeroGracePeriod) || duration({b}.scaleToZeroGracePeriod) == duration('30s'))")).field_path(".backends"))]
// V-8
#[x_kube(validation = Rule::new("has(self.autoscalingPolicy) || !has(self.costExpansionRatePercent) || self.costExpansionRatePercent == 200").message("costExpansionRatePercent must not be provided when model-level autoscaling is not set").field_path(".costExpansionRatePercent"))]
// V-10
#[x_kube(validation = Rule::new("has(self.autoscalingPolicy) || self.backends.all(b, has(b.autoscalingPolicy) || b.minReplicas == b.maxReplicas)").message(cel::offending_backends("minReplicas and maxReplicas must be equal and > 0 when no autoscaling is set", "!(has({b}.autoscalingPolicy) || {b}.minReplicas == {b}.maxReplicas)")).field_path(".backends"))]
// V-12
#[x_kube(validation = Rule::new("!has(self.autoscalingPolicy) || self.backends.all(b, has(b.scalingCost) && b.scalingCost > 0)").message(cel::offending_backends("scalingCost must be provided when model-level autoscaling is set", "!(has({b}.scalingCost) && {b}.scalingCost > 0)")).field_path(".backends"))]
// V-14
#[x_kube(validation = Rule::new("!has(self.autoscalingPolicy) || self.backends.map(b, b.minReplicas).sum() >= 1").message("sum of all minReplicas must be >= 1 when model-level autoscaling is set").field_path(".backends"))]
// V-16
#[x_kube(validation = Rule::new("!has(self.autoscalingPolicy) || !self.backends.exists(b, has(b.autoscalingPolicy))").message("spec.autoscalingPolicy and spec.backends[].autoscalingPolicy cannot both be set; choose model-level or backend-level autoscaling, not both").field_path(".autoscalingPolicy"))]
// V-35
// Names first, `in` over the other backend's names: the same count within the API server's cost budget.
#[x_kube(validation = Rule::new("self.backends.map(b, has(b.loraAdapters) ? b.loraAdapters.map(l, l.name).filter(n, !self.backends.exists(c, c.name < b.name && has(c.loraAdapters) && n in c.loraAdapters.map(m, m.name))).size() : 0).sum() <= 10").message("at most 10 distinct LoRA adapter names are allowed across all backends").field_path(".backends"))]
// V-38
#[x_kube(validation = Rule::new("self.backends.exists(b, !has(b.routeWeight) || b.routeWeight > 0)").message("at least one backend must have routeWeight > 0").field_path(".backends"))]
pub struct ModelBoosterSpec {
    /// Name the engines serve when a worker's config sets no `served-model-name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), regex(pattern = NAME_PATTERN))]
    pub name: Option<String>,
    /// Informational owner of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Inference backends; names are unique. Requests are spread over them by `routeWeight`.
    #[schemars(length(min = 1, max = MAX_BACKENDS))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub backends: Vec<ModelBackend>,
    /// Model-level autoscaling: one policy, with replicas shared among the backends by `scalingCost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling_policy: Option<AutoscalingPolicySpec>,
    /// How far, in percent, model-level autoscaling may exceed the cheapest allocation, 0..1000.
    #[serde(default = "default_cost_expansion_rate_percent")]
    #[schemars(range(min = 0, max = 1000))]
    pub cost_expansion_rate_percent: i32,
    /// Request match of the model's route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_match: Option<ModelMatch>,
}

/// One inference backend of a model.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
// V-2
#[x_kube(validation = Rule::new("self.minReplicas <= self.maxReplicas").message("minReplicas cannot be greater than maxReplicas").field_path(".minReplicas"))]
// V-9
#[x_kube(validation = Rule::new("!has(self.autoscalingPolicy) || self.minReplicas >= 1").message("minReplicas must be >= 1 when backend-level autoscaling is set").field_path(".minReplicas"))]
// V-17
#[x_kube(validation = Rule::new("!(self.type in ['vLLM', 'SGLang', 'MindIE']) || size(self.workers) == 1").message(Message::Expression(r#""If backend type is '" + self.type + "', there must be exactly one worker""#.into())).field_path(".workers"))]
// V-18
#[x_kube(validation = Rule::new("!(self.type in ['vLLM', 'SGLang', 'MindIE']) || size(self.workers) != 1 || self.workers[0].type == 'server'").message(Message::Expression(r#""If backend type is '" + self.type + "', the worker type must be 'server'""#.into())).field_path(".workers"))]
// V-19
#[x_kube(validation = Rule::new("self.type != 'vLLMDisaggregated' || self.workers.all(w, w.type in ['prefill', 'decode'])").message("If backend type is 'vLLMDisaggregated', all workers must be type 'prefill' or 'decode'").field_path(".workers"))]
// V-20
#[x_kube(validation = Rule::new("self.type != 'MindIEDisaggregated' || self.workers.all(w, w.type in ['prefill', 'decode', 'controller', 'coordinator'])").message("If backend type is 'MindIEDisaggregated', all workers must be type 'prefill', 'decode', 'controller', or 'coordinator' (not 'server')").field_path(".workers"))]
// V-30
#[x_kube(validation = Rule::new("self.type in ['vLLM', 'vLLMDisaggregated', 'SGLang']").message(Message::Expression(r#""backend type '" + self.type + "' is not supported yet; supported types: vLLM, vLLMDisaggregated, SGLang""#.into())).field_path(".type"))]
// V-31
#[x_kube(validation = Rule::new("self.type != 'vLLMDisaggregated' || (self.workers.filter(w, w.type == 'prefill').size() == 1 && self.workers.filter(w, w.type == 'decode').size() == 1)").message("If backend type is 'vLLMDisaggregated', there must be exactly one 'prefill' worker and exactly one 'decode' worker").field_path(".workers"))]
// V-32
#[x_kube(validation = Rule::new("!(self.type in ['SGLang', 'vLLMDisaggregated']) || self.workers.all(w, w.pods <= 1)").message(Message::Expression(r#"self.type + " backends support single-node workers only (pods must be 0 or 1)""#.into())).field_path(".workers"))]
// V-34
#[x_kube(validation = Rule::new("self.type != 'SGLang' || !has(self.loraAdapters) || size(self.loraAdapters) == 0").message("loraAdapters are not supported for SGLang backends yet").field_path(".loraAdapters"))]
// V-40
#[x_kube(validation = Rule::new("self.type == oldSelf.type").message("type is immutable; use a new backend name to change it").field_path(".type"))]
#[x_kube(validation = Rule::new("['server', 'prefill', 'decode'].all(t, self.workers.filter(w, w.type == t).map(w, w.replicas) == oldSelf.workers.filter(w, w.type == t).map(w, w.replicas))").message("replicas of server, prefill and decode workers are immutable (ModelServing gangPolicy.minRoleReplicas is immutable); use a new backend name to change them").field_path(".workers"))]
pub struct ModelBackend {
    /// Backend name; `<metadata.name>-<name>` names the backend's ModelServing and ModelServer.
    #[schemars(length(max = 51), regex(pattern = NAME_PATTERN))]
    pub name: String,
    /// Inference engine and topology of the backend.
    #[serde(rename = "type")]
    pub type_: BackendType,
    /// Where the model is downloaded from (`hf://`, `s3://` or `pvc://`).
    #[serde(rename = "modelURI")]
    #[schemars(length(max = 1024), regex(pattern = SOURCE_URI_PATTERN))]
    pub model_uri: String,
    /// Where downloaded weights are cached: `pvc://<claim>` or `hostpath://<absolute path>`; an emptyDir when unset.
    #[serde(rename = "cacheURI", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024), regex(pattern = CACHE_URI_PATTERN))]
    // V-41
    #[x_kube(validation = Rule::new(r"self.matches('^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*|hostpath:///[^/]+(/[^/]+)*/?)$')").message("cacheURI must be pvc://<claim-name> or hostpath://<absolute-path> (for example hostpath:///mnt/cache)"))]
    // V-44
    #[x_kube(validation = Rule::new("!self.matches('^(pvc://|hostpath:///)(bin|boot|dev|etc|lib|lib64|proc|root|run|sbin|sys|usr|var)/?$')").message("cacheURI must not mount over a system directory"))]
    // V-45
    #[x_kube(validation = Rule::new(r"!self.matches('^hostpath://.*/\\.\\.?(/|$)')").message("cacheURI must not contain '.' or '..' path segments"))]
    pub cache_uri: Option<String>,
    /// Environment sources of the downloaders and the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Atomic)]
    pub env_from: Option<Vec<EnvFromSource>>,
    /// Environment of every container; also read for `RUNTIME_PORT`, `RUNTIME_URL`, `RUNTIME_METRICS_PATH`,
    /// `ENDPOINT` and `HF_ENDPOINT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub env: Option<Vec<EnvVar>>,
    /// Lower bound of serving groups (the replicas when not autoscaled).
    #[schemars(range(min = 0, max = 1_000_000))]
    pub min_replicas: i32,
    /// Upper bound of serving groups.
    #[schemars(range(min = 1, max = 1_000_000))]
    pub max_replicas: i32,
    /// Relative cost of one replica for model-level autoscaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub scaling_cost: Option<i32>,
    /// Share of the model's traffic, 0..100.
    #[serde(default = "default_route_weight")]
    #[schemars(range(min = 0, max = 100))]
    pub route_weight: i32,
    /// Grace period before scaling to zero (Go duration, 0..1800s); only with model-level autoscaling.
    #[serde(default = "default_scale_to_zero_grace_period")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    // V-1
    #[x_kube(validation = Rule::new("duration(self) >= duration('0s')").message("scaleToZeroGracePeriod cannot be negative"))]
    #[x_kube(validation = Rule::new("duration(self) <= duration('1800s')").message("scaleToZeroGracePeriod cannot exceed 1800 seconds"))]
    pub scale_to_zero_grace_period: String,
    /// Engine workers: one `server` worker, or a `prefill` and a `decode` worker.
    #[schemars(length(min = 1, max = 4))]
    pub workers: Vec<ModelWorker>,
    /// LoRA adapters loaded at engine start; names are unique within the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    // V-22
    #[x_kube(validation = Rule::new("self.all(x, self.exists_one(y, y.name == x.name))").message("lora name must be unique within the backend"))]
    pub lora_adapters: Option<Vec<LoraAdapter>>,
    /// Backend-level autoscaling of this backend alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling_policy: Option<AutoscalingPolicySpec>,
    /// Scheduler of the backend's pods; the cluster default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
}

fn default_route_weight() -> i32 {
    DEFAULT_ROUTE_WEIGHT
}

fn default_scale_to_zero_grace_period() -> String {
    DEFAULT_SCALE_TO_ZERO_GRACE_PERIOD.into()
}

/// Inference engine and topology of a backend.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum BackendType {
    /// vLLM, single or multi node (`pods > 1`, via Ray).
    #[serde(rename = "vLLM")]
    Vllm,
    /// vLLM with prefill/decode disaggregation and KV-cache transfer.
    #[serde(rename = "vLLMDisaggregated")]
    VllmDisaggregated,
    /// SGLang, single node.
    #[serde(rename = "SGLang")]
    Sglang,
    /// Not supported yet (rejected).
    #[serde(rename = "MindIE")]
    MindIe,
    /// Not supported yet (rejected).
    #[serde(rename = "MindIEDisaggregated")]
    MindIeDisaggregated,
}

impl BackendType {
    /// The name of the type as written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vllm => "vLLM",
            Self::VllmDisaggregated => "vLLMDisaggregated",
            Self::Sglang => "SGLang",
            Self::MindIe => "MindIE",
            Self::MindIeDisaggregated => "MindIEDisaggregated",
        }
    }
}

/// One engine worker role of a backend.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
// V-4
#[x_kube(validation = Rule::new("!has(self.image) || self.image.size() == 0 || self.image.trim().size() > 0").message("invalid container image reference: image cannot be empty or whitespace only").field_path(".image"))]
// V-5
#[x_kube(validation = Rule::new("!has(self.image) || self.image.trim().size() == 0 || !self.image.contains(' ')").message("invalid container image reference: image cannot contain spaces").field_path(".image"))]
// V-33
#[x_kube(validation = Rule::new("has(self.image) && self.image.size() > 0").message("image is required").reason(Reason::FieldValueRequired).field_path(".image"))]
pub struct ModelWorker {
    /// Role of the worker.
    #[serde(rename = "type", default)]
    pub type_: WorkerType,
    /// Engine image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub image: Option<String>,
    /// Instances of the role per serving group (the gang minimum).
    #[serde(default = "default_one")]
    #[schemars(range(min = 0, max = 1_000_000))]
    pub replicas: i32,
    /// Pods per role instance; more than 1 runs vLLM multi-node over Ray.
    #[serde(default = "default_one")]
    #[schemars(range(min = 0, max = 1_000_000))]
    pub pods: i32,
    /// Engine resources; `huawei.com/ascend-*` or `nvidia.com/gpu` also select accelerator-specific settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<WorkerResources>,
    /// Affinity of the role's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Engine flags: each key `k` becomes `--k` (with `_` as `-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
}

fn default_one() -> i32 {
    1
}

/// The syntax of a Kubernetes quantity (as in the ModelServing CRD, which rejects anything else).
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// Compute resources of a worker's engine container (core/v1 `ResourceRequirements`, with the quantity syntax
/// checked at admission so that a typo fails here rather than in every pod).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkerResources {
    /// Maximum amounts, e.g. `cpu`, `memory`, `nvidia.com/gpu`, `huawei.com/ascend-1980`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantities")]
    pub limits: Option<BTreeMap<String, Quantity>>,
    /// Minimum amounts; they default to the limits when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantities")]
    pub requests: Option<BTreeMap<String, Quantity>>,
    /// Dynamic resource claims the container uses, by the name of an entry of the pod's `resourceClaims`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub claims: Option<Vec<ResourceClaim>>,
}

fn quantities(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": {"x-kubernetes-int-or-string": true, "pattern": QUANTITY_PATTERN},
    })
}

impl From<&WorkerResources> for ResourceRequirements {
    fn from(resources: &WorkerResources) -> Self {
        Self {
            limits: resources.limits.clone(),
            requests: resources.requests.clone(),
            claims: resources.claims.clone(),
        }
    }
}

/// Role of a worker.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkerType {
    /// Serves whole requests.
    #[default]
    Server,
    /// Computes the prompt's KV cache.
    Prefill,
    /// Generates tokens from a transferred KV cache.
    Decode,
    /// MindIE only (not supported yet).
    Controller,
    /// MindIE only (not supported yet).
    Coordinator,
}

impl WorkerType {
    /// The name of the role as written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Prefill => "prefill",
            Self::Decode => "decode",
            Self::Controller => "controller",
            Self::Coordinator => "coordinator",
        }
    }
}

/// A LoRA adapter downloaded next to the model and loaded at engine start.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoraAdapter {
    /// Adapter name clients ask for.
    #[schemars(length(max = 63), regex(pattern = NAME_PATTERN))]
    pub name: String,
    /// Where the adapter is downloaded from (`hf://`, `s3://` or `pvc://`).
    #[serde(rename = "artifactURL")]
    #[schemars(length(max = 1024), regex(pattern = SOURCE_URI_PATTERN))]
    pub artifact_url: String,
}

/// Observed state of a ModelBooster.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelBoosterStatus {
    /// `Initialized`, `Active` and `Failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Replicas of each backend's ModelServing, in backend order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Atomic)]
    pub backend_statuses: Option<Vec<BackendStatus>>,
    /// Generation of the spec the operator last finished processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Replicas of one backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendStatus {
    /// Name of the backend's ModelServing (`<model>-<backend>`).
    pub name: String,
    /// `status.replicas` of the ModelServing.
    pub replicas: i32,
}
