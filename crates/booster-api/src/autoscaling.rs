//! `AutoscalingPolicy` and `AutoscalingPolicyBinding` (workload.serving.volcano.sh/v1alpha1), and the policy spec a
//! ModelBooster embeds at model and backend level.
//!
//! The policy spec's defaults are serde defaults: decoding a policy applies the same defaults the API server's
//! structural defaulting applies from the CRD's `default:` values, which are generated from the same functions.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cel::{self, MAX_METRICS};

/// Go duration syntax, as accepted by CEL `duration()` and Go's `time.ParseDuration`.
pub const DURATION_PATTERN: &str = r"^-?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$";

/// How to scale a workload on metrics.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "workload.serving.volcano.sh",
    version = "v1alpha1",
    kind = "AutoscalingPolicy",
    namespaced,
    derive = "PartialEq",
    status = "AutoscalingPolicyStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalingPolicySpec {
    /// Percentage of deviation from the target tolerated before scaling, 0..100.
    #[serde(default = "default_tolerance_percent")]
    #[schemars(range(min = 0, max = 100))]
    pub tolerance_percent: i32,
    /// Metrics and their targets; metric names are unique.
    #[schemars(length(min = 1, max = MAX_METRICS))]
    #[x_kube(validation = Rule::new("self.all(m, self.exists_one(n, n.metricName == m.metricName))").message(cel::duplicate_metric()))]
    pub metrics: Vec<AutoscalingPolicyMetric>,
    /// Scale-up and scale-down behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<AutoscalingPolicyBehavior>,
}

fn default_tolerance_percent() -> i32 {
    10
}

/// A metric and the value it should be held at.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalingPolicyMetric {
    /// Name of the metric as exposed by the runtime sidecar.
    #[schemars(length(max = 253))]
    pub metric_name: String,
    /// Target value per instance: a positive integer or quantity string.
    #[schemars(extend("maxLength" = 64))]
    #[x_kube(validation = Rule::new("(type(self) == int && self > 0) || (type(self) == string && isQuantity(self) && quantity(self).isGreaterThan(quantity('0')))").message("metric target value must be greater than 0 and not equal to infinity"))]
    pub target_value: Quantity,
}

/// Scale-up and scale-down behaviour of a policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalingPolicyBehavior {
    /// How to scale up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScaleUpPolicy>,
    /// How to scale down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<StablePolicy>,
}

/// Scale-up behaviour: a stable policy and a panic policy for bursts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleUpPolicy {
    /// Scaling under sustained load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_policy: Option<StablePolicy>,
    /// Scaling under a sudden burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic_policy: Option<PanicPolicy>,
}

/// Scaling under sustained load (scale-up) or scale-down behaviour.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StablePolicy {
    /// Instances added or removed per period.
    #[serde(default = "default_stable_instances")]
    #[schemars(range(min = 0))]
    pub instances: i32,
    /// Percentage of current instances added or removed per period, 0..1000.
    #[serde(default = "default_stable_percent")]
    #[schemars(range(min = 0, max = 1000))]
    pub percent: i32,
    /// Length of one scaling period (Go duration, 0..30m).
    #[serde(default = "default_stable_period")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('0s') && duration(self) <= duration('30m')").message("stable policy period must be between 0 and 30 minutes"))]
    pub period: String,
    /// How `instances` and `percent` combine.
    #[serde(default)]
    pub select_policy: SelectPolicy,
    /// Window over which recommendations are smoothed (Go duration, 0..30m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('0s') && duration(self) <= duration('30m')").message("stable policy stabilization window must be between 0 and 30 minutes"))]
    pub stabilization_window: Option<String>,
}

fn default_stable_instances() -> i32 {
    1
}

fn default_stable_percent() -> i32 {
    100
}

fn default_stable_period() -> String {
    "15s".into()
}

/// How the `instances` and `percent` limits of a stable policy combine.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SelectPolicy {
    /// The larger change wins.
    #[default]
    Or,
    /// The smaller change wins.
    And,
}

