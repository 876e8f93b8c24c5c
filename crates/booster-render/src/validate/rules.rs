//! The CEL rules of the ModelBooster CRD (V-rules of spec §3.3 and §3.4, except the transition rules V-40),
//! evaluated offline with the same messages. One function per rule, called by rule number; within a rule, errors
//! come by ascending index (document order of their paths).
//!
//! Rules the CRD writes on `spec` with a `(backends: …)` message expression (V-6, V-7, V-10, V-12) report one
//! error per offending backend, with an indexed path and the bare message (spec §3.1); so do the other rules whose
//! offline path names an item (V-19, V-20, V-21, V-22, V-32, V-39). A duration that is not a Go duration at all
//! fails its OpenAPI pattern; the CEL rules reading it are then skipped (on the API server they would stop with an
//! evaluation error). A duration beyond the range of Go durations counts as out of range.

use booster_api::autoscaling::{AutoscalingPolicySpec, StablePolicy};
use booster_api::routing::StringMatch;
use booster_api::{BackendType, ModelBackend, ModelBooster, WorkerType};

use super::FieldError;
use super::duration::{MINUTE, SECOND, nanos_for_comparison};
use super::patterns::{CACHE_URI_FORM_RE, DOT_SEGMENT_RE, NAME, SYSTEM_DIRECTORY_RE};
use crate::quantity;

pub(crate) const V1_NEGATIVE: &str = "scaleToZeroGracePeriod cannot be negative";
pub(crate) const V1_TOO_LONG: &str = "scaleToZeroGracePeriod cannot exceed 1800 seconds";
pub(crate) const V2: &str = "minReplicas cannot be greater than maxReplicas";
pub(crate) const V4: &str = "invalid container image reference: image cannot be empty or whitespace only";
pub(crate) const V5: &str = "invalid container image reference: image cannot contain spaces";
pub(crate) const V6: &str = "scalingCost must not be provided when model-level autoscaling is not set";
pub(crate) const V7: &str = "scaleToZeroGracePeriod must not be provided when model-level autoscaling is not set";
pub(crate) const V8: &str = "costExpansionRatePercent must not be provided when model-level autoscaling is not set";
pub(crate) const V9: &str = "minReplicas must be >= 1 when backend-level autoscaling is set";
pub(crate) const V10: &str = "minReplicas and maxReplicas must be equal and > 0 when no autoscaling is set";
pub(crate) const V12: &str = "scalingCost must be provided when model-level autoscaling is set";
pub(crate) const V14: &str = "sum of all minReplicas must be >= 1 when model-level autoscaling is set";
pub(crate) const V16: &str = "spec.autoscalingPolicy and spec.backends[].autoscalingPolicy cannot both be set; choose model-level or backend-level autoscaling, not both";
pub(crate) const V19: &str = "If backend type is 'vLLMDisaggregated', all workers must be type 'prefill' or 'decode'";
pub(crate) const V20: &str = "If backend type is 'MindIEDisaggregated', all workers must be type 'prefill', 'decode', 'controller', or 'coordinator' (not 'server')";
pub(crate) const V21: &str = "lora name cannot be the same as model name";
pub(crate) const V22: &str = "lora name must be unique within the backend";
pub(crate) const V31: &str = "If backend type is 'vLLMDisaggregated', there must be exactly one 'prefill' worker and exactly one 'decode' worker";
pub(crate) const V33: &str = "image is required";
pub(crate) const V34: &str = "loraAdapters are not supported for SGLang backends yet";
pub(crate) const V35: &str = "at most 10 distinct LoRA adapter names are allowed across all backends";
pub(crate) const V38: &str = "at least one backend must have routeWeight > 0";
pub(crate) const V39_LABEL: &str = "metadata.name must be a DNS-1123 label: lower-case letters, digits and '-' (it prefixes generated container names)";
pub(crate) const V39_MODEL_NAME: &str =
    "metadata.name must be at most 45 characters (it prefixes generated container names)";
pub(crate) const V39_SERVING_NAME: &str =
    "'<metadata.name>-<backend name>' must be at most 63 characters (it names the ModelServing and is a label value)";
pub(crate) const V41: &str =
    "cacheURI must be pvc://<claim-name> or hostpath://<absolute-path> (for example hostpath:///mnt/cache)";
