//! Label keys and values shared by the operator, the Kthena ModelServing controller and the router.

/// Name of the owning ModelBooster.
pub const MODEL_NAME: &str = "workload.serving.volcano.sh/model-name";
/// Backend of a per-backend child; `""` on model-level children.
pub const BACKEND_NAME: &str = "workload.serving.volcano.sh/backend-name";
/// Marks children managed by a ModelBooster controller; the value is [`MANAGED_BY_VALUE`].
pub const MANAGED_BY: &str = "workload.serving.volcano.sh/managed-by";
/// The value of [`MANAGED_BY`].
pub const MANAGED_BY_VALUE: &str = "workload.serving.volcano.sh";
/// Content hash of a child's rendered spec.
pub const REVISION: &str = "workload.serving.volcano.sh/revision";
/// UID of the owning ModelBooster.
pub const MODEL_UID: &str = "workload.serving.volcano.sh/model-uid";

/// Pod label set by the ModelServing controller: the ModelServing's name.
pub const SERVING_NAME: &str = "modelserving.volcano.sh/name";
/// Pod label set by the ModelServing controller: the serving group.
pub const SERVING_GROUP_NAME: &str = "modelserving.volcano.sh/group-name";
/// Pod label set by the ModelServing controller: the role.
pub const SERVING_ROLE: &str = "modelserving.volcano.sh/role";
