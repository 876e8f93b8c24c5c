//! The effective config of a role worker (§4.5): its `config`, plus the generated served model name (D-4) and, for
//! prefill/decode, the generated `kv-transfer-config` (D-13). Also the R-rule checks that share this logic.

use booster_api::model_server::KvConnectorType;
use booster_api::{ModelBooster, ModelWorker};
use serde_json::{Map, Value, json};

use crate::accelerator::{self, Accelerator};
use crate::revision::canonical_json;
use crate::rules::RuleError;

/// Spellings of the served model name key.
const SERVED_MODEL_NAME: [&str; 2] = ["served-model-name", "served_model_name"];
/// Spellings of the KV-transfer key.
const KV_TRANSFER: [&str; 2] = ["kv-transfer-config", "kv_transfer_config"];
/// Spellings of the tensor-parallel size key.
const TENSOR_PARALLEL: [&str; 2] = ["tensor-parallel-size", "tensor_parallel_size"];
/// Spellings of the data-parallel size key.
const DATA_PARALLEL: [&str; 2] = ["data-parallel-size", "data_parallel_size"];

/// A worker of a backend with its indexes, for error paths.
#[derive(Clone, Copy, Debug)]
pub struct IndexedWorker<'a> {
    /// Index of the backend in `spec.backends`.
    pub backend: usize,
    /// Index of the worker in the backend's `workers`.
    pub index: usize,
    /// The worker.
    pub worker: &'a ModelWorker,
}

impl IndexedWorker<'_> {
    /// `spec.backends[i].workers[j].config.<key>`.
    pub fn config_path(&self, key: &str) -> String {
        format!("spec.backends[{}].workers[{}].config.{key}", self.backend, self.index)
    }

    fn entry(&self, keys: [&str; 2]) -> Option<(&str, &Value)> {
        let config = self.worker.config.as_ref()?;
        keys.into_iter().find_map(|key| config.get_key_value(key)).map(|(k, v)| (k.as_str(), v))
    }
}

/// D-4: the configured `served-model-name` string, else `spec.name`, else `metadata.name`.
pub fn served_model_name(m: &ModelBooster, worker: &ModelWorker) -> String {
    worker
        .config
        .iter()
        .flat_map(|config| SERVED_MODEL_NAME.iter().filter_map(|key| config.get(*key)))
        .find_map(Value::as_str)
        .or(m.spec.name.as_deref())
        .or(m.metadata.name.as_deref())
        .unwrap_or_default()
        .to_owned()
}

/// The config of a role worker plus the served model name when the config has none (D-4).
pub fn effective(m: &ModelBooster, worker: &ModelWorker) -> Map<String, Value> {
    let mut config = worker.config.clone().unwrap_or_default();
    if !SERVED_MODEL_NAME.iter().any(|key| config.contains_key(*key)) {
        config.insert(SERVED_MODEL_NAME[0].into(), served_model_name(m, worker).into());
    }
    config
}

/// Effective configs of the prefill and the decode worker.
pub type PdConfigs = (Map<String, Value>, Map<String, Value>);

/// Effective configs of a prefill/decode pair, with `kv-transfer-config` generated when neither has one (D-13).
pub fn effective_pd(
    m: &ModelBooster,
    prefill: IndexedWorker<'_>,
    decode: IndexedWorker<'_>,
) -> Result<PdConfigs, Vec<RuleError>> {
    let mut configs = (effective(m, prefill.worker), effective(m, decode.worker));
    if let Some((for_prefill, for_decode)) = generated_kv_transfer(prefill, decode)? {
        configs.0.insert(KV_TRANSFER[0].into(), for_prefill.into());
        configs.1.insert(KV_TRANSFER[0].into(), for_decode.into());
    }
    Ok(configs)
}

