//! ModelServing of a backend (§4.6–§4.8): the parts all backend types share, and the dispatch by type.

mod disaggregated;
mod sglang;
mod vllm;

use std::collections::BTreeMap;

use booster_api::labels;
use booster_api::model_serving::{
    GangPolicy, ModelServingSpec, PodTemplateSpec, Role, ServingGroup, TemplateMetadata, TopologySpreadConstraint,
};
use booster_api::{BackendType, ModelBackend, ModelBooster, ModelServing, WorkerType};
use k8s_openapi::api::core::v1::{Affinity, Container, ContainerPort, EnvVar, HTTPGetAction, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::cache::Cache;
use crate::meta::Owner;
use crate::worker_config::IndexedWorker;
use crate::{RenderError, Settings, env, names, revision};

/// Port the engines serve on.
pub const ENGINE_PORT: i32 = 8000;
/// The fixed `--kv-events-config` of vLLM engines (these exact bytes).
const KV_EVENTS_CONFIG: &str =
    r#"{"enable_kv_cache_events":true,"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}"#;
/// vLLM's module of the OpenAI-compatible server.
const VLLM_SERVER: [&str; 3] = ["python", "-m", "vllm.entrypoints.openai.api_server"];

/// What rendering one backend's ModelServing needs.
pub(crate) struct Backend<'a> {
    pub m: &'a ModelBooster,
    pub owner: &'a Owner<'a>,
    pub settings: &'a Settings,
    pub backend: &'a ModelBackend,
    pub index: usize,
    pub cache: Cache,
}

