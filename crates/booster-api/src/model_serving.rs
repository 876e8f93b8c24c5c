//! `ModelServing` (workload.serving.volcano.sh/v1alpha1): the gang-scheduled pods of one backend.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Replicated groups of role pods serving one model backend.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "workload.serving.volcano.sh",
    version = "v1alpha1",
    kind = "ModelServing",
    namespaced,
    derive = "PartialEq",
    status = "ModelServingStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct ModelServingSpec {
    /// Number of serving groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_one")]
    pub replicas: Option<i32>,
    /// Scheduler of the pods; empty means the cluster default.
    pub scheduler_name: String,
    /// Template of one serving group.
    pub template: ServingGroup,
    /// How serving groups are updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_strategy: Option<RolloutStrategy>,
    /// What is recreated when a pod fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_recovery_policy")]
    pub recovery_policy: Option<RecoveryPolicy>,
    /// Spread of serving groups over the topology.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
}

fn default_one() -> Option<i32> {
    Some(1)
}

/// One serving group: its roles and gang policy.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(oldSelf.gangPolicy) || has(self.gangPolicy)").message("gangPolicy is required once set"))]
pub struct ServingGroup {
    /// Seconds a failed group waits before it restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_restart_grace_period_seconds")]
    pub restart_grace_period_seconds: Option<i64>,
    /// Minimum replicas per role for the group to be scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gang_policy: Option<GangPolicy>,
    /// Network-topology-aware scheduling (never set by model-booster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_topology: Option<NetworkTopology>,
    /// The roles of the group; names are unique.
    #[schemars(length(min = 1, max = 4))]
    #[x_kube(validation = Rule::new("self.all(x, self.exists_one(y, y.name == x.name))").message("roles name must be unique"))]
    pub roles: Vec<Role>,
}

fn default_restart_grace_period_seconds() -> Option<i64> {
    Some(0)
}

/// Gang scheduling of a serving group.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(oldSelf.minRoleReplicas) || has(self.minRoleReplicas)").message("minRoleReplicas is required once set"))]
pub struct GangPolicy {
    /// Role name to the replicas that must be schedulable together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("minRoleReplicas is immutable"))]
    pub min_role_replicas: Option<BTreeMap<String, i32>>,
}

/// Network-topology-aware scheduling of a group.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkTopology {
    /// Whether the constraint is hard or soft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_network_topology_mode")]
    pub mode: Option<NetworkTopologyMode>,
    /// Highest network tier a group may span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_one")]
    pub highest_tier_allowed: Option<i32>,
}

fn default_network_topology_mode() -> Option<NetworkTopologyMode> {
    Some(NetworkTopologyMode::Hard)
}

/// Strength of a network-topology constraint.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NetworkTopologyMode {
    #[default]
    Hard,
    Soft,
}

/// One role of a serving group: an entry pod plus `workerReplicas` worker pods, `replicas` times.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Role name.
    #[schemars(length(max = 12), regex(pattern = "^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"))]
    pub name: String,
    /// Instances of the role per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_one")]
    pub replicas: Option<i32>,
    /// Template of the entry pod of each instance.
    pub entry_template: PodTemplateSpec,
    /// Worker pods per instance.
    pub worker_replicas: i32,
    /// Template of the worker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_template: Option<PodTemplateSpec>,
}

/// A pod template with only labels and annotations as metadata.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateSpec {
    /// Labels and annotations of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
    /// The pod spec.
    pub spec: PodSpec,
}

/// Labels and annotations of templated pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMetadata {
    /// Pod labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Pod annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// How serving groups are replaced on update.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    /// Kind of rollout.
    #[serde(rename = "type")]
    #[schemars(default = "RolloutStrategyType::default")]
    pub type_: RolloutStrategyType,
    /// Parameters of a rolling update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update_configuration: Option<RollingUpdateConfiguration>,
}

/// Kinds of rollout.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RolloutStrategyType {
    #[default]
    ServingGroupRollingUpdate,
}

/// Parameters of a rolling update.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateConfiguration {
    /// Groups that may be unavailable during the update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_max_unavailable")]
    pub max_unavailable: Option<IntOrString>,
    /// Groups that may be created above the desired number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_max_surge")]
    pub max_surge: Option<IntOrString>,
    /// Groups below this ordinal are not updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
}

fn default_max_unavailable() -> Option<IntOrString> {
    Some(IntOrString::Int(1))
}

fn default_max_surge() -> Option<IntOrString> {
    Some(IntOrString::Int(0))
}

fn default_recovery_policy() -> Option<RecoveryPolicy> {
    Some(RecoveryPolicy::RoleRecreate)
}

/// What is recreated when a pod of a group fails.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RecoveryPolicy {
    ServingGroupRecreate,
    #[default]
    RoleRecreate,
    None,
}

/// Spread of serving groups over a topology domain.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologySpreadConstraint {
    /// Largest allowed difference of matching pods between domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_skew: Option<i32>,
    /// Node label that defines the domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_key: Option<String>,
    /// `DoNotSchedule` or `ScheduleAnyway`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_unsatisfiable: Option<String>,
    /// Pods counted for the spread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
}

/// Observed state of a ModelServing, written by Kthena's ModelServing controller.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelServingStatus {
    /// Generation the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Serving groups that exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Serving groups at the current revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_replicas: Option<i32>,
    /// Serving groups at the updated revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Serving groups that are available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// Conditions, among them `Available`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Option<Vec<Condition>>,
}
