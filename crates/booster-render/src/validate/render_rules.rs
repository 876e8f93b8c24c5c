//! R-rules (spec §3.5): checks of the free-form worker `config` and of `env` that no CRD rule can express.

use std::collections::BTreeMap;

use booster_api::{BackendType, ModelBooster, WorkerType};
use serde_json::Value;

use super::FieldError;
use crate::flags::flag_name;
use crate::rules::RuleError;
use crate::worker_config::{self, IndexedWorker};

/// Appends the R-rule violations of `m`, by rule number, then by index.
pub(crate) fn check(m: &ModelBooster, errors: &mut Vec<FieldError>) {
    let mut found = Vec::new();
    for (b, backend) in m.spec.backends.iter().enumerate() {
        for (index, worker) in backend.workers.iter().enumerate() {
            let worker = IndexedWorker { backend: b, index, worker };
            flag_collisions(worker, &mut found);
            reserved_flags(backend.type_, worker, &mut found);
            served_model_name(worker, &mut found);
        }
        if backend.type_ == BackendType::VllmDisaggregated {
            let last = |role| {
                backend
                    .workers
                    .iter()
                    .enumerate()
                    .rev()
                    .find(|(_, w)| w.type_ == role)
                    .map(|(index, worker)| IndexedWorker { backend: b, index, worker })
            };
            if let (Some(prefill), Some(decode)) = (last(WorkerType::Prefill), last(WorkerType::Decode)) {
                found.extend(worker_config::effective_pd(m, prefill, decode).err().unwrap_or_default());
                connectors_agree(prefill, decode, &mut found);
            }
        }
        for (k, var) in backend.env.iter().flatten().enumerate() {
            let valid = |port: &str| port.parse::<i32>().is_ok_and(|p| (1..=65535).contains(&p));
            if var.name == "RUNTIME_PORT" && var.value.as_deref().is_some_and(|port| !valid(port)) {
                found.push(RuleError::new(
                    9,
                    format!("spec.backends[{b}].env[{k}].value"),
                    "RUNTIME_PORT must be an integer between 1 and 65535",
                ));
            }
        }
    }
    found.sort_by_key(|e| e.rule);
    errors.extend(found.into_iter().map(|e| e.error));
}

fn config_path(worker: IndexedWorker<'_>) -> String {
    format!("spec.backends[{}].workers[{}].config", worker.backend, worker.index)
}

/// two keys that render as the same flag.
fn flag_collisions(worker: IndexedWorker<'_>, found: &mut Vec<RuleError>) {
    let mut by_flag: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for key in worker.worker.config.iter().flat_map(|c| c.keys()) {
        by_flag.entry(flag_name(key)).or_default().push(key);
    }
    for (flag, mut keys) in by_flag {
        keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for pair in keys.windows(2) {
            found.push(RuleError::new(
                1,
                config_path(worker),
                format!("config keys '{}' and '{}' map to the same flag {flag}", pair[0], pair[1]),
            ));
        }
    }
}

/// flags the operator sets itself.
fn reserved_flags(type_: BackendType, worker: IndexedWorker<'_>, found: &mut Vec<RuleError>) {
    let reserved: &[&str] = match type_ {
        BackendType::Sglang => &["--model-path", "--port", "--host"],
        _ if worker.worker.pods > 1 => &["--model", "--port", "--kv-events-config", "--distributed-executor-backend"],
        _ => &["--model", "--port", "--kv-events-config"],
    };
    for key in worker.worker.config.iter().flat_map(|c| c.keys()) {
        if reserved.contains(&flag_name(key).as_str()) {
            found.push(RuleError::new(
                2,
                worker.config_path(key),
                format!("config key '{key}' is set by the operator and must not be given"),
            ));
        }
    }
}

/// a configured served model name is a string of 1..256 characters.
fn served_model_name(worker: IndexedWorker<'_>, found: &mut Vec<RuleError>) {
    for (key, value) in worker.worker.config.iter().flatten() {
        let valid = matches!(value, Value::String(s) if (1..=256).contains(&s.chars().count()));
        if flag_name(key) == "--served-model-name" && !valid {
            found.push(RuleError::new(
                3,
                worker.config_path(key),
                "served-model-name must be a non-empty string of at most 256 characters",
            ));
        }
    }
}

/// the given `kv_connector`s of prefill and decode agree.
fn connectors_agree(prefill: IndexedWorker<'_>, decode: IndexedWorker<'_>, found: &mut Vec<RuleError>) {
    let connector = |w: IndexedWorker<'_>| w.worker.config.as_ref().and_then(worker_config::kv_connector);
    if let (Some(a), Some(b)) = (connector(prefill), connector(decode))
        && a != b
    {
        found.push(RuleError::new(
            8,
            format!("spec.backends[{}].workers", prefill.backend),
            format!("prefill and decode kv_connector differ ('{a}' vs '{b}')"),
        ));
    }
}