impl Backend<'_> {
    /// `<model>-<backend>`.
    pub fn child_name(&self) -> String {
        names::backend_child(self.owner.name, &self.backend.name)
    }

    /// The last worker of `role` (as reference §3.2.2), or the reference's error.
    pub fn role_worker(&self, role: WorkerType) -> Result<IndexedWorker<'_>, RenderError> {
        self.backend
            .workers
            .iter()
            .enumerate()
            .rev()
            .find(|(_, w)| w.type_ == role)
            .map(|(index, worker)| IndexedWorker { backend: self.index, index, worker })
            .ok_or_else(|| RenderError::MissingWorker { role, backend: self.backend.name.clone() })
    }

    /// Where the model is downloaded to.
    pub fn model_dir(&self) -> String {
        self.cache.download_dir(&self.backend.model_uri)
    }

    /// The model downloader, then one downloader per LoRA adapter (reference §3.2.4, §3.2.5).
    pub fn init_containers(&self) -> Vec<Container> {
        let downloader = |name: String, source: &str, env: Option<Vec<EnvVar>>| Container {
            name,
            image: Some(self.settings.downloader_image.clone()),
            args: Some(vec!["--source".into(), source.into(), "--output-dir".into(), self.cache.download_dir(source)]),
            env,
            env_from: self.backend.env_from.clone(),
            volume_mounts: Some(vec![self.cache.mount()]),
            ..Container::default()
        };
        let model = downloader(
            names::model_downloader(self.owner.name),
            &self.backend.model_uri,
            env::model_downloader(self.backend),
        );
        let adapters = self.lora_adapters().enumerate().map(|(i, adapter)| {
            downloader(names::lora_downloader(self.owner.name, i), &adapter.artifact_url, env::backend(self.backend))
        });
        std::iter::once(model).chain(adapters).collect()
    }

    /// `--enable-lora --lora-modules <name>=<dir>…`, or nothing without adapters.
    pub fn lora_args(&self) -> Vec<String> {
        let modules: Vec<String> = self
            .lora_adapters()
            .map(|adapter| format!("{}={}", adapter.name, self.cache.download_dir(&adapter.artifact_url)))
            .collect();
        if modules.is_empty() {
            return modules;
        }
        ["--enable-lora".to_owned(), "--lora-modules".to_owned()].into_iter().chain(modules).collect()
    }

    fn lora_adapters(&self) -> impl Iterator<Item = &booster_api::LoraAdapter> {
        self.backend.lora_adapters.iter().flatten()
    }

    /// `python -m vllm… --model <dir> <flags> <extra…> --kv-events-config <json> <LoRA args>` as a list.
    pub fn vllm_command(&self, flags: Vec<String>, extra: &[&str]) -> Vec<String> {
        let head = VLLM_SERVER.iter().map(|s| s.to_string()).chain(["--model".into(), self.model_dir()]);
        let tail = extra.iter().map(|s| s.to_string()).chain(["--kv-events-config".into(), KV_EVENTS_CONFIG.into()]);
        head.chain(flags).chain(tail).chain(self.lora_args()).collect()
    }

    /// The runtime sidecar (reference §3.5); PD roles have no probe and only decode gets `envFrom`.
    pub fn runtime_container(&self, env: Vec<EnvVar>, with_env_from: bool, with_probe: bool) -> Container {
        let port = env::runtime_port(self.backend);
        Container {
            name: "runtime".into(),
            image: Some(self.settings.runtime_image.clone()),
            ports: Some(vec![ContainerPort { container_port: port, ..ContainerPort::default() }]),
            env: Some(env),
            env_from: if with_env_from { self.backend.env_from.clone() } else { None },
            args: Some(vec![
                "--port".into(),
                port.to_string(),
                "--engine".into(),
                self.backend.type_.as_str().to_lowercase(),
                "--engine-base-url".into(),
                env::runtime_url(self.backend),
                "--engine-metrics-path".into(),
                env::runtime_metrics_path(self.backend),
                "--pod".into(),
                "$(POD_NAME).$(NAMESPACE)".into(),
                "--model".into(),
                self.owner.name.into(),
            ]),
            readiness_probe: with_probe.then(|| Probe {
                http_get: Some(health_check(port, None)),
                initial_delay_seconds: Some(5),
                period_seconds: Some(10),
                ..Probe::default()
            }),
            ..Container::default()
        }
    }

    /// The entry pod of a `leader` role (vLLM, SGLang): downloaders, the runtime sidecar and the engine, 300 s to
    /// drain, the server worker's affinity (D-12).
    pub fn leader_entry_pod(&self, engine: Container, engine_env: Vec<EnvVar>, affinity: Option<Affinity>) -> PodSpec {
        PodSpec {
            init_containers: Some(self.init_containers()),
            termination_grace_period_seconds: Some(300),
            volumes: Some(vec![self.cache.volume()]),
            containers: vec![self.runtime_container(engine_env, true, true), engine],
            affinity,
            ..PodSpec::default()
        }
    }

    /// D-8: spread serving groups over nodes, selecting this ModelServing's own pods.
    pub fn topology_spread(&self) -> Vec<TopologySpreadConstraint> {
        vec![TopologySpreadConstraint {
            max_skew: Some(1),
            topology_key: Some("kubernetes.io/hostname".into()),
            when_unsatisfiable: Some("DoNotSchedule".into()),
            label_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(labels::SERVING_NAME.into(), self.child_name())])),
                ..LabelSelector::default()
            }),
        }]
    }

    /// The ModelServing object around `roles`: metadata, gang policy, replicas and the revision (D-15, D-6).
    pub fn serving(
        &self,
        roles: Vec<Role>,
        topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    ) -> Result<ModelServing, RenderError> {
        let gang: BTreeMap<String, i32> =
            roles.iter().map(|role| (role.name.clone(), role.replicas.unwrap_or_default())).collect();
        let mut spec = ModelServingSpec {
            replicas: Some(self.backend.min_replicas),
            scheduler_name: self.backend.scheduler_name.clone().unwrap_or_default(),
            template: ServingGroup {
                restart_grace_period_seconds: Some(60),
                gang_policy: Some(GangPolicy { min_role_replicas: Some(gang) }),
                network_topology: None,
                roles,
            },
            rollout_strategy: None,
            recovery_policy: None,
            topology_spread_constraints,
        };
        let mut hashed = serde_json::to_value(&spec)?;
        if let Some(spec) = hashed.as_object_mut() {
            spec.remove("replicas");
        }
        let revision = revision::of(&hashed);
        for template in spec
            .template
            .roles
            .iter_mut()
            .flat_map(|r| std::iter::once(&mut r.entry_template).chain(r.worker_template.as_mut()))
        {
            if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
                labels.insert(labels::REVISION.into(), revision.clone());
            }
        }
        let mut serving = ModelServing::new(&self.child_name(), spec);
        serving.metadata =
            self.owner.child_metadata(self.child_name(), self.owner.labels(&self.backend.name, &revision));
        Ok(serving)
    }

    /// A pod template carrying this ModelServing's labels (the revision is added by [`Self::serving`]).
    pub fn pod_template(&self, spec: PodSpec) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(TemplateMetadata {
                labels: Some(self.owner.labels_without_revision(&self.backend.name)),
                annotations: None,
            }),
            spec,
        }
    }
}

/// `GET /health` on `port`.
pub fn health_check(port: i32, scheme: Option<&str>) -> HTTPGetAction {
    HTTPGetAction {
        path: Some("/health".into()),
        port: IntOrString::Int(port),
        scheme: scheme.map(str::to_owned),
        ..HTTPGetAction::default()
    }
}

/// The ModelServing of one backend.
pub(crate) fn render(backend: &Backend<'_>) -> Result<ModelServing, RenderError> {
    match backend.backend.type_ {
        BackendType::Vllm => vllm::render(backend),
        BackendType::VllmDisaggregated => disaggregated::render(backend),
        BackendType::Sglang => sglang::render(backend),
        BackendType::MindIe | BackendType::MindIeDisaggregated => {
            Err(RenderError::unsupported(backend.index, backend.backend))
        }
    }
}
