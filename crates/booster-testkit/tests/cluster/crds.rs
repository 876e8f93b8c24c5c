//! Our six CRDs on a real API server: accepted, Established, no warnings; the ModelBooster CRD's CEL rules fit the
//! API server's cost budget.

use anyhow::{Result, ensure};
use booster_api::crds;
use booster_testkit::FIELD_MANAGER;

use crate::cluster;

#[tokio::test]
async fn crds_are_established_without_warnings() -> Result<()> {
    let cluster = cluster!("crds::crds_are_established_without_warnings");
    let install = cluster.crd_install();
    println!("CRDs applied and Established in {:.2?}", install.elapsed);
    for crd in &install.crds {
        println!(
            "  {:<55} request {:>7} B, stored {:>7} B (managedFields {:>7} B), warnings {:?}",
            crd.name, crd.request_bytes, crd.stored_bytes, crd.managed_fields_bytes, crd.warnings
        );
    }
    assert!(
        install.refused.is_empty(),
        "the API server refused CRDs:\n{}",
        install.refused.iter().map(|(name, message)| format!("{name}: {message}")).collect::<Vec<_>>().join("\n")
    );
    let expected: Vec<String> = crds::all().iter().filter_map(|crd| crd.metadata.name.clone()).collect();
    let installed: Vec<String> = install.crds.iter().map(|crd| crd.name.clone()).collect();
    assert_eq!(installed, expected);
    for crd in &install.crds {
        assert!(crd.warnings.is_empty(), "the API server warned about CRD {}: {:?}", crd.name, crd.warnings);
    }

    // The install may have been an unchanged re-apply (a reused plane): apply again as a dry run, which runs the
    // whole update path including the strategy's warnings, and check Established on the stored objects.
    for crd in crds::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let path = format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}");
        let request = http::Request::patch(format!(
            "{path}?fieldManager={FIELD_MANAGER}&force=true&dryRun=All&fieldValidation=Strict"
        ))
        .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
        .body(serde_json::to_vec(&crd)?)?;
        let reply = cluster.send(request).await?;
        ensure!(reply.status.is_success(), "dry-run apply of {name}: HTTP {}: {}", reply.status, reply.message());
        assert!(reply.warnings.is_empty(), "the API server warned about CRD {name}: {:?}", reply.warnings);

        let reply = cluster.send(http::Request::get(path).body(Vec::new())?).await?;
        ensure!(reply.status.is_success(), "GET {name}: HTTP {}: {}", reply.status, reply.message());
        let conditions = reply.body.pointer("/status/conditions").cloned().unwrap_or_default();
        let condition = |kind: &str| {
            conditions.as_array().into_iter().flatten().any(|c| c["type"] == kind && c["status"] == "True")
        };
        assert!(condition("Established"), "{name} is not Established: {conditions}");
        assert!(condition("NamesAccepted"), "{name} names not accepted: {conditions}");
    }
    Ok(())
}

/// The API server estimates the cost of every CEL rule when a CRD is created (an update only re-checks changed
/// rules), so create a copy of the ModelBooster CRD under another group, as a dry run.
#[tokio::test]
async fn model_booster_crd_fits_the_cel_cost_budget() -> Result<()> {
    let cluster = cluster!("crds::model_booster_crd_fits_the_cel_cost_budget");
    let mut crd = serde_json::to_value(crds::model_booster())?;
    let group = "cel-cost.model-booster.test";
    crd["spec"]["group"] = group.into();
    crd["metadata"] = serde_json::json!({ "name": format!("modelboosters.{group}") });
    let request = http::Request::post(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?dryRun=All&fieldValidation=Strict",
    )
    .header(http::header::CONTENT_TYPE, "application/json")
    .body(serde_json::to_vec(&crd)?)?;
    let reply = cluster.send(request).await?;
    ensure!(
        reply.status.is_success(),
        "the API server refused the ModelBooster CRD on create (HTTP {}): {}",
        reply.status,
        reply.message()
    );
    assert!(reply.warnings.is_empty(), "warnings on create: {:?}", reply.warnings);
    Ok(())
}