pub(crate) const V42: &str = "only one of exact, prefix, regex may be set";
pub(crate) const V43_TARGET: &str = "metric target value must be greater than 0 and not equal to infinity";
pub(crate) const V43_STABLE_PERIOD: &str = "stable policy period must be between 0 and 30 minutes";
pub(crate) const V43_STABLE_WINDOW: &str = "stable policy stabilization window must be between 0 and 30 minutes";
pub(crate) const V43_PANIC_PERIOD: &str = "panic policy period must be between 0 and 30 minutes";
pub(crate) const V43_PANIC_HOLD: &str = "panic policy panic mode hold must be between 0 and 30 minutes";
pub(crate) const V44: &str = "cacheURI must not mount over a system directory";
pub(crate) const V45: &str = "cacheURI must not contain '.' or '..' path segments";

/// V-3's message expression.
fn v3(sum: i64) -> String {
    format!("sum of maxReplicas across all backends ({sum}) cannot exceed 1000000")
}

/// V-17's message expression.
fn v17(t: BackendType) -> String {
    format!("If backend type is '{}', there must be exactly one worker", t.as_str())
}

/// V-18's message expression.
fn v18(t: BackendType) -> String {
    format!("If backend type is '{}', the worker type must be 'server'", t.as_str())
}

/// V-30's message expression.
fn v30(t: BackendType) -> String {
    format!("backend type '{}' is not supported yet; supported types: vLLM, vLLMDisaggregated, SGLang", t.as_str())
}

/// V-32's message expression.
fn v32(t: BackendType) -> String {
    format!("{} backends support single-node workers only (pods must be 0 or 1)", t.as_str())
}

/// V-43's duplicate-metric message expression.
fn v43_duplicate(name: &str) -> String {
    format!("duplicate metric name {name} is not allowed")
}

/// Appends the V-rule violations of `m`, by rule number, then by index.
pub(crate) fn check(m: &ModelBooster, errors: &mut Vec<FieldError>) {
    let mut r = Rules { m, errors };
    r.v1();
    r.v2();
    r.v3();
    r.v4();
    r.v5();
    r.v6();
    r.v7();
    r.v8();
    r.v9();
    r.v10();
    r.v12();
    r.v14();
    r.v16();
    r.v17();
    r.v18();
    r.v19();
    r.v20();
    r.v21();
    r.v22();
    r.v30();
    r.v31();
    r.v32();
    r.v33();
    r.v34();
    r.v35();
    r.v38();
    r.v39();
    r.v41();
    r.v42();
    r.v43();
    r.v44();
    r.v45();
}

struct Rules<'a> {
    m: &'a ModelBooster,
    errors: &'a mut Vec<FieldError>,
}

/// `spec.backends[i]`.
fn bp(i: usize) -> String {
    format!("spec.backends[{i}]")
}