/// R-4…R-7 for a prefill/decode pair; the generated configs (prefill, decode) when neither worker has one.
fn generated_kv_transfer(
    prefill: IndexedWorker<'_>,
    decode: IndexedWorker<'_>,
) -> Result<Option<(String, String)>, Vec<RuleError>> {
    let given: Vec<RuleError> = [prefill, decode].into_iter().filter_map(malformed_kv_transfer).collect();
    if !given.is_empty() {
        return Err(given);
    }
    let workers_path = format!("spec.backends[{}].workers", prefill.backend);
    match (prefill.entry(KV_TRANSFER).is_some(), decode.entry(KV_TRANSFER).is_some()) {
        (true, true) => return Ok(None),
        (false, false) => {}
        _ => {
            return Err(vec![RuleError::new(
                5,
                workers_path,
                "kv-transfer-config must be set on both the prefill and the decode worker or on neither",
            )]);
        }
    }
    match (accelerator::of(prefill.worker), accelerator::of(decode.worker)) {
        (Accelerator::Gpu, Accelerator::Gpu) => Ok(Some((nixl("kv_producer"), nixl("kv_consumer")))),
        (Accelerator::Ascend, Accelerator::Ascend) => {
            let mut errors = Vec::new();
            let mut size = |worker, keys| {
                parallel_size(worker, keys).unwrap_or_else(|e| {
                    errors.push(e);
                    1
                })
            };
            let extra = json!({
                "prefill": {"tp_size": size(prefill, TENSOR_PARALLEL), "dp_size": size(prefill, DATA_PARALLEL)},
                "decode": {"tp_size": size(decode, TENSOR_PARALLEL), "dp_size": size(decode, DATA_PARALLEL)},
            });
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(Some((
                mooncake(&extra, "0", "20001", 0, "kv_producer"),
                mooncake(&extra, "1", "20002", 1, "kv_consumer"),
            )))
        }
        _ => Err(vec![RuleError::new(
            6,
            workers_path,
            "cannot generate kv-transfer-config: prefill and decode workers must both request huawei.com/ascend-* or both request nvidia.com/gpu; otherwise set kv-transfer-config on both",
        )]),
    }
}

fn nixl(role: &str) -> String {
    canonical_json(&json!({"kv_connector": "NixlConnector", "kv_role": role}))
}

fn mooncake(extra: &Value, engine_id: &str, port: &str, rank: i64, role: &str) -> String {
    canonical_json(&json!({
        "engine_id": engine_id,
        "kv_buffer_device": "npu",
        "kv_connector": "MooncakeConnectorV1",
        "kv_connector_extra_config": extra,
        "kv_connector_module_path": "vllm_ascend.distributed.mooncake_connector",
        "kv_parallel_size": 1,
        "kv_port": port,
        "kv_rank": rank,
        "kv_role": role,
    }))
}

/// a given `kv-transfer-config` that is neither a JSON object nor a string holding one.
fn malformed_kv_transfer(worker: IndexedWorker<'_>) -> Option<RuleError> {
    let (key, value) = worker.entry(KV_TRANSFER)?;
    kv_transfer_object(value).is_none().then(|| {
        RuleError::new(4, worker.config_path(key), "kv-transfer-config must be a JSON object or a string holding one")
    })
}

/// a parallel size, a positive integer or decimal string; 1 when absent.
fn parallel_size(worker: IndexedWorker<'_>, keys: [&str; 2]) -> Result<i64, RuleError> {
    let Some((key, value)) = worker.entry(keys) else { return Ok(1) };
    let size = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    };
    size.filter(|s| *s > 0)
        .ok_or_else(|| RuleError::new(7, worker.config_path(key), format!("{key} must be a positive integer")))
}

/// A `kv-transfer-config` value as a JSON object: an object, or a string that parses as one.
fn kv_transfer_object(value: &Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map.clone()),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        },
        _ => None,
    }
}

/// The `kv_connector` of a config's `kv-transfer-config`, when it is a string.
pub fn kv_connector(config: &Map<String, Value>) -> Option<String> {
    let value = KV_TRANSFER.iter().find_map(|key| config.get(*key))?;
    kv_transfer_object(value)?.get("kv_connector")?.as_str().map(str::to_owned)
}

/// D-13: the ModelServer connector type of a `kv_connector` value.
pub fn connector_type(kv_connector: &str) -> Option<KvConnectorType> {
    match kv_connector {
        "MooncakeConnectorV1" | "MooncakeConnector" => Some(KvConnectorType::Mooncake),
        "LMCacheConnectorV1" => Some(KvConnectorType::Lmcache),
        "NixlConnector" => Some(KvConnectorType::Nixl),
        _ => None,
    }
}
