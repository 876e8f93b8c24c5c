//! ModelServer of a backend (§4.9, D-4, D-7, D-13).

use std::collections::BTreeMap;

use booster_api::labels;
use booster_api::model_server::{
    InferenceEngine, KvConnector, ModelServerSpec, PdGroup, Retry, TrafficPolicy, WorkloadPort, WorkloadSelector,
};
use booster_api::{BackendType, ModelServer, WorkerType};

use crate::serving::{Backend, ENGINE_PORT};
use crate::{RenderError, names, revision, worker_config};

pub(crate) fn render(b: &Backend<'_>) -> Result<ModelServer, RenderError> {
    let (inference_engine, role) = match b.backend.type_ {
        BackendType::Vllm => (InferenceEngine::Vllm, WorkerType::Server),
        BackendType::VllmDisaggregated => (InferenceEngine::Vllm, WorkerType::Decode),
        BackendType::Sglang => (InferenceEngine::Sglang, WorkerType::Server),
        BackendType::MindIe | BackendType::MindIeDisaggregated => {
            return Err(RenderError::unsupported(b.index, b.backend));
        }
    };
    let worker = b.role_worker(role)?;
    let (pd_group, kv_connector) = if b.backend.type_ == BackendType::VllmDisaggregated {
        let prefill = b.role_worker(WorkerType::Prefill)?;
        let (_, decode_config) = worker_config::effective_pd(b.m, prefill, worker).map_err(RenderError::from_rules)?;
        let kv_connector = worker_config::kv_connector(&decode_config)
            .and_then(|connector| worker_config::connector_type(&connector))
            .map(|type_| KvConnector { type_: Some(type_) });
        (Some(pd_group()), kv_connector)
    } else {
        (None, None)
    };
    let spec = ModelServerSpec {
        model: Some(worker_config::served_model_name(b.m, worker.worker)),
        inference_engine,
        workload_selector: WorkloadSelector {
            match_labels: Some(BTreeMap::from([
                (labels::MODEL_UID.into(), b.owner.uid.into()),
                (labels::BACKEND_NAME.into(), b.backend.name.clone()),
            ])),
            pd_group,
        },
        workload_port: WorkloadPort { port: ENGINE_PORT, protocol: None },
        traffic_policy: Some(TrafficPolicy {
            timeout: None,
            retry: Some(Retry { attempts: 5, retry_interval: Some("0s".into()) }),
        }),
        kv_connector,
    };
    let revision = revision::of(&serde_json::to_value(&spec)?);
    let name = names::backend_child(b.owner.name, &b.backend.name);
    let mut server = ModelServer::new(&name, spec);
    server.metadata = b.owner.child_metadata(name, b.owner.labels(&b.backend.name, &revision));
    Ok(server)
}

fn pd_group() -> PdGroup {
    let role = |value: &str| BTreeMap::from([(labels::SERVING_ROLE.to_owned(), value.to_owned())]);
    PdGroup {
        group_key: labels::SERVING_GROUP_NAME.into(),
        prefill_labels: role("prefill"),
        decode_labels: role("decode"),
    }
}