impl Rules<'_> {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    fn backends(&self) -> impl Iterator<Item = (usize, &ModelBackend)> + use<'_> {
        self.m.spec.backends.iter().enumerate()
    }

    fn model_level(&self) -> bool {
        self.m.spec.autoscaling_policy.is_some()
    }

    fn v1(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            let Some(ns) = nanos_for_comparison(&b.scale_to_zero_grace_period) else { continue };
            let path = format!("{}.scaleToZeroGracePeriod", bp(i));
            if ns < 0 {
                self.push(&path, V1_NEGATIVE);
            }
            if ns > i128::from(1800 * SECOND) {
                self.push(&path, V1_TOO_LONG);
            }
        }
    }

    fn v2(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.min_replicas > b.max_replicas {
                self.push(format!("{}.minReplicas", bp(i)), V2);
            }
        }
    }

    fn v3(&mut self) {
        let sum: i64 = self.m.spec.backends.iter().map(|b| i64::from(b.max_replicas)).sum();
        if sum > 1_000_000 {
            self.push("spec.backends", v3(sum));
        }
    }

    fn v4(&mut self) {
        for (i, j, image) in self.images() {
            if let Some(image) = image
                && !image.is_empty()
                && image.trim().is_empty()
            {
                self.push(format!("{}.workers[{j}].image", bp(i)), V4);
            }
        }
    }

    fn v5(&mut self) {
        for (i, j, image) in self.images() {
            if let Some(image) = image
                && !image.trim().is_empty()
                && image.contains(' ')
            {
                self.push(format!("{}.workers[{j}].image", bp(i)), V5);
            }
        }
    }

    /// `(backend index, worker index, image)` of every worker.
    fn images(&self) -> Vec<(usize, usize, Option<String>)> {
        self.backends()
            .flat_map(|(i, b)| b.workers.iter().enumerate().map(move |(j, w)| (i, j, w.image.clone())))
            .collect()
    }

    fn v6(&mut self) {
        if self.model_level() {
            return;
        }
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.scaling_cost.is_some_and(|c| c != 0) {
                self.push(format!("{}.scalingCost", bp(i)), V6);
            }
        }
    }

    fn v7(&mut self) {
        if self.model_level() {
            return;
        }
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if nanos_for_comparison(&b.scale_to_zero_grace_period).is_some_and(|ns| ns != i128::from(30 * SECOND)) {
                self.push(format!("{}.scaleToZeroGracePeriod", bp(i)), V7);
            }
        }
    }

    fn v8(&mut self) {
        if !self.model_level() && self.m.spec.cost_expansion_rate_percent != 200 {
            self.push("spec.costExpansionRatePercent", V8);
        }
    }

    fn v9(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.autoscaling_policy.is_some() && b.min_replicas < 1 {
                self.push(format!("{}.minReplicas", bp(i)), V9);
            }
        }
    }

    fn v10(&mut self) {
        if self.model_level() {
            return;
        }
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.autoscaling_policy.is_none() && b.min_replicas != b.max_replicas {
                self.push(bp(i), V10);
            }
        }
    }

    fn v12(&mut self) {
        if !self.model_level() {
            return;
        }
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.scaling_cost.is_none_or(|c| c <= 0) {
                self.push(format!("{}.scalingCost", bp(i)), V12);
            }
        }
    }

    fn v14(&mut self) {
        let sum: i64 = self.m.spec.backends.iter().map(|b| i64::from(b.min_replicas)).sum();
        if self.model_level() && sum < 1 {
            self.push("spec.backends", V14);
        }
    }

    fn v16(&mut self) {
        if self.model_level() && self.m.spec.backends.iter().any(|b| b.autoscaling_policy.is_some()) {
            self.push("spec.autoscalingPolicy", V16);
        }
    }

    fn v17(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if single_worker_type(b.type_) && b.workers.len() != 1 {
                self.push(format!("{}.workers", bp(i)), v17(b.type_));
            }
        }
    }

    fn v18(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if let [worker] = b.workers.as_slice()
                && single_worker_type(b.type_)
                && worker.type_ != WorkerType::Server
            {
                self.push(format!("{}.workers[0].type", bp(i)), v18(b.type_));
            }
        }
    }

    fn v19(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.type_ != BackendType::VllmDisaggregated {
                continue;
            }
            for (j, w) in b.workers.iter().enumerate() {
                if !matches!(w.type_, WorkerType::Prefill | WorkerType::Decode) {
                    self.push(format!("{}.workers[{j}].type", bp(i)), V19);
                }
            }
        }
    }

    fn v20(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.type_ != BackendType::MindIeDisaggregated {
                continue;
            }
            for (j, w) in b.workers.iter().enumerate() {
                if w.type_ == WorkerType::Server {
                    self.push(format!("{}.workers[{j}].type", bp(i)), V20);
                }
            }
        }
    }

    fn v21(&mut self) {
        let Some(model) = self.m.metadata.name.clone() else { return };
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            for (j, a) in b.lora_adapters.iter().flatten().enumerate() {
                if a.name == model {
                    self.push(format!("{}.loraAdapters[{j}].name", bp(i)), V21);
                }
            }
        }
    }

    fn v22(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            let Some(adapters) = &b.lora_adapters else { continue };
            let mut seen = std::collections::HashSet::new();
            for (j, a) in adapters.iter().enumerate() {
                if !seen.insert(a.name.as_str()) {
                    self.push(format!("{}.loraAdapters[{j}].name", bp(i)), V22);
                }
            }
        }
    }

    fn v30(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if matches!(b.type_, BackendType::MindIe | BackendType::MindIeDisaggregated) {
                self.push(format!("{}.type", bp(i)), v30(b.type_));
            }
        }
    }

    fn v31(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.type_ != BackendType::VllmDisaggregated {
                continue;
            }
            let count = |t| b.workers.iter().filter(|w| w.type_ == t).count();
            if count(WorkerType::Prefill) != 1 || count(WorkerType::Decode) != 1 {
                self.push(format!("{}.workers", bp(i)), V31);
            }
        }
    }

    fn v32(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if !matches!(b.type_, BackendType::Sglang | BackendType::VllmDisaggregated) {
                continue;
            }
            for (j, w) in b.workers.iter().enumerate() {
                if w.pods > 1 {
                    self.push(format!("{}.workers[{j}].pods", bp(i)), v32(b.type_));
                }
            }
        }
    }

    fn v33(&mut self) {
        for (i, j, image) in self.images() {
            if image.is_none_or(|image| image.is_empty()) {
                self.push(format!("{}.workers[{j}].image", bp(i)), V33);
            }
        }
    }

    fn v34(&mut self) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.type_ == BackendType::Sglang && b.lora_adapters.as_ref().is_some_and(|a| !a.is_empty()) {
                self.push(format!("{}.loraAdapters", bp(i)), V34);
            }
        }
    }

    /// As the CEL rule: every adapter entry of a backend counts unless a backend with a smaller name lists an
    /// adapter of the same name.
    fn v35(&mut self) {
        if distinct_adapter_count(&self.m.spec.backends) > 10 {
            self.push("spec.backends", V35);
        }
    }

    fn v38(&mut self) {
        if !self.m.spec.backends.iter().any(|b| b.route_weight > 0) {
            self.push("spec.backends", V38);
        }
    }

    fn v39(&mut self) {
        if self.m.metadata.name.as_deref().is_some_and(|name| !NAME.matches(name)) {
            self.push("metadata.name", V39_LABEL);
        }
        let model_len = self.m.metadata.name.as_deref().map_or(0, |n| n.chars().count());
        if model_len > 45 {
            self.push("metadata.name", V39_MODEL_NAME);
        }
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if model_len + b.name.chars().count() > 62 {
                self.push(format!("{}.name", bp(i)), V39_SERVING_NAME);
            }
        }
    }

    fn v41(&mut self) {
        self.cache_uri_rule(|uri| !CACHE_URI_FORM_RE.matches(uri), V41);
    }

    fn v42(&mut self) {
        let Some(model_match) = &self.m.spec.model_match else { return };
        let mut offending = Vec::new();
        for (key, value) in model_match.headers.iter().flatten() {
            if more_than_one_set(value) {
                offending.push(format!("spec.modelMatch.headers.{key}"));
            }
        }
        if model_match.uri.as_ref().is_some_and(more_than_one_set) {
            offending.push("spec.modelMatch.uri".to_owned());
        }
        for path in offending {
            self.push(path, V42);
        }
    }

    fn v43(&mut self) {
        let mut policies: Vec<(String, &AutoscalingPolicySpec)> = self
            .backends()
            .filter_map(|(i, b)| Some((format!("{}.autoscalingPolicy", bp(i)), b.autoscaling_policy.as_ref()?)))
            .collect();
        if let Some(policy) = &self.m.spec.autoscaling_policy {
            policies.push(("spec.autoscalingPolicy".to_owned(), policy));
        }
        let mut found = Vec::new();
        for (path, policy) in policies {
            policy_errors(&path, policy, &mut found);
        }
        self.errors.extend(found);
    }

    fn v44(&mut self) {
        self.cache_uri_rule(|uri| SYSTEM_DIRECTORY_RE.matches(uri), V44);
    }

    fn v45(&mut self) {
        self.cache_uri_rule(|uri| DOT_SEGMENT_RE.matches(uri), V45);
    }

    /// A rule on `cacheURI` (it only applies where the field is set).
    fn cache_uri_rule(&mut self, violates: impl Fn(&str) -> bool, message: &str) {
        for (i, b) in self.m.spec.backends.iter().enumerate() {
            if b.cache_uri.as_deref().is_some_and(&violates) {
                self.push(format!("{}.cacheURI", bp(i)), message);
            }
        }
    }
}

