//! `cargo xtask demo [--once]`: the operator on a local control plane, serving every file of `examples/`.
//!
//! Starts the control plane (building it on first use) unless one runs already, installs the six CRDs, runs
//! `booster run` against it, applies `examples/` into the namespace `model-booster-demo`, and prints each
//! ModelBooster's children and conditions. With `--once` it then stops; otherwise it waits for Ctrl-C. Either way
//! it stops what it started.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use booster_api::ModelBooster;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::control_plane::{self, Paths, probe, processes};

const NAMESPACE: &str = "model-booster-demo";
const FIELD_MANAGER: &str = "model-booster-demo";
const TIMEOUT: Duration = Duration::from_secs(90);
pub async fn run(root: &Path, once: bool) -> Result<()> {
    let paths = Paths::new(root)?;
    let preexisting = control_plane::state_if_up(&paths).await.unwrap_or(false);
    if preexisting {
        println!("==> using the running control plane");
    } else {
        println!("==> starting the control plane (the first run builds it from Go modules: several minutes)");
        control_plane::start(&paths).await?;
    }
    let outcome = demo(root, &paths, once).await;
    if !preexisting {
        println!("==> stopping the control plane");
        if let Err(e) = control_plane::stop(&paths).await {
            eprintln!("error: stopping the control plane: {e:#}");
        }
    }
    outcome
}

async fn demo(root: &Path, paths: &Paths, once: bool) -> Result<()> {
    let client = probe::client(&paths.kubeconfig()).await?;
    println!("==> installing the CRDs (ModelBooster, and Kthena's five child kinds)");
    install_crds(&client).await?;
    ensure_namespace(&client).await?;

    println!("==> building and starting `booster run`");
    let booster = build_booster(root).await?;
    let http_port = processes::free_ports(1)?.first().copied().context("no free port")?;
    let log = paths.state_dir.join("booster-demo.log");
    let mut operator = spawn_operator(&booster, http_port, &paths.kubeconfig(), &log)?;
    let result = async {
        wait_ready(http_port, &log).await?;
        println!("    operator ready; metrics on http://127.0.0.1:{http_port}/metrics, log in {}", log.display());
        let applied = apply_examples(&client, &root.join("examples")).await?;
        report(&client, &applied).await?;
        println!(
            "\nNote: no Kthena ModelServing controller runs in this demo, so no ModelServing reports Available and \
             `Active` stays False. In a cluster with Kthena, Active turns True once every backend's pods are ready."
        );
        if !once {
            println!("\nThe operator keeps reconciling (try `kubectl --kubeconfig {} -n {NAMESPACE} edit modelservers`); Ctrl-C stops everything.", paths.kubeconfig().display());
            tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        }
        Ok(())
    }
    .await;
    println!("==> stopping the operator");
    stop_operator(&mut operator).await;
    result
}

/// `booster run` in its own process group (a Ctrl-C in the terminal reaches only this command, which then stops
/// the operator gracefully), logging into `log`.
fn spawn_operator(booster: &Path, http_port: u16, kubeconfig: &Path, log: &Path) -> Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = out.try_clone().with_context(|| format!("opening {}", log.display()))?;
    std::process::Command::new(booster)
        .args(["run", "--leader-elect=false", "--watch-namespace", NAMESPACE])
        .arg(format!("--http-bind-address=127.0.0.1:{http_port}"))
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", booster.display()))
}

/// SIGTERM (graceful shutdown), then SIGKILL if it has not exited after 30 s.
async fn stop_operator(operator: &mut std::process::Child) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(operator.id()).unwrap_or(i32::MAX));
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = operator.try_wait() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = operator.kill();
    let _ = operator.wait();
}

async fn install_crds(client: &Client) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let crds = booster_api::crds::all();
    for crd in &crds {
        let name = crd.name_any();
        api.patch(&name, &params, &Patch::Apply(crd)).await.with_context(|| format!("applying CRD {name}"))?;
    }
    for crd in &crds {
        let name = crd.name_any();
        poll(&format!("CRD {name} to be Established"), || async {
            let crd = api.get(&name).await?;
            let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
            Ok(conditions.iter().any(|c| c.type_ == "Established" && c.status == "True"))
        })
        .await?;
    }
    Ok(())
}

async fn ensure_namespace(client: &Client) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": NAMESPACE}}))?;
    api.patch(NAMESPACE, &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(&namespace))
        .await
        .with_context(|| format!("creating namespace {NAMESPACE}"))?;
    Ok(())
}

