//! One namespace per test, deleted when its guard drops (also when the test panics).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client, Config};

use crate::Result;

/// Label on every test namespace (to find leftovers: `kubectl get ns -l model-booster.test/namespace`).
pub const NAMESPACE_LABEL: &str = "model-booster.test/namespace";

/// A namespace created for one test. Dropping it deletes the namespace (the namespace controller then removes
/// its content); it does not wait for the deletion to finish.
pub struct TestNamespace {
    name: String,
    config: Config,
}

impl TestNamespace {
    pub(crate) async fn create(client: &Client, config: &Config, test: &str) -> Result<Self> {
        let name = unique_name(test);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([(NAMESPACE_LABEL.to_string(), "true".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        namespaces.create(&PostParams::default(), &namespace).await?;
        Ok(Self { name, config: config.clone() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // The test's runtime may be shutting down (or be single-threaded and blocked here): delete from a thread
        // with its own runtime and client.
        let name = self.name.clone();
        let config = self.config.clone();
        let deletion = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let client = Client::try_from(config).map_err(|e| e.to_string())?;
                let namespaces: Api<Namespace> = Api::all(client);
                match namespaces.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            })
        });
        let outcome = deletion.join().unwrap_or_else(|_| Err("the deleting thread panicked".into()));
        if let Err(e) = outcome {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "warning: could not delete test namespace {}: {e}", self.name);
        }
    }
}

/// `t-<test>-<8 hex>`, a DNS label of at most 63 characters.
fn unique_name(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let suffix = format!("{:08x}", hasher.finish() & 0xffff_ffff);
    let mut stem = String::new();
    for c in test.chars() {
        let c = if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' };
        if !(c == '-' && stem.ends_with('-')) {
            stem.push(c);
        }
    }
    stem.truncate(63 - "t--".len() - suffix.len());
    let stem = stem.trim_matches('-');
    format!("t-{stem}-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn names_are_dns_labels_and_unique() {
        let a = unique_name("admission::invalid_model_boosters_are_rejected_with_their_message_and_field");
        let b = unique_name("admission::invalid_model_boosters_are_rejected_with_their_message_and_field");
        assert_ne!(a, b);
        for name in [&a, &b] {
            assert!(name.len() <= 63, "{name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert!(!name.contains("--"), "{name}");
        }
    }
}
