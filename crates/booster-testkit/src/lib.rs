//! Support for integration tests against a real kube-apiserver (the local control plane of
//! `cargo xtask control-plane`, started and stopped by `cargo xtask test`).
//!
//! - [`Cluster::connect`] reads `KUBECONFIG`, refuses a non-loopback API server unless
//!   `MODEL_BOOSTER_TEST_ALLOW_REMOTE=1`, and installs the six generated CRDs once per test process (server-side
//!   apply, then waits until they are Established).
//! - Without a configured control plane a test is skipped with one line on stderr — unless `CI` or
//!   `MODEL_BOOSTER_TEST_REQUIRE_CLUSTER` is set, in which case it fails.
//! - [`Cluster::namespace`] gives each test its own namespace, deleted when the guard drops (also on panic).
//! - Build everything inside the test's own runtime: a `kube::Client` made on another test's runtime hangs or fails
//!   once that runtime is gone, so nothing here shares a client between tests.

mod crds;
mod fixtures;
mod namespace;
mod reply;

use kube::{Client, Config};

pub use crds::{CrdInstall, CrdReport, FIELD_MANAGER, api_resource, collection_path};
pub use fixtures::{load_yaml_documents, shared_dir, workspace_root, yaml_files};
pub use namespace::TestNamespace;
pub use reply::{Cause, Reply};

/// Set (by `cargo xtask test`) to make a missing control plane an error instead of a skip; `CI` does the same.
pub const REQUIRE_CLUSTER_ENV: &str = "MODEL_BOOSTER_TEST_REQUIRE_CLUSTER";
/// `1` allows tests against an API server that is not on a loopback address.
pub const ALLOW_REMOTE_ENV: &str = "MODEL_BOOSTER_TEST_ALLOW_REMOTE";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no control plane configured (KUBECONFIG is unset) and {0} is set; run the integration tests with `cargo xtask test`"
    )]
    NotConfigured(&'static str),
    #[error(
        "refusing to run tests against the API server {0}, which is not on a loopback address; \
         set {ALLOW_REMOTE_ENV}=1 to allow it"
    )]
    Remote(String),
    #[error("loading the kubeconfig named by KUBECONFIG: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Http(#[from] http::Error),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("{context}: {source}")]
    Yaml { context: String, source: serde_yaml::Error },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Cluster(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A connection to the test API server, with the CRDs installed.
pub struct Cluster {
    client: Client,
    config: Config,
    crds: &'static CrdInstall,
}

impl Cluster {
    /// Connects with `KUBECONFIG` and installs the CRDs (once per process). `Ok(None)` means "skip this test"
    /// (one line naming `test` has been printed); with `CI` or [`REQUIRE_CLUSTER_ENV`] set that case is an error.
    pub async fn connect(test: &str) -> Result<Option<Self>> {
        let strict = strict();
        if std::env::var_os("KUBECONFIG").is_none_or(|v| v.is_empty()) {
            return match strict {
                Some(var) => Err(Error::NotConfigured(var)),
                None => {
                    skip(test, "no control plane; run cargo xtask test");
                    Ok(None)
                }
            };
        }
        let config = Config::from_kubeconfig(&kube::config::KubeConfigOptions::default()).await?;
        let allow_remote = std::env::var(ALLOW_REMOTE_ENV).is_ok_and(|v| v == "1");
        if !allow_remote && !is_loopback(&config.cluster_url) {
            let server = config.cluster_url.to_string();
            return match strict {
                Some(_) => Err(Error::Remote(server)),
                None => {
                    skip(
                        test,
                        &format!(
                            "KUBECONFIG points at {server}, not a loopback address ({ALLOW_REMOTE_ENV}=1 allows it); \
                             run cargo xtask test"
                        ),
                    );
                    Ok(None)
                }
            };
        }
        let client = Client::try_from(config.clone())?;
        let crds = crds::install_once(&client).await?;
        Ok(Some(Self { client, config, crds }))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What installing the CRDs reported (the first test of the process did it).
    pub fn crd_install(&self) -> &'static CrdInstall {
        self.crds
    }

    /// Applies `crd` server-side with the field manager that installed ours (so applying ours again restores them
    /// exactly) and waits until it is Established.
    pub async fn apply_crd(
        &self,
        crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    ) -> Result<()> {
        crds::apply_and_wait(&self.client, crd).await
    }

    /// A fresh namespace for `test`, deleted when the guard drops.
    pub async fn namespace(&self, test: &str) -> Result<TestNamespace> {
        TestNamespace::create(&self.client, &self.config, test).await
    }

    /// Sends a raw request and returns status, `Warning` headers and body, also for 4xx/5xx answers.
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<Reply> {
        reply::send(&self.client, request).await
    }

    /// `POST` of `object` into `namespace` (its kind must be one of ours), optionally as a server-side dry run,
    /// always with `fieldValidation=Strict`.
    pub async fn create(&self, namespace: &str, object: &serde_json::Value, dry_run: bool) -> Result<Reply> {
        let path = self.object_collection(namespace, object)?;
        let query = if dry_run { "?dryRun=All&fieldValidation=Strict" } else { "?fieldValidation=Strict" };
        let request = http::Request::post(format!("{path}{query}"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(object)?)?;
        self.send(request).await
    }

    /// `PUT` of `object` (carrying `metadata.resourceVersion`) with `fieldValidation=Strict`.
    pub async fn replace(&self, namespace: &str, object: &serde_json::Value) -> Result<Reply> {
        let path = self.object_collection(namespace, object)?;
        let name = object
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| Error::Cluster("object without metadata.name".into()))?;
        let request = http::Request::put(format!("{path}/{name}?fieldValidation=Strict"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(object)?)?;
        self.send(request).await
    }
}

impl Cluster {
    fn object_collection(&self, namespace: &str, object: &serde_json::Value) -> Result<String> {
        let kind = object.get("kind").and_then(serde_json::Value::as_str).unwrap_or_default();
        self.crds.require(kind)?;
        object_collection(namespace, object)
    }
}

fn object_collection(namespace: &str, object: &serde_json::Value) -> Result<String> {
    let kind = object
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| Error::Cluster("object without kind".into()))?;
    let resource = api_resource(kind).ok_or_else(|| Error::Cluster(format!("{kind} is not one of our six kinds")))?;
    Ok(collection_path(&resource, namespace))
}

/// `Some(variable)` when tests must not skip: [`REQUIRE_CLUSTER_ENV`] set, or `CI` set (and not `false`/`0`).
fn strict() -> Option<&'static str> {
    let set =
        |var: &str| std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    if set(REQUIRE_CLUSTER_ENV) {
        Some(REQUIRE_CLUSTER_ENV)
    } else if set("CI") {
        Some("CI")
    } else {
        None
    }
}

/// One line on the real stderr: the test harness captures `eprintln!` of passing tests, not this.
fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipping {test}: {reason}");
}

fn is_loopback(url: &http::Uri) -> bool {
    let Some(host) = url.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_servers() {
        for url in ["https://127.0.0.1:6443", "https://127.0.0.2", "https://localhost:1", "https://[::1]:443"] {
            assert!(is_loopback(&url.parse().unwrap()), "{url}");
        }
        for url in ["https://10.0.0.1:6443", "https://example.com", "https://[2001:db8::1]"] {
            assert!(!is_loopback(&url.parse().unwrap()), "{url}");
        }
    }
}
