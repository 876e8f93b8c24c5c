//! ModelServing of an `SGLang` backend (§4.8, D-16): the vLLM shape, single node, with SGLang's server.

use booster_api::WorkerType;
use booster_api::model_serving::Role;
use k8s_openapi::api::core::v1::Container;

use super::{Backend, ENGINE_PORT};
use crate::serving::vllm::engine_readiness_probe;
use crate::{RenderError, env, flags, worker_config};

pub(super) fn render(b: &Backend<'_>) -> Result<booster_api::ModelServing, RenderError> {
    let s = b.role_worker(WorkerType::Server)?.worker;
    let engine_env = env::engine(b.backend, env::Engine::Sglang, Vec::new());
    let command = ["python3", "-m", "sglang.launch_server", "--model-path"]
        .into_iter()
        .map(str::to_owned)
        .chain([b.model_dir(), "--port".into(), ENGINE_PORT.to_string(), "--host".into(), "0.0.0.0".into()])
        .chain(["--enable-metrics".into()])
        .chain(flags::render(&worker_config::effective(b.m, s)))
        .collect();
    let engine = Container {
        name: "engine".into(),
        image: s.image.clone(),
        command: Some(command),
        env: Some(engine_env.clone()),
        resources: s.resources.as_ref().map(Into::into),
        volume_mounts: Some(vec![b.cache.mount()]),
        readiness_probe: Some(engine_readiness_probe()),
        ..Container::default()
    };
    let entry = b.leader_entry_pod(engine, engine_env, s.affinity.clone());
    let role = Role {
        name: "leader".into(),
        replicas: Some(s.replicas),
        entry_template: b.pod_template(entry),
        worker_replicas: 0,
        worker_template: None,
    };
    b.serving(vec![role], Some(b.topology_spread()))
}
