//! Readiness checks: etcd `/health`, kube-apiserver `/readyz` with the admin identity, and a canary proving that
//! the garbage collector and the namespace controller of kube-controller-manager work.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CANARY_NAMESPACE: &str = "control-plane-canary";

/// `GET http://127.0.0.1:<port>/health` answers 200 with `"health":"true"`.
pub async fn etcd_healthy(port: u16) -> bool {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        std::io::Result::Ok(String::from_utf8_lossy(&response).into_owned())
    };
    match tokio::time::timeout(Duration::from_secs(2), exchange).await {
        Ok(Ok(response)) => {
            let status_ok = response.lines().next().is_some_and(|line| line.split_whitespace().nth(1) == Some("200"));
            status_ok && response.contains(r#""health":"true""#)
        }
        _ => false,
    }
}

/// A client for the admin kubeconfig (built on the caller's runtime).
pub async fn client(kubeconfig: &Path) -> Result<Client> {
    let kc = Kubeconfig::read_from(kubeconfig).with_context(|| format!("reading {}", kubeconfig.display()))?;
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .with_context(|| format!("loading {}", kubeconfig.display()))?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(30));
    Client::try_from(config).context("building a Kubernetes client from the admin kubeconfig")
}

/// `GET /readyz` returns 200 to the admin identity.
pub async fn readyz(client: &Client) -> Result<()> {
    let request = http::Request::get("/readyz").body(Vec::new()).context("building the /readyz request")?;
    match tokio::time::timeout(Duration::from_secs(5), client.request_text(request)).await {
        Ok(result) => result.map(|_| ()).context("GET /readyz"),
        Err(_) => bail!("GET /readyz timed out"),
    }
}

/// Namespace `default` exists (created by the API server's bootstrap controller).
pub async fn default_namespace_exists(client: &Client) -> bool {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    matches!(tokio::time::timeout(Duration::from_secs(5), namespaces.get_opt("default")).await, Ok(Ok(Some(_))))
}

/// Proves the garbage collector and the namespace controller: a ConfigMap owned by another disappears once its
/// owner is deleted, and the scratch namespace disappears once deleted.
pub async fn canary(client: &Client, timeout: Duration) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(CANARY_NAMESPACE).await?.is_some() {
        bail!("namespace {CANARY_NAMESPACE} exists already in a fresh control plane");
    }
    let namespace = Namespace {
        metadata: ObjectMeta { name: Some(CANARY_NAMESPACE.into()), ..Default::default() },
        ..Default::default()
    };
    namespaces.create(&PostParams::default(), &namespace).await.context("creating the canary namespace")?;

    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), CANARY_NAMESPACE);
    let owner = config_maps
        .create(&PostParams::default(), &config_map("owner", None))
        .await
        .context("creating the canary owner ConfigMap")?;
    let uid = owner.metadata.uid.context("the API server returned the owner without a uid")?;
    let reference = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid,
        ..Default::default()
    };
    config_maps
        .create(&PostParams::default(), &config_map("dependent", Some(reference)))
        .await
        .context("creating the canary dependent ConfigMap")?;
    config_maps.delete("owner", &DeleteParams::background()).await.context("deleting the canary owner")?;
    let started = Instant::now();
    wait_gone(|| async { config_maps.get_opt("dependent").await }, timeout)
        .await
        .context("the garbage collector did not delete the canary's dependent ConfigMap")?;
    println!("  garbage collector: dependent deleted {:.1?} after its owner", started.elapsed());

    let started = Instant::now();
    namespaces.delete(CANARY_NAMESPACE, &DeleteParams::default()).await.context("deleting the canary namespace")?;
    wait_gone(|| async { namespaces.get_opt(CANARY_NAMESPACE).await }, timeout)
        .await
        .context("the namespace controller did not finish deleting the canary namespace")?;
    println!("  namespace controller: namespace deleted in {:.1?}", started.elapsed());
    Ok(())
}

fn config_map(name: &str, owner: Option<OwnerReference>) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(CANARY_NAMESPACE.into()),
            owner_references: owner.map(|o| vec![o]),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Polls `get` until it returns `None` (404), failing after `timeout`.
async fn wait_gone<T, F, Fut>(get: F, timeout: Duration) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = kube::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if get().await?.is_none() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("still present after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
