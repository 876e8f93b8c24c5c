//! The rendered children of one ModelBooster, in render order.

use booster_api::{AutoscalingPolicy, AutoscalingPolicyBinding, ModelRoute, ModelServer, ModelServing};
use kube::Resource;
use serde::Serialize;
use serde_json::Value;

/// Every child of one ModelBooster.
#[derive(Clone, Debug)]
pub struct Children {
    /// One per backend, in backend order.
    pub model_servings: Vec<ModelServing>,
    /// One per backend, in backend order.
    pub model_servers: Vec<ModelServer>,
    /// The model's route.
    pub model_route: ModelRoute,
    /// Policy and binding pairs: the model-level pair, or one per backend with a policy.
    pub autoscaling: Vec<(AutoscalingPolicy, AutoscalingPolicyBinding)>,
}

/// One rendered child.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Child {
    ModelServing(ModelServing),
    ModelServer(ModelServer),
    ModelRoute(ModelRoute),
    AutoscalingPolicy(AutoscalingPolicy),
    AutoscalingPolicyBinding(AutoscalingPolicyBinding),
}

impl Child {
    /// The child's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ModelServing(_) => "ModelServing",
            Self::ModelServer(_) => "ModelServer",
            Self::ModelRoute(_) => "ModelRoute",
            Self::AutoscalingPolicy(_) => "AutoscalingPolicy",
            Self::AutoscalingPolicyBinding(_) => "AutoscalingPolicyBinding",
        }
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        let meta = match self {
            Self::ModelServing(o) => o.meta(),
            Self::ModelServer(o) => o.meta(),
            Self::ModelRoute(o) => o.meta(),
            Self::AutoscalingPolicy(o) => o.meta(),
            Self::AutoscalingPolicyBinding(o) => o.meta(),
        };
        meta.name.as_deref().unwrap_or_default()
    }

    /// The child as a JSON value (what is applied).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

impl Children {
    /// All children in render order (§4.1).
    pub fn into_vec(self) -> Vec<Child> {
        let mut children: Vec<Child> = self.model_servings.into_iter().map(Child::ModelServing).collect();
        children.extend(self.model_servers.into_iter().map(Child::ModelServer));
        children.push(Child::ModelRoute(self.model_route));
        for (policy, binding) in self.autoscaling {
            children.push(Child::AutoscalingPolicy(policy));
            children.push(Child::AutoscalingPolicyBinding(binding));
        }
        children
    }
}
