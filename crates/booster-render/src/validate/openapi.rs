//! The OpenAPI constraints of the ModelBooster schema (spec §2) that a decoded value can still violate: lengths,
//! patterns, bounds, item and property counts, and key uniqueness of `x-kubernetes-list-type: map` lists.
//! Enums, types and required fields are enforced by decoding. Errors come in document order: the fields in the
//! order of the types, a list's own constraints before its items, an item's key uniqueness before its fields, and
//! for one string `maxLength` before `pattern` (kube-openapi's order).

use std::collections::{HashMap, HashSet};

use booster_api::autoscaling::{AutoscalingPolicySpec, PanicPolicy, StablePolicy};
use booster_api::routing::{ModelMatch, StringMatch};
use booster_api::{ModelBackend, ModelBooster, ModelWorker};

use super::FieldError;
use super::patterns::{CACHE_URI, DURATION, NAME, Pattern, QUANTITY, SOURCE_URI};
use super::wording;

/// Appends the OpenAPI constraint violations of `m`, in document order.
pub(crate) fn check(m: &ModelBooster, errors: &mut Vec<FieldError>) {
    let mut c = Checker { errors };
    let spec = &m.spec;
    if let Some(name) = &spec.name {
        c.string("spec.name", name, Some(64), Some(&NAME));
    }
    c.items("spec.backends", spec.backends.len(), Some(1), Some(16));
    let duplicates = second_occurrences(spec.backends.iter().map(|b| b.name.as_str()));
    for (i, backend) in spec.backends.iter().enumerate() {
        let path = format!("spec.backends[{i}]");
        if duplicates.contains(&i) {
            c.push(&path, wording::duplicate_key("name", &backend.name));
        }
        c.backend(&path, backend);
    }
    if let Some(policy) = &spec.autoscaling_policy {
        c.policy("spec.autoscalingPolicy", policy);
    }
    c.range("spec.costExpansionRatePercent", spec.cost_expansion_rate_percent, Some(0), Some(1000));
    if let Some(model_match) = &spec.model_match {
        c.model_match("spec.modelMatch", model_match);
    }
}

struct Checker<'a> {
    errors: &'a mut Vec<FieldError>,
}

