//! The five child kinds, as the API server knows them.

use booster_api::{NETWORKING_GROUP, VERSION, WORKLOAD_GROUP};
use booster_render::Child;
use kube::core::{ApiResource, GroupVersionKind};

/// A kind of child object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChildKind {
    ModelServing,
    ModelServer,
    ModelRoute,
    AutoscalingPolicy,
    AutoscalingPolicyBinding,
}

impl ChildKind {
    /// Every kind, in render order.
    pub const ALL: [Self; 5] = [
        Self::ModelServing,
        Self::ModelServer,
        Self::ModelRoute,
        Self::AutoscalingPolicy,
        Self::AutoscalingPolicyBinding,
    ];

    /// Order of pruning (§5.6): dependents before what they reference.
    pub const PRUNE_ORDER: [Self; 5] = [
        Self::AutoscalingPolicyBinding,
        Self::AutoscalingPolicy,
        Self::ModelRoute,
        Self::ModelServer,
        Self::ModelServing,
    ];

    /// The kind of a rendered child.
    pub fn of(child: &Child) -> Self {
        match child {
            Child::ModelServing(_) => Self::ModelServing,
            Child::ModelServer(_) => Self::ModelServer,
            Child::ModelRoute(_) => Self::ModelRoute,
            Child::AutoscalingPolicy(_) => Self::AutoscalingPolicy,
            Child::AutoscalingPolicyBinding(_) => Self::AutoscalingPolicyBinding,
        }
    }

    /// `kind` of the objects.
    pub fn kind(self) -> &'static str {
        match self {
            Self::ModelServing => "ModelServing",
            Self::ModelServer => "ModelServer",
            Self::ModelRoute => "ModelRoute",
            Self::AutoscalingPolicy => "AutoscalingPolicy",
            Self::AutoscalingPolicyBinding => "AutoscalingPolicyBinding",
        }
    }

    /// API group of the kind.
    pub fn group(self) -> &'static str {
        match self {
            Self::ModelServer | Self::ModelRoute => NETWORKING_GROUP,
            _ => WORKLOAD_GROUP,
        }
    }

    /// Resource name (plural) of the kind.
    pub fn plural(self) -> &'static str {
        match self {
            Self::ModelServing => "modelservings",
            Self::ModelServer => "modelservers",
            Self::ModelRoute => "modelroutes",
            Self::AutoscalingPolicy => "autoscalingpolicies",
            Self::AutoscalingPolicyBinding => "autoscalingpolicybindings",
        }
    }

    /// `apiVersion` of the objects.
    pub fn api_version(self) -> String {
        format!("{}/{VERSION}", self.group())
    }

    /// The kind as a dynamic API resource.
    pub fn api_resource(self) -> ApiResource {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(self.group(), VERSION, self.kind()), self.plural())
    }
}
