//! AutoscalingPolicy and AutoscalingPolicyBinding pairs (§4.11, D-19, D-20).

use std::collections::BTreeMap;

use booster_api::autoscaling::{
    AutoscalingPolicyBindingSpec, MetricEndpoint, OptimizerConfiguration, OptimizerParam, PolicyRef,
    ScalingConfiguration, ScalingTarget,
};
use booster_api::{
    AutoscalingPolicy, AutoscalingPolicyBinding, AutoscalingPolicySpec, ModelBackend, ModelBooster, labels,
};
use k8s_openapi::api::core::v1::ObjectReference;

use crate::meta::Owner;
use crate::{RenderError, env, names, revision};

/// Path of the runtime sidecar's metrics, which the autoscaler scrapes.
const RUNTIME_METRICS_URI: &str = "/metrics";

/// A policy and the binding that applies it.
pub type Pair = (AutoscalingPolicy, AutoscalingPolicyBinding);

/// The model-level pair when the model has a policy, else one pair per backend that has one.
pub(crate) fn render(m: &ModelBooster, owner: &Owner<'_>) -> Result<Vec<Pair>, RenderError> {
    if let Some(policy) = &m.spec.autoscaling_policy {
        let params = m
            .spec
            .backends
            .iter()
            .map(|b| OptimizerParam {
                target: target(owner, b),
                cost: b.scaling_cost.filter(|cost| *cost > 0),
                min_replicas: b.min_replicas,
                max_replicas: b.max_replicas,
            })
            .collect();
        let binding = AutoscalingPolicyBindingSpec {
            policy_ref: PolicyRef { name: owner.name.into() },
            optimizer_configuration: Some(OptimizerConfiguration {
                params,
                cost_expansion_rate_percent: Some(m.spec.cost_expansion_rate_percent),
            }),
            scaling_configuration: None,
        };
        return Ok(vec![pair(owner, owner.name.into(), "", policy, binding)?]);
    }
    m.spec
        .backends
        .iter()
        .filter_map(|b| b.autoscaling_policy.as_ref().map(|policy| (b, policy)))
        .map(|(b, policy)| {
            let name = names::backend_child(owner.name, &b.name);
            let binding = AutoscalingPolicyBindingSpec {
                policy_ref: PolicyRef { name: name.clone() },
                optimizer_configuration: None,
                scaling_configuration: Some(ScalingConfiguration {
                    target: target(owner, b),
                    min_replicas: b.min_replicas,
                    max_replicas: b.max_replicas,
                }),
            };
            pair(owner, name, &b.name, policy, binding)
        })
        .collect()
}

fn pair(
    owner: &Owner<'_>,
    name: String,
    backend: &str,
    policy: &AutoscalingPolicySpec,
    binding: AutoscalingPolicyBindingSpec,
) -> Result<Pair, RenderError> {
    let policy_revision = revision::of(&serde_json::to_value(policy)?);
    let mut policy_object = AutoscalingPolicy::new(&name, policy.clone());
    policy_object.metadata = owner.child_metadata(name.clone(), owner.labels(backend, &policy_revision));
    let binding_revision = revision::of(&serde_json::to_value(&binding)?);
    let mut binding_object = AutoscalingPolicyBinding::new(&name, binding);
    binding_object.metadata = owner.child_metadata(name, owner.labels(backend, &binding_revision));
    Ok((policy_object, binding_object))
}

/// The backend's ModelServing, its leader pods, and (D-19) the runtime's metrics port.
fn target(owner: &Owner<'_>, backend: &ModelBackend) -> ScalingTarget {
    ScalingTarget {
        target_ref: ObjectReference {
            kind: Some("ModelServing".into()),
            name: Some(names::backend_child(owner.name, &backend.name)),
            ..ObjectReference::default()
        },
        additional_match_labels: Some(BTreeMap::from([(labels::SERVING_ROLE.into(), "leader".into())])),
        metric_endpoint: Some(MetricEndpoint {
            uri: Some(RUNTIME_METRICS_URI.into()),
            port: Some(env::runtime_port(backend)),
        }),
    }
}
