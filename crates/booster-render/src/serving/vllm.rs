//! ModelServing of a `vLLM` backend (§4.6): single node, or multi-node over Ray when the server has `pods > 1`.

use booster_api::WorkerType;
use booster_api::model_serving::Role;
use k8s_openapi::api::core::v1::{Container, ExecAction, Lifecycle, LifecycleHandler, PodSpec, Probe};

use super::{Backend, ENGINE_PORT, health_check};
use crate::shell::quote;
use crate::worker_config::{self, IndexedWorker};
use crate::{RenderError, accelerator, env, flags, names};

const MULTI_NODE_SCRIPT: &str = "/vllm-workspace/vllm/examples/online_serving/multi-node-serving.sh";

/// Waits until vLLM has no running or waiting requests before the engine stops.
const PRE_STOP_SCRIPT: &str = r#"while true; do
  RUNNING=$(curl -s http://localhost:8000/metrics | grep 'vllm:num_requests_running' | grep -v '#' | awk '{print $2}')
  WAITING=$(curl -s http://localhost:8000/metrics | grep 'vllm:num_requests_waiting' | grep -v '#' | awk '{print $2}')
  if [ "$RUNNING" = "0.0" ] && [ "$WAITING" = "0.0" ]; then
    echo "Terminating: No active or waiting requests, safe to terminate" >> /proc/1/fd/1
    exit 0
  else
    echo "Terminating: Running: $RUNNING, Waiting: $WAITING" >> /proc/1/fd/1
    sleep 5
  fi
done
"#;

pub(super) fn render(b: &Backend<'_>) -> Result<booster_api::ModelServing, RenderError> {
    let server = b.role_worker(WorkerType::Server)?;
    let s = server.worker;
    let engine_env = env::engine(b.backend, env::Engine::Vllm, Vec::new());
    let engine = Container {
        name: "engine".into(),
        image: s.image.clone(),
        command: Some(command(b, server)),
        env: Some(engine_env.clone()),
        resources: s.resources.as_ref().map(Into::into),
        volume_mounts: Some(vec![b.cache.mount()]),
        readiness_probe: Some(engine_readiness_probe()),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction { command: Some(vec!["/bin/sh".into(), "-c".into(), PRE_STOP_SCRIPT.into()]) }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        ..Container::default()
    };
    let worker = Container {
        name: names::vllm_worker_container(b.backend),
        image: s.image.clone(),
        command: Some(vec![
            "bash".into(),
            "-c".into(),
            format!("chmod u+x {MULTI_NODE_SCRIPT} && {MULTI_NODE_SCRIPT} worker --ray_address=$(ENTRY_ADDRESS)"),
        ]),
        env: env::backend(b.backend),
        resources: s.resources.as_ref().map(Into::into),
        volume_mounts: Some(vec![b.cache.mount()]),
        ..Container::default()
    };
    let entry = b.leader_entry_pod(engine, engine_env, s.affinity.clone());
    let workers = PodSpec {
        volumes: Some(vec![b.cache.volume()]),
        init_containers: Some(b.init_containers()),
        containers: vec![worker],
        affinity: s.affinity.clone(),
        ..PodSpec::default()
    };
    let role = Role {
        name: "leader".into(),
        replicas: Some(s.replicas),
        entry_template: b.pod_template(entry),
        worker_replicas: s.pods.max(1) - 1,
        worker_template: Some(b.pod_template(workers)),
    };
    b.serving(vec![role], Some(b.topology_spread()))
}

/// The vLLM readiness probe of an engine container (also SGLang's).
pub(super) fn engine_readiness_probe() -> Probe {
    Probe {
        failure_threshold: Some(3),
        http_get: Some(health_check(ENGINE_PORT, Some("HTTP"))),
        initial_delay_seconds: Some(90),
        period_seconds: Some(5),
        success_threshold: Some(1),
        timeout_seconds: Some(1),
        ..Probe::default()
    }
}

/// The engine command; D-3: with `pods > 1` one `bash -c` script that starts the Ray head, then vLLM with every
/// argument quoted.
fn command(b: &Backend<'_>, server: IndexedWorker<'_>) -> Vec<String> {
    let flags = flags::render(&worker_config::effective(b.m, server.worker));
    if server.worker.pods <= 1 {
        return b.vllm_command(flags, &[]);
    }
    let vllm: Vec<String> =
        b.vllm_command(flags, &["--distributed_executor_backend", "ray"]).iter().map(|a| quote(a)).collect();
    let script = format!(
        "chmod u+x {MULTI_NODE_SCRIPT} && {MULTI_NODE_SCRIPT} leader --ray_cluster_size={} --num-gpus={} && {}",
        server.worker.pods,
        accelerator::devices(server.worker),
        vllm.join(" ")
    );
    vec!["bash".into(), "-c".into(), script]
}
