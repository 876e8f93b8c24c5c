//! ModelServing of a `vLLMDisaggregated` backend (§4.7): a prefill role and a decode role with KV-cache transfer.

use booster_api::WorkerType;
use booster_api::model_serving::Role;
use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, EnvVar, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PodSpec, Probe,
};
use serde_json::{Map, Value};

use super::{Backend, ENGINE_PORT, health_check};
use crate::accelerator::{self, Accelerator};
use crate::worker_config::{self, IndexedWorker};
use crate::{RenderError, env, flags};

pub(super) fn render(b: &Backend<'_>) -> Result<booster_api::ModelServing, RenderError> {
    let prefill = b.role_worker(WorkerType::Prefill)?;
    let decode = b.role_worker(WorkerType::Decode)?;
    let (prefill_config, decode_config) =
        worker_config::effective_pd(b.m, prefill, decode).map_err(RenderError::from_rules)?;
    let roles = vec![
        role(b, WorkerType::Prefill, prefill, &prefill_config),
        role(b, WorkerType::Decode, decode, &decode_config),
    ];
    b.serving(roles, None)
}

fn role(b: &Backend<'_>, role: WorkerType, worker: IndexedWorker<'_>, config: &Map<String, Value>) -> Role {
    let w = worker.worker;
    let ascend = accelerator::of(w) == Accelerator::Ascend;
    let env = env::engine(b.backend, env::Engine::Vllm, role_env(role, ascend));
    let health = |initial_delay_seconds| Probe {
        initial_delay_seconds: Some(initial_delay_seconds),
        period_seconds: Some(5),
        failure_threshold: Some(3),
        http_get: Some(health_check(ENGINE_PORT, None)),
        ..Probe::default()
    };
    let engine = Container {
        name: "vllm".into(),
        image: w.image.clone(),
        ports: Some(vec![ContainerPort { container_port: ENGINE_PORT, ..ContainerPort::default() }]),
        env: Some(env.clone()),
        command: Some(b.vllm_command(flags::render(config), &[])),
        image_pull_policy: Some("IfNotPresent".into()),
        resources: w.resources.as_ref().map(Into::into),
        readiness_probe: Some(health(5)),
        liveness_probe: Some(health(90)),
        volume_mounts: Some(vec![b.cache.mount()]),
        ..Container::default()
    };
    let entry = PodSpec {
        init_containers: Some(b.init_containers()),
        containers: vec![b.runtime_container(env, role == WorkerType::Decode, false), engine],
        volumes: Some(vec![b.cache.volume()]),
        affinity: affinity(w.affinity.clone(), ascend),
        ..PodSpec::default()
    };
    Role {
        name: role.as_str().into(),
        replicas: Some(w.replicas),
        entry_template: b.pod_template(entry),
        worker_replicas: 0,
        worker_template: Some(b.pod_template(PodSpec::default())),
    }
}

/// `HF_HUB_OFFLINE=1`, and on Ascend the role's HCCL settings (asymmetric, as reference §3.6; D-11).
fn role_env(role: WorkerType, ascend: bool) -> Vec<EnvVar> {
    let mut vars = vec![env::literal_var("HF_HUB_OFFLINE", "1")];
    if ascend {
        match role {
            WorkerType::Prefill => vars.push(env::field_ref("HCCL_IF_IP", "status.podIP")),
            _ => vars.extend(
                ["GLOO_SOCKET_IFNAME", "TP_SOCKET_IFNAME", "HCCL_SOCKET_IFNAME"]
                    .map(|name| env::literal_var(name, "eth0")),
            ),
        }
    }
    vars
}

/// D-11, D-12: the worker's affinity; on Ascend plus the Ascend910 node affinity unless the user set node affinity.
fn affinity(user: Option<Affinity>, ascend: bool) -> Option<Affinity> {
    if !ascend {
        return user;
    }
    let mut affinity = user.unwrap_or_default();
    affinity.node_affinity.get_or_insert_with(|| NodeAffinity {
        required_during_scheduling_ignored_during_execution: Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: Some(vec![NodeSelectorRequirement {
                    key: "node.kubernetes.io/npu.chip.name".into(),
                    operator: "In".into(),
                    values: Some(vec!["Ascend910".into()]),
                }]),
                ..NodeSelectorTerm::default()
            }],
        }),
        ..NodeAffinity::default()
    });
    Some(affinity)
}
