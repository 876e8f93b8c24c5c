//! What every operator test needs: the test cluster and namespace, the `booster run` process, typed access to the
//! six kinds, fixtures and polling.

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use booster_testkit::{Cluster, TestNamespace, api_resource};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

pub const GROUP_VERSION: &str = "workload.serving.volcano.sh/v1alpha1";
pub const MANAGED_BY: &str = "workload.serving.volcano.sh/managed-by";
pub const MODEL_NAME: &str = "workload.serving.volcano.sh/model-name";
pub const BACKEND_NAME: &str = "workload.serving.volcano.sh/backend-name";
pub const REVISION: &str = "workload.serving.volcano.sh/revision";
pub const MODEL_UID: &str = "workload.serving.volcano.sh/model-uid";

/// The five child kinds, in render order.
pub const CHILD_KINDS: [&str; 5] =
    ["ModelServing", "ModelServer", "ModelRoute", "AutoscalingPolicy", "AutoscalingPolicyBinding"];

/// Test 9 counts the API server's write requests for our groups, which has no per-namespace label: it runs alone.
static WRITERS: RwLock<()> = RwLock::const_new(());

/// Held by every test that writes to our API groups.
pub async fn shared() -> RwLockReadGuard<'static, ()> {
    WRITERS.read().await
}

/// Held by the test that needs the API server to itself.
pub async fn exclusive() -> RwLockWriteGuard<'static, ()> {
    WRITERS.write().await
}

/// A connected cluster and a fresh namespace, or `None` when the test is skipped (no control plane).
pub struct Env {
    pub cluster: Cluster,
    pub namespace: TestNamespace,
}

impl Env {
    pub async fn new(test: &str) -> Result<Option<Self>> {
        let Some(cluster) = Cluster::connect(test).await? else { return Ok(None) };
        require_served(&cluster).await?;
        let namespace = cluster.namespace(test).await?;
        Ok(Some(Self { cluster, namespace }))
    }

    pub fn ns(&self) -> &str {
        self.namespace.name()
    }

    pub fn client(&self) -> kube::Client {
        self.cluster.client().clone()
    }

    pub fn api(&self, kind: &str) -> Result<Api<DynamicObject>> {
        let resource = api_resource(kind).with_context(|| format!("{kind} is not one of our kinds"))?;
        Ok(Api::namespaced_with(self.client(), self.ns(), &resource))
    }

    /// `booster run` watching this namespace, without leader election, with `args` added.
    pub async fn operator(&self, args: &[&str]) -> Result<Operator> {
        let mut all = vec!["--leader-elect=false"];
        all.extend_from_slice(args);
        let operator = Operator::start(self.ns(), &all, &[])?;
        operator.wait_ready(Duration::from_secs(30)).await?;
        Ok(operator)
    }

    pub async fn create(&self, object: &Value) -> Result<Value> {
        let kind = object["kind"].as_str().unwrap_or_default();
        let object: DynamicObject = serde_json::from_value(object.clone())?;
        let created = self
            .api(kind)?
            .create(&PostParams::default(), &object)
            .await
            .with_context(|| format!("creating {kind} {}", object.metadata.name.clone().unwrap_or_default()))?;
        Ok(serde_json::to_value(created)?)
    }

    pub async fn get(&self, kind: &str, name: &str) -> Result<Option<Value>> {
        let object = self.api(kind)?.get_opt(name).await.with_context(|| format!("GET {kind} {name}"))?;
        object.map(serde_json::to_value).transpose().map_err(Into::into)
    }

    pub async fn must_get(&self, kind: &str, name: &str) -> Result<Value> {
        self.get(kind, name).await?.with_context(|| format!("{kind} {}/{name} does not exist", self.ns()))
    }

    /// Every object of `kind` in the namespace.
    pub async fn list(&self, kind: &str) -> Result<Vec<Value>> {
        let list = self.api(kind)?.list(&Default::default()).await.with_context(|| format!("LIST {kind}"))?;
        list.items.into_iter().map(|o| serde_json::to_value(o).map_err(Into::into)).collect()
    }

    /// `kind/name` of every child object in the namespace, sorted.
    pub async fn children(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for kind in CHILD_KINDS {
            for object in self.list(kind).await? {
                names.push(format!("{kind}/{}", name(&object)));
            }
        }
        names.sort();
        Ok(names)
    }

    /// JSON merge patch under the field manager `manager`.
    pub async fn merge(&self, kind: &str, name: &str, patch: Value, manager: &str) -> Result<Value> {
        let params = PatchParams { field_manager: Some(manager.into()), ..Default::default() };
        let patched = self
            .api(kind)?
            .patch(name, &params, &Patch::Merge(&patch))
            .await
            .with_context(|| format!("merge patch of {kind} {name}: {patch}"))?;
        Ok(serde_json::to_value(patched)?)
    }