async fn build_booster(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = tokio::process::Command::new(cargo)
        .args(["build", "--quiet", "--package", "booster-operator", "--bin", "booster"])
        .current_dir(root)
        .status()
        .await
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build of the booster binary failed: {status}");
    }
    Ok(root.join("target").join("debug").join("booster"))
}

/// Waits until the operator's `/readyz` answers 200.
async fn wait_ready(port: u16, log: &Path) -> Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if http_status(port, "/readyz").await == Some(200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the operator was not ready after {TIMEOUT:?}; its log:\n{}", processes::log_tail(log, 30))
}

async fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Applies every ModelBooster of `examples/`; returns their names.
async fn apply_examples(client: &Client, dir: &Path) -> Result<Vec<String>> {
    let api: Api<ModelBooster> = Api::namespaced(client.clone(), NAMESPACE);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    let mut names = Vec::new();
    println!("==> applying {} examples into namespace {NAMESPACE}", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let boosters: Vec<ModelBooster> =
            booster_api::strict::decode_all(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        for mut booster in boosters {
            let name = booster.name_any();
            booster.metadata.namespace = Some(NAMESPACE.into());
            api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&booster))
                .await
                .with_context(|| format!("applying {} from {}", name, file.display()))?;
            println!("    {name}  ({})", file.file_name().unwrap_or_default().to_string_lossy());
            names.push(name);
        }
    }
    Ok(names)
}

/// Waits until every booster has been processed, then prints its conditions and children.
async fn report(client: &Client, names: &[String]) -> Result<()> {
    let api: Api<ModelBooster> = Api::namespaced(client.clone(), NAMESPACE);
    let mut boosters = BTreeMap::new();
    for name in names {
        let booster = poll_value(&format!("ModelBooster {name} to be processed"), || async {
            let booster = api.get(name).await?;
            let processed = booster.status.as_ref().is_some_and(|s| {
                s.observed_generation == booster.metadata.generation
                    && s.conditions.iter().any(|c| c.type_ == "Initialized" || c.type_ == "Failed")
            });
            Ok(processed.then_some(booster))
        })
        .await?;
        boosters.insert(name.clone(), booster);
    }
    for (name, booster) in &boosters {
        println!("\nModelBooster {NAMESPACE}/{name}");
        for condition in booster.status.iter().flat_map(|s| &s.conditions) {
            println!(
                "  {:<12} {:<6} {:<16} {}",
                condition.type_, condition.status, condition.reason, condition.message
            );
        }
        let uid = booster.metadata.uid.clone().unwrap_or_default();
        for crd in booster_api::crds::children() {
            let (kind, plural) = (crd.spec.names.kind.as_str(), crd.spec.names.plural.as_str());
            let gvk = GroupVersionKind::gvk(&crd.spec.group, booster_api::VERSION, kind);
            let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
            let children: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
            let selector = format!("workload.serving.volcano.sh/model-uid={uid}");
            for child in children.list(&ListParams::default().labels(&selector)).await?.items {
                let revision = child.labels().get("workload.serving.volcano.sh/revision").cloned().unwrap_or_default();
                let summary = summarize(kind, &child.data);
                println!("  {kind:<25} {:<36} rev {revision}  {summary}", child.name_any());
            }
        }
    }
    Ok(())
}

/// One line about what a child does.
fn summarize(kind: &str, data: &Value) -> String {
    let spec = &data["spec"];
    match kind {
        "ModelServing" => {
            let roles: Vec<String> = spec["template"]["roles"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| format!("{}×{}", r["name"].as_str().unwrap_or_default(), r["replicas"]))
                .collect();
            format!("replicas {} roles {}", spec["replicas"], roles.join(","))
        }
        "ModelServer" => format!("serves {} ({})", spec["model"], spec["inferenceEngine"].as_str().unwrap_or_default()),
        "ModelRoute" => format!("{} rule(s) for {}", spec["rules"].as_array().map_or(0, Vec::len), spec["modelName"]),
        "AutoscalingPolicyBinding" if spec.get("optimizerConfiguration").is_some() => "optimizer (model level)".into(),
        "AutoscalingPolicyBinding" => "scaling (backend level)".into(),
        _ => String::new(),
    }
}

async fn poll<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, kube::Error>>,
{
    poll_value(what, || {
        let fut = check();
        async move { fut.await.map(|done| done.then_some(())) }
    })
    .await
}

async fn poll_value<T, F, Fut>(what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, kube::Error>>,
{
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) if Instant::now() >= deadline => return Err(e).with_context(|| format!("waiting for {what}")),
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            bail!("timed out after {TIMEOUT:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