/// Scale-up under a sudden burst.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PanicPolicy {
    /// Percentage of current instances added per period, 0..1000.
    #[serde(default = "default_panic_percent")]
    #[schemars(range(min = 0, max = 1000))]
    pub percent: i32,
    /// Length of one scaling period (Go duration, 0..30m).
    #[schemars(regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('0s') && duration(self) <= duration('30m')").message("panic policy period must be between 0 and 30 minutes"))]
    pub period: String,
    /// Load, in percent of the target, that enters panic mode, 110..1000.
    #[serde(default = "default_panic_threshold_percent")]
    #[schemars(range(min = 110, max = 1000))]
    pub panic_threshold_percent: i32,
    /// How long panic mode lasts at least (Go duration, 0..30m).
    #[serde(default = "default_panic_mode_hold")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('0s') && duration(self) <= duration('30m')").message("panic policy panic mode hold must be between 0 and 30 minutes"))]
    pub panic_mode_hold: String,
}

fn default_panic_percent() -> i32 {
    1000
}

fn default_panic_threshold_percent() -> i32 {
    200
}

fn default_panic_mode_hold() -> String {
    "60s".into()
}

/// Status of an AutoscalingPolicy (empty).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct AutoscalingPolicyStatus {}

/// Binds an AutoscalingPolicy to the workloads it scales.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "workload.serving.volcano.sh",
    version = "v1alpha1",
    kind = "AutoscalingPolicyBinding",
    namespaced,
    derive = "PartialEq",
    status = "AutoscalingPolicyBindingStatus"
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.optimizerConfiguration) != has(self.scalingConfiguration)").message("Either optimizerConfiguration or scalingConfiguration must be set, but not both."))]
pub struct AutoscalingPolicyBindingSpec {
    /// The AutoscalingPolicy in the binding's namespace.
    pub policy_ref: PolicyRef,
    /// Scale several workloads together, by cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_configuration: Option<OptimizerConfiguration>,
    /// Scale one workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_configuration: Option<ScalingConfiguration>,
}

/// Reference to an object by name in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct PolicyRef {
    /// Name of the referenced object.
    #[serde(default)]
    pub name: String,
}

/// Scaling of several workloads by cost.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptimizerConfiguration {
    /// One entry per workload.
    #[schemars(length(min = 1))]
    pub params: Vec<OptimizerParam>,
    /// How far, in percent, the optimizer may exceed the cheapest allocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_binding_cost_expansion_rate_percent", range(min = 0))]
    pub cost_expansion_rate_percent: Option<i32>,
}

/// The default of `costExpansionRatePercent`, in bindings and in the ModelBooster.
pub fn default_cost_expansion_rate_percent() -> i32 {
    200
}

fn default_binding_cost_expansion_rate_percent() -> Option<i32> {
    Some(default_cost_expansion_rate_percent())
}

/// One workload of an optimizer binding.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptimizerParam {
    /// The scaled workload.
    pub target: ScalingTarget,
    /// Relative cost of one replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub cost: Option<i32>,
    /// Lower bound of replicas.
    #[schemars(range(min = 0, max = 1_000_000))]
    pub min_replicas: i32,
    /// Upper bound of replicas.
    #[schemars(range(min = 1, max = 1_000_000))]
    pub max_replicas: i32,
}

/// Scaling of one workload.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingConfiguration {
    /// The scaled workload.
    pub target: ScalingTarget,
    /// Lower bound of replicas.
    #[schemars(range(min = 0, max = 1_000_000))]
    pub min_replicas: i32,
    /// Upper bound of replicas.
    #[schemars(range(min = 1, max = 1_000_000))]
    pub max_replicas: i32,
}

/// A scaled workload and where its metrics are read.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingTarget {
    /// The workload object.
    pub target_ref: ObjectReference,
    /// Extra pod labels that select the pods whose metrics count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_match_labels: Option<BTreeMap<String, String>>,
    /// Where the pods expose their metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_endpoint: Option<MetricEndpoint>,
}

/// HTTP endpoint of a pod's metrics.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricEndpoint {
    /// Path of the metrics endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_metric_uri")]
    pub uri: Option<String>,
    /// Port of the metrics endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_metric_port")]
    pub port: Option<i32>,
}

fn default_metric_uri() -> Option<String> {
    Some("/metrics".into())
}

fn default_metric_port() -> Option<i32> {
    Some(8100)
}

/// Status of an AutoscalingPolicyBinding (empty).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct AutoscalingPolicyBindingStatus {}
