//! Test 7: a spec that passes admission but fails a render-time rule gets `Failed=True` naming the field and no
//! children, without a retry storm; fixing it clears `Failed` and creates the children.

use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::json;

use crate::support::*;

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn render_errors_set_failed_until_fixed() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("render_errors_set_failed_until_fixed");
    let operator = env.operator(&[]).await?;
    // `port` is set by the operator. R-9: RUNTIME_PORT must be a port number.
    let mut bad = backend("a", 1, 1);
    bad["workers"][0]["config"]["port"] = json!(9000);
    bad["env"] = json!([{"name": "RUNTIME_PORT", "value": "abc"}]);
    env.create(&booster("m", env.ns(), json!([bad]))).await?;

    let m = env.condition("m", "Failed", "True", TIMEOUT).await?;
    let failed = find_condition(&m, "Failed").cloned().unwrap_or_default();
    let message = failed["message"].as_str().unwrap_or_default();
    ensure!(failed["reason"] == "ModelAbnormal", "{failed}");
    ensure!(message.contains("spec.backends[0].workers[0].config.port"), "message lacks the field: {message}");
    ensure!(message.contains("spec.backends[0].env[0].value"), "message lacks the env field: {message}");
    ensure!(find_condition(&m, "Initialized").is_none(), "Initialized without children: {}", m["status"]);
    ensure!(m["status"]["observedGeneration"] == 1, "{}", m["status"]);
    ensure!(env.children().await?.is_empty(), "children of an invalid spec: {:?}", env.children().await?);

    // No retry storm: an invalid spec waits for the next change.
    let invalid = operator.metric("model_booster_reconcile_total{result=\"invalid\"}").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = operator.metric("model_booster_reconcile_total{result=\"invalid\"}").await?;
    ensure!(later == invalid && invalid <= 3.0, "invalid passes {invalid} then {later}");
    println!("Failed: {message}; {invalid} invalid passes, none in the 3 s after");

    // Fix it: Failed goes away, children appear.
    env.set_backends("m", json!([backend("a", 1, 1)])).await?;
    env.condition("m", "Initialized", "True", TIMEOUT).await?;
    let m = eventually("Failed to be removed", TIMEOUT, || async {
        let now = env.must_get("ModelBooster", "m").await?;
        Ok(if find_condition(&now, "Failed").is_none() { Ok(now) } else { Err(now["status"].to_string()) })
    })
    .await?;
    ensure!(m["status"]["observedGeneration"] == 2, "{}", m["status"]);
    let children = env.children().await?;
    ensure!(children == ["ModelRoute/m", "ModelServer/m-a", "ModelServing/m-a"], "{children:?}");
    Ok(())
}