/// The backend types that take exactly one `server` worker (V-17, V-18).
fn single_worker_type(t: BackendType) -> bool {
    matches!(t, BackendType::Vllm | BackendType::Sglang | BackendType::MindIe)
}

fn more_than_one_set(s: &StringMatch) -> bool {
    [s.exact.is_some(), s.prefix.is_some(), s.regex.is_some()].into_iter().filter(|set| *set).count() > 1
}

/// V-35's sum: for each backend, its adapter entries whose name no backend with a smaller name lists.
pub(crate) fn distinct_adapter_count(backends: &[ModelBackend]) -> usize {
    backends
        .iter()
        .map(|b| {
            b.lora_adapters
                .iter()
                .flatten()
                .filter(|l| {
                    !backends
                        .iter()
                        .any(|c| c.name < b.name && c.lora_adapters.iter().flatten().any(|m| m.name == l.name))
                })
                .count()
        })
        .sum()
}

/// V-43 on one policy, in document order: the metric list, each target value, then the durations of `behavior`.
fn policy_errors(path: &str, p: &AutoscalingPolicySpec, out: &mut Vec<FieldError>) {
    let names: Vec<&str> = p.metrics.iter().map(|m| m.metric_name.as_str()).collect();
    let count = |name: &str| names.iter().filter(|n| **n == name).count();
    if let Some(first) = names.iter().find(|n| count(n) > 1) {
        out.push(FieldError::new(format!("{path}.metrics"), v43_duplicate(first)));
    }
    for (k, metric) in p.metrics.iter().enumerate() {
        if quantity::sign(&metric.target_value.0) != Some(1) {
            out.push(FieldError::new(format!("{path}.metrics[{k}].targetValue"), V43_TARGET));
        }
    }
    let Some(behavior) = &p.behavior else { return };
    let stable = |prefix: String, s: &'_ StablePolicy| {
        let mut fields = vec![(format!("{prefix}.period"), s.period.clone(), V43_STABLE_PERIOD)];
        if let Some(window) = &s.stabilization_window {
            fields.push((format!("{prefix}.stabilizationWindow"), window.clone(), V43_STABLE_WINDOW));
        }
        fields
    };
    let mut fields = Vec::new();
    if let Some(up) = &behavior.scale_up {
        if let Some(s) = &up.stable_policy {
            fields.extend(stable(format!("{path}.behavior.scaleUp.stablePolicy"), s));
        }
        if let Some(panic) = &up.panic_policy {
            let prefix = format!("{path}.behavior.scaleUp.panicPolicy");
            fields.push((format!("{prefix}.period"), panic.period.clone(), V43_PANIC_PERIOD));
            fields.push((format!("{prefix}.panicModeHold"), panic.panic_mode_hold.clone(), V43_PANIC_HOLD));
        }
    }
    if let Some(down) = &behavior.scale_down {
        fields.extend(stable(format!("{path}.behavior.scaleDown"), down));
    }
    for (field, value, message) in fields {
        if nanos_for_comparison(&value).is_some_and(|ns| ns < 0 || ns > i128::from(30 * MINUTE)) {
            out.push(FieldError::new(field, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::update::{V40_REPLICAS, V40_TYPE};

    /// Every fixed message is the CRD's (for the `(backends: …)` rules, the text inside the message expression).
    #[test]
    fn messages_are_the_crds() {
        let crd = serde_json::to_string(&booster_api::crds::model_booster()).unwrap_or_default();
        for message in [
            V1_NEGATIVE,
            V1_TOO_LONG,
            V2,
            V4,
            V5,
            V6,
            V7,
            V8,
            V9,
            V10,
            V12,
            V14,
            V16,
            V19,
            V20,
            V21,
            V22,
            V31,
            V33,
            V34,
            V35,
            V38,
            V39_LABEL,
            V39_MODEL_NAME,
            V39_SERVING_NAME,
            V40_TYPE,
            V40_REPLICAS,
            V41,
            V42,
            V43_TARGET,
            V43_STABLE_PERIOD,
            V43_STABLE_WINDOW,
            V43_PANIC_PERIOD,
            V43_PANIC_HOLD,
            V44,
            V45,
        ] {
            assert!(crd.contains(message), "not in the CRD: {message}");
        }
    }
}