    /// JSON merge patch of the status subresource, as another controller would write it.
    pub async fn merge_status(&self, kind: &str, name: &str, patch: Value) -> Result<Value> {
        let params = PatchParams { field_manager: Some("test-status-writer".into()), ..Default::default() };
        let patched = self
            .api(kind)?
            .patch_status(name, &params, &Patch::Merge(&patch))
            .await
            .with_context(|| format!("status patch of {kind} {name}: {patch}"))?;
        Ok(serde_json::to_value(patched)?)
    }

    pub async fn delete(&self, kind: &str, name: &str) -> Result<()> {
        self.api(kind)?.delete(name, &DeleteParams::background()).await.with_context(|| format!("DELETE {kind}"))?;
        Ok(())
    }

    /// Replaces `spec.backends` of a ModelBooster (a merge patch replaces lists whole).
    pub async fn set_backends(&self, booster: &str, backends: Value) -> Result<Value> {
        self.merge("ModelBooster", booster, json!({"spec": {"backends": backends}}), "test-user").await
    }

    /// Annotates a ModelBooster: a change that triggers a pass but changes no spec.
    pub async fn annotate(&self, booster: &str, value: &str) -> Result<Value> {
        self.merge("ModelBooster", booster, json!({"metadata": {"annotations": {"test/poke": value}}}), "test-user")
            .await
    }

    /// Waits for the ModelBooster's condition `type_` to have `status`; returns the ModelBooster.
    pub async fn condition(&self, booster: &str, type_: &str, status: &str, timeout: Duration) -> Result<Value> {
        eventually(&format!("ModelBooster {booster}: {type_}={status}"), timeout, || async {
            let object = self.must_get("ModelBooster", booster).await?;
            Ok(match find_condition(&object, type_) {
                Some(c) if c["status"] == status => Ok(object),
                _ => Err(format!("status {}", object["status"])),
            })
        })
        .await
    }

    /// Waits until `kind/name` is gone.
    pub async fn gone(&self, kind: &str, name: &str, timeout: Duration) -> Result<()> {
        eventually(&format!("{kind} {name} to be deleted"), timeout, || async {
            Ok(match self.get(kind, name).await? {
                None => Ok(()),
                Some(o) => Err(format!("still there, uid {}", o["metadata"]["uid"])),
            })
        })
        .await
    }
}

/// Fails when the API server does not serve ModelBooster, with the testkit's CRD refusal if there was one.
async fn require_served(cluster: &Cluster) -> Result<()> {
    let resource = api_resource("ModelBooster").context("ModelBooster resource")?;
    let list = cluster.client().list_api_group_resources(&resource.api_version).await;
    let served = list.as_ref().is_ok_and(|l| l.resources.iter().any(|r| r.name == resource.plural));
    if served {
        return Ok(());
    }
    let refusal = cluster.crd_install().require("ModelBooster").err().map(|e| e.to_string()).unwrap_or_default();
    bail!("the API server does not serve ModelBooster ({}); {refusal}", resource.api_version)
}

/// Polls `probe` every 200 ms until it returns `Ok(Ok(value))`; `Ok(Err(seen))` describes the state seen so far.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T, String>>>,
{
    let started = Instant::now();
    loop {
        let seen = match probe().await? {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        if started.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {what}; last seen: {seen}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn find_condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_)
}

pub fn label<'a>(object: &'a Value, key: &str) -> &'a str {
    object["metadata"]["labels"][key].as_str().unwrap_or_default()
}

