//! The admin kubeconfig (`target/control-plane/kubeconfig`): absolute server URL, certificates embedded, so it
//! works from any directory and for kube-controller-manager as well as for the tests.

use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::pki::{self, Pki};

/// The context, cluster and user name inside the kubeconfig.
pub const CONTEXT: &str = "model-booster-test";

pub fn write(path: &Path, server: &str, pki: &Pki) -> Result<()> {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": CONTEXT,
            "cluster": {
                "server": server,
                "certificate-authority-data": STANDARD.encode(&pki.ca_pem),
            },
        }],
        "users": [{
            "name": CONTEXT,
            "user": {
                "client-certificate-data": STANDARD.encode(&pki.admin_cert_pem),
                "client-key-data": STANDARD.encode(&pki.admin_key_pem),
            },
        }],
        "contexts": [{
            "name": CONTEXT,
            "context": { "cluster": CONTEXT, "user": CONTEXT, "namespace": "default" },
        }],
        "current-context": CONTEXT,
    });
    let yaml = serde_yaml::to_string(&config).context("serializing the kubeconfig")?;
    pki::write(path, &yaml)
}
