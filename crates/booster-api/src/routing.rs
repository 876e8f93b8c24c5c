//! `ModelRoute` (networking.serving.volcano.sh/v1alpha1) and the request-matching types the ModelBooster shares
//! with it.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Request attributes a route rule matches on.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelMatch {
    /// Header name to string match; at most 32 headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 32))]
    pub headers: Option<BTreeMap<String, StringMatch>>,
    /// Match on the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<StringMatch>,
    /// Match on fields of the request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyMatch>,
}

/// A string comparison; at most one of `exact`, `prefix` and `regex` may be set.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.exact), has(self.prefix), has(self.regex)].filter(x, x).size() <= 1").message("only one of exact, prefix, regex may be set"))]
pub struct StringMatch {
    /// The value must equal this string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub exact: Option<String>,
    /// The value must start with this string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub prefix: Option<String>,
    /// The value must match this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub regex: Option<String>,
}

/// Match on the request body.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BodyMatch {
    /// The `model` field of an OpenAI-style request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub model: Option<String>,
}

/// Routes requests for a model name (and its LoRA adapters) to ModelServers.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "networking.serving.volcano.sh",
    version = "v1alpha1",
    kind = "ModelRoute",
    namespaced,
    derive = "PartialEq",
    status = "ModelRouteStatus"
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(r#"self.modelName != "" || size(self.loraAdapters) > 0"#).message("ModelName and LoraAdapters cannot both be empty"))]
pub struct ModelRouteSpec {
    /// The model name clients ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("modelName is immutable"))]
    pub model_name: Option<String>,
    /// LoRA adapter names served behind this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub lora_adapters: Option<Vec<String>>,
    /// Routing rules, evaluated in order.
    #[schemars(length(max = 16))]
    pub rules: Vec<RouteRule>,
    /// Token rate limits (never set by model-booster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

/// One routing rule: requests matching `modelMatch` go to `targetModels`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    /// Rule name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which requests this rule applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_match: Option<ModelMatch>,
    /// Weighted ModelServer targets.
    #[schemars(length(max = 16))]
    pub target_models: Vec<TargetModel>,
}

/// A weighted route target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetModel {
    /// Name of the ModelServer in the route's namespace.
    pub model_server_name: String,
    /// Share of traffic, 0..100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_weight", range(min = 0, max = 100))]
    pub weight: Option<i32>,
}

fn default_weight() -> Option<i32> {
    Some(100)
}

/// Token rate limits of a route.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Input tokens allowed per unit of time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub input_tokens_per_unit: Option<i32>,
    /// Output tokens allowed per unit of time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub output_tokens_per_unit: Option<i32>,
    /// Unit of time of the limits.
    #[schemars(default = "RateLimitUnit::default")]
    pub unit: RateLimitUnit,
    /// Limits shared across router replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalRateLimit>,
}

/// Unit of time of a rate limit.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RateLimitUnit {
    #[default]
    Second,
    Minute,
    Hour,
    Day,
    Month,
}

/// Backend of a global rate limit.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GlobalRateLimit {
    /// Redis holding the shared counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisConfig>,
}

/// Address of a Redis server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedisConfig {
    /// `host:port` of the Redis server.
    pub address: String,
}

/// Status of a ModelRoute (empty).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ModelRouteStatus {}