pub fn resource_version(object: &Value) -> String {
    object["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_owned()
}

/// A vLLM backend with one server worker; `min == max` unless autoscaled.
pub fn backend(name: &str, min: i64, max: i64) -> Value {
    json!({
        "name": name,
        "type": "vLLM",
        "modelURI": "hf://Qwen/Qwen2.5-0.5B-Instruct",
        "minReplicas": min,
        "maxReplicas": max,
        "workers": [{
            "type": "server",
            "image": "vllm/vllm-openai:v0.10.1",
            "replicas": 1,
            "pods": 1,
            "config": {"max-model-len": 4096},
        }],
    })
}

/// An autoscaling policy (model or backend level).
pub fn policy() -> Value {
    json!({"tolerancePercent": 10, "metrics": [{"metricName": "vllm:num_requests_waiting", "targetValue": 10}]})
}

/// A ModelBooster with `backends` in `namespace`.
pub fn booster(name: &str, namespace: &str, backends: Value) -> Value {
    json!({
        "apiVersion": GROUP_VERSION,
        "kind": "ModelBooster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"backends": backends},
    })
}

/// A `booster run` process, killed (SIGKILL) when dropped; its log goes to a file that is printed on failure.
pub struct Operator {
    child: Mutex<Option<Child>>,
    pub pid: u32,
    pub port: u16,
    pub log: PathBuf,
    pub label: String,
}

impl Operator {
    /// Starts `booster run --watch-namespace <namespace> --http-bind-address 127.0.0.1:<free port> <args>`.
    pub fn start(namespace: &str, args: &[&str], env: &[(&str, &str)]) -> Result<Self> {
        let port = free_port()?;
        let label = format!("{namespace}-{port}");
        let log = std::env::temp_dir().join(format!("booster-operator-{label}.log"));
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_booster"));
        command
            .arg("run")
            .args(["--watch-namespace", namespace])
            .args(["--http-bind-address", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("RUST_LOG", "info,booster=debug")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        for var in [
            "MODEL_BOOSTER_DOWNLOADER_IMAGE",
            "MODEL_BOOSTER_RUNTIME_IMAGE",
            "MODEL_BOOSTER_WORKERS",
            "MODEL_BOOSTER_WATCH_NAMESPACE",
            "MODEL_BOOSTER_RESYNC_INTERVAL",
            "MODEL_BOOSTER_LEADER_ELECT",
            "MODEL_BOOSTER_LEADER_ELECTION_ID",
            "MODEL_BOOSTER_HTTP_BIND_ADDRESS",
            "MODEL_BOOSTER_SHUTDOWN_TIMEOUT",
            "MODEL_BOOSTER_LOG_FORMAT",
            "POD_NAME",
            "POD_NAMESPACE",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let child = command.spawn().context("starting booster run")?;
        Ok(Self { pid: child.id(), child: Mutex::new(Some(child)), port, log, label })
    }

    /// The process's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path` on the operator's HTTP address: status code and body.
    pub async fn http(&self, path: &str) -> Result<(u16, String)> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or_default();
        let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
        Ok((status, body))
    }

    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let outcome = eventually(&format!("operator {} /readyz", self.label), timeout, || async {
            if let Some(code) = self.exited()? {
                bail!("booster run exited with {code:?}:\n{}", self.logs());
            }
            Ok(match self.http("/readyz").await {
                Ok((200, _)) => Ok(()),
                Ok((code, body)) => Err(format!("HTTP {code} {body}")),
                Err(e) => Err(e.to_string()),
            })
        })
        .await;
        outcome.map_err(|e| anyhow!("{e}\noperator log:\n{}", self.logs()))
    }

    /// The value of one sample line of `/metrics`, e.g. `model_booster_leader` or
    /// `model_booster_reconcile_total{result="success"}`.
    pub async fn metric(&self, sample: &str) -> Result<f64> {
        let (code, body) = self.http("/metrics").await?;
        if code != 200 {
            bail!("/metrics answered HTTP {code}: {body}");
        }
        sample_value(&body, sample).with_context(|| format!("{sample} not in /metrics:\n{body}"))
    }

    /// Sum of `model_booster_child_writes_total` over kinds and operations.
    pub async fn child_writes(&self) -> Result<f64> {
        let (_, body) = self.http("/metrics").await?;
        Ok(body
            .lines()
            .filter(|l| l.starts_with("model_booster_child_writes_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum())
    }

    pub async fn successes(&self) -> Result<f64> {
        self.metric("model_booster_reconcile_total{result=\"success\"}").await
    }

    /// `Some(exit code)` once the process has exited (`Some(None)`: killed by a signal).
    pub fn exited(&self) -> Result<Option<Option<i32>>> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let child = child.as_mut().context("no process")?;
        Ok(child.try_wait()?.map(|status| status.code()))
    }

    /// Sends `signal` (`TERM`, `KILL`, `INT`) to the process.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid.to_string()).status()?;
        if !status.success() {
            bail!("kill -{signal} {} failed", self.pid);
        }
        Ok(())
    }

    /// Waits (at most `timeout`) for the process to exit; returns its exit code.
    pub async fn wait_exit(&self, timeout: Duration) -> Result<Option<i32>> {
        let started = Instant::now();
        loop {
            if let Some(code) = self.exited()? {
                return Ok(code);
            }
            if started.elapsed() > timeout {
                bail!("booster run did not exit within {timeout:?}; log:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Captured by the test harness: shown only when the test fails.
        let logs = self.logs();
        let tail: Vec<&str> = logs.lines().rev().take(80).collect();
        eprintln!("---- last lines of the log of operator {} ({}) ----", self.label, self.log.display());
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
    }
}

/// The value of `sample` in a Prometheus/OpenMetrics text exposition.
pub fn sample_value(text: &str, sample: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok())
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