impl Checker<'_> {
    fn push(&mut self, path: &str, message: String) {
        self.errors.push(FieldError::new(path, message));
    }

    fn string(&mut self, path: &str, value: &str, max_length: Option<usize>, pattern: Option<&Pattern>) {
        if let Some(max) = max_length
            && value.chars().count() > max
        {
            self.push(path, wording::too_long(max));
        }
        if let Some(pattern) = pattern
            && !pattern.matches(value)
        {
            self.push(path, wording::pattern(pattern.source));
        }
    }

    fn range(&mut self, path: &str, value: i32, min: Option<i64>, max: Option<i64>) {
        let value = i64::from(value);
        if let Some(min) = min
            && value < min
        {
            self.push(path, wording::too_small(min));
        }
        if let Some(max) = max
            && value > max
        {
            self.push(path, wording::too_large(max));
        }
    }

    fn items(&mut self, path: &str, len: usize, min: Option<usize>, max: Option<usize>) {
        if let Some(min) = min
            && len < min
        {
            self.push(path, wording::too_few_items(min));
        }
        if let Some(max) = max
            && len > max
        {
            self.push(path, wording::too_many_items(max));
        }
    }

    fn backend(&mut self, path: &str, b: &ModelBackend) {
        self.string(&format!("{path}.name"), &b.name, Some(51), Some(&NAME));
        self.string(&format!("{path}.modelURI"), &b.model_uri, Some(1024), Some(&SOURCE_URI));
        if let Some(cache_uri) = &b.cache_uri {
            self.string(&format!("{path}.cacheURI"), cache_uri, Some(1024), Some(&CACHE_URI));
        }
        if let Some(env) = &b.env {
            let duplicates = second_occurrences(env.iter().map(|e| e.name.as_str()));
            for (k, var) in env.iter().enumerate() {
                if duplicates.contains(&k) {
                    self.push(&format!("{path}.env[{k}]"), wording::duplicate_key("name", &var.name));
                }
            }
        }
        self.range(&format!("{path}.minReplicas"), b.min_replicas, Some(0), Some(1_000_000));
        self.range(&format!("{path}.maxReplicas"), b.max_replicas, Some(1), Some(1_000_000));
        if let Some(cost) = b.scaling_cost {
            self.range(&format!("{path}.scalingCost"), cost, Some(0), None);
        }
        self.range(&format!("{path}.routeWeight"), b.route_weight, Some(0), Some(100));
        self.string(&format!("{path}.scaleToZeroGracePeriod"), &b.scale_to_zero_grace_period, None, Some(&DURATION));
        self.items(&format!("{path}.workers"), b.workers.len(), Some(1), Some(4));
        for (j, w) in b.workers.iter().enumerate() {
            self.worker(&format!("{path}.workers[{j}]"), w);
        }
        if let Some(adapters) = &b.lora_adapters {
            self.items(&format!("{path}.loraAdapters"), adapters.len(), None, Some(10));
            for (j, a) in adapters.iter().enumerate() {
                let p = format!("{path}.loraAdapters[{j}]");
                self.string(&format!("{p}.name"), &a.name, Some(63), Some(&NAME));
                self.string(&format!("{p}.artifactURL"), &a.artifact_url, Some(1024), Some(&SOURCE_URI));
            }
        }
        if let Some(policy) = &b.autoscaling_policy {
            self.policy(&format!("{path}.autoscalingPolicy"), policy);
        }
    }

    fn worker(&mut self, path: &str, w: &ModelWorker) {
        if let Some(image) = &w.image {
            self.string(&format!("{path}.image"), image, Some(512), None);
        }
        self.range(&format!("{path}.replicas"), w.replicas, Some(0), Some(1_000_000));
        self.range(&format!("{path}.pods"), w.pods, Some(0), Some(1_000_000));
        if let Some(resources) = &w.resources {
            for (list, quantities) in [("limits", &resources.limits), ("requests", &resources.requests)] {
                for (name, quantity) in quantities.iter().flatten() {
                    self.string(&format!("{path}.resources.{list}.{name}"), &quantity.0, None, Some(&QUANTITY));
                }
            }
        }
    }

    fn policy(&mut self, path: &str, p: &AutoscalingPolicySpec) {
        self.range(&format!("{path}.tolerancePercent"), p.tolerance_percent, Some(0), Some(100));
        self.items(&format!("{path}.metrics"), p.metrics.len(), Some(1), Some(16));
        for (k, metric) in p.metrics.iter().enumerate() {
            self.string(&format!("{path}.metrics[{k}].metricName"), &metric.metric_name, Some(253), None);
        }
        let Some(behavior) = &p.behavior else { return };
        if let Some(up) = &behavior.scale_up {
            if let Some(stable) = &up.stable_policy {
                self.stable(&format!("{path}.behavior.scaleUp.stablePolicy"), stable);
            }
            if let Some(panic) = &up.panic_policy {
                self.panic(&format!("{path}.behavior.scaleUp.panicPolicy"), panic);
            }
        }
        if let Some(down) = &behavior.scale_down {
            self.stable(&format!("{path}.behavior.scaleDown"), down);
        }
    }

    fn stable(&mut self, path: &str, s: &StablePolicy) {
        self.range(&format!("{path}.instances"), s.instances, Some(0), None);
        self.range(&format!("{path}.percent"), s.percent, Some(0), Some(1000));
        self.string(&format!("{path}.period"), &s.period, None, Some(&DURATION));
        if let Some(window) = &s.stabilization_window {
            self.string(&format!("{path}.stabilizationWindow"), window, None, Some(&DURATION));
        }
    }

    fn panic(&mut self, path: &str, p: &PanicPolicy) {
        self.range(&format!("{path}.percent"), p.percent, Some(0), Some(1000));
        self.string(&format!("{path}.period"), &p.period, None, Some(&DURATION));
        self.range(&format!("{path}.panicThresholdPercent"), p.panic_threshold_percent, Some(110), Some(1000));
        self.string(&format!("{path}.panicModeHold"), &p.panic_mode_hold, None, Some(&DURATION));
    }

    fn model_match(&mut self, path: &str, m: &ModelMatch) {
        if let Some(headers) = &m.headers {
            let headers_path = format!("{path}.headers");
            if headers.len() > 32 {
                self.push(&headers_path, wording::too_many_properties(32));
            }
            for (key, value) in headers {
                self.string_match(&format!("{headers_path}.{key}"), value);
            }
        }
        if let Some(uri) = &m.uri {
            self.string_match(&format!("{path}.uri"), uri);
        }
        if let Some(model) = m.body.as_ref().and_then(|b| b.model.as_ref()) {
            self.string(&format!("{path}.body.model"), model, Some(1024), None);
        }
    }

    fn string_match(&mut self, path: &str, s: &StringMatch) {
        for (field, value) in [("exact", &s.exact), ("prefix", &s.prefix), ("regex", &s.regex)] {
            if let Some(value) = value {
                self.string(&format!("{path}.{field}"), value, Some(1024), None);
            }
        }
    }
}

/// The indices of the second occurrence of every key that occurs more than once (the API server reports only
/// those).
fn second_occurrences<'a>(keys: impl IntoIterator<Item = &'a str>) -> HashSet<usize> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut second = HashSet::new();
    for (i, key) in keys.into_iter().enumerate() {
        let count = seen.entry(key).or_default();
        *count += 1;
        if *count == 2 {
            second.insert(i);
        }
    }
    second
}
