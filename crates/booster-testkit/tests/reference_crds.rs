//! What we write is accepted by the reference project's own schemas: the five child CRDs of Kthena v0.1.0 are
//! swapped in, every child rendered from the reference inputs and from `examples/` is created with a server-side
//! dry run (strict field validation), and our CRDs are restored.
//!
//! A test binary of its own, with a single test: nothing else runs while the reference CRDs are installed (cargo
//! runs test binaries one after the other).

use anyhow::{Context, Result, ensure};
use booster_api::ModelBooster;
use booster_render::{Settings, render};
use booster_testkit::{Cluster, shared_dir, workspace_root, yaml_files};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

const OWNER_UID: &str = "00000000-0000-4000-8000-000000000002";

#[tokio::test]
async fn rendered_children_are_accepted_by_the_reference_crds() -> Result<()> {
    let test = "reference_crds::rendered_children_are_accepted_by_the_reference_crds";
    let Some(cluster) = Cluster::connect(test).await? else { return Ok(()) };
    let namespace = cluster.namespace("reference-crds").await?;

    let mut reference = Vec::new();
    for file in yaml_files(&shared_dir().join("reference/kthena-v0.1.0/crds"))? {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let crd: CustomResourceDefinition = serde_yaml::from_str(&text).with_context(|| file.display().to_string())?;
        if crd.spec.names.kind != "ModelBooster" {
            reference.push(crd);
        }
    }
    ensure!(reference.len() == 5, "expected the five reference child CRDs, found {}", reference.len());

    let boosters = inputs(namespace.name())?;
    ensure!(boosters.len() >= 14, "expected the 4 reference inputs and at least 10 examples, found {}", boosters.len());
    for crd in &reference {
        cluster.apply_crd(crd).await?;
    }
    let outcome = create_all(&cluster, namespace.name(), &boosters).await;
    for crd in booster_api::crds::children() {
        cluster.apply_crd(&crd).await.context("restoring our CRDs")?;
    }
    let (created, failures) = outcome?;
    assert!(failures.is_empty(), "refused by the reference CRDs:\n{}", failures.join("\n"));
    println!("{created} children of {} ModelBoosters accepted by the reference CRDs", boosters.len());
    Ok(())
}

/// The reference conversion inputs and our examples, in `namespace` with an owner uid.
fn inputs(namespace: &str) -> Result<Vec<(String, ModelBooster)>> {
    let files = yaml_files(&shared_dir().join("reference/kthena-v0.1.0/convert/input"))?
        .into_iter()
        .chain(yaml_files(&workspace_root().join("examples"))?);
    let mut boosters = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        for mut booster in booster_api::strict::decode_all::<ModelBooster>(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        {
            booster.metadata.namespace = Some(namespace.into());
            booster.metadata.uid = Some(OWNER_UID.into());
            boosters.push((file.display().to_string(), booster));
        }
    }
    Ok(boosters)
}

async fn create_all(
    cluster: &Cluster,
    namespace: &str,
    boosters: &[(String, ModelBooster)],
) -> Result<(usize, Vec<String>)> {
    let mut created = 0;
    let mut failures = Vec::new();
    for (file, booster) in boosters {
        let children = render(booster, &Settings::default()).with_context(|| format!("rendering {file}"))?;
        for child in children.into_vec() {
            let reply = cluster.create(namespace, &child.to_value()?, true).await?;
            if reply.status.is_success() && reply.warnings.is_empty() {
                created += 1;
            } else {
                failures.push(format!(
                    "{file}: {} {}: HTTP {} {} {:?}",
                    child.kind(),
                    child.name(),
                    reply.status,
                    reply.message(),
                    reply.warnings
                ));
            }
        }
    }
    Ok((created, failures))
}
