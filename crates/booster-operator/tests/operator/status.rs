//! Test 2: `Active` follows the availability of every backend's ModelServing (marked through the status subresource,
//! standing in for the ModelServing controller), `backendStatuses` reports replicas, and nothing flaps.

use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::{Value, json};

use crate::support::*;

fn available(status: &str, replicas: i64) -> Value {
    json!({"status": {
        "replicas": replicas,
        "conditions": [{
            "type": "Available", "status": status, "reason": "Test", "message": "set by the test",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }],
    }})
}

fn active_since(m: &Value) -> String {
    find_condition(m, "Active").map(|c| c["lastTransitionTime"].to_string()).unwrap_or_default()
}

#[tokio::test]
async fn active_follows_model_serving_availability_without_flapping() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("active_follows_model_serving_availability_without_flapping");
    let operator = env.operator(&["--resync-interval", "1s"]).await?;
    env.create(&booster("m", env.ns(), json!([backend("a", 2, 2), backend("b", 1, 1)]))).await?;
    let m = env.condition("m", "Initialized", "True", Duration::from_secs(30)).await?;
    ensure!(find_condition(&m, "Active").is_some_and(|c| c["status"] == "False"), "{}", m["status"]);

    // One of two backends available: still not Active.
    env.merge_status("ModelServing", "m-a", available("True", 2)).await?;
    let m = eventually("backendStatuses to report m-a's replicas", Duration::from_secs(20), || async {
        let m = env.must_get("ModelBooster", "m").await?;
        Ok(if m["status"]["backendStatuses"][0]["replicas"] == 2 { Ok(m) } else { Err(m["status"].to_string()) })
    })
    .await?;
    ensure!(find_condition(&m, "Active").is_some_and(|c| c["status"] == "False"), "{}", m["status"]);

    // Both available: Active=True with the reference's reason and message.
    env.merge_status("ModelServing", "m-b", available("True", 1)).await?;
    let m = env.condition("m", "Active", "True", Duration::from_secs(20)).await?;
    let active = find_condition(&m, "Active").cloned().unwrap_or_default();
    ensure!(active["reason"] == "ModelAvailable" && active["message"] == "ModelBooster is ready", "{active}");
    ensure!(
        m["status"]["backendStatuses"] == json!([{"name": "m-a", "replicas": 2}, {"name": "m-b", "replicas": 1}]),
        "backendStatuses {}",
        m["status"]["backendStatuses"]
    );
    let since = active_since(&m);
    let status_version = m["status"].clone();

    // Several resyncs (1 s) and two annotations later: the status is unchanged, lastTransitionTime too.
    let before = operator.successes().await?;
    env.annotate("m", "1").await?;
    eventually("at least 4 more passes", Duration::from_secs(20), || async {
        let now = operator.successes().await?;
        Ok(if now >= before + 4.0 { Ok(()) } else { Err(format!("{now} passes (from {before})")) })
    })
    .await?;
    env.annotate("m", "2").await?;
    let passes = operator.successes().await? - before;
    let m = env.must_get("ModelBooster", "m").await?;
    ensure!(m["status"] == status_version, "status changed without a cause: {} -> {}", status_version, m["status"]);
    println!("status stable over {passes} passes; Active since {since}");

    // One backend becomes unavailable: Active=False (a transition, so a new lastTransitionTime).
    tokio::time::sleep(Duration::from_millis(1100)).await; // lastTransitionTime has whole seconds
    env.merge_status("ModelServing", "m-b", available("False", 0)).await?;
    let m = env.condition("m", "Active", "False", Duration::from_secs(20)).await?;
    let inactive = find_condition(&m, "Active").cloned().unwrap_or_default();
    ensure!(inactive["reason"] == "ModelProcessing", "{inactive}");
    ensure!(active_since(&m) != since, "lastTransitionTime kept across a transition: {inactive}");
    ensure!(m["status"]["backendStatuses"][1] == json!({"name": "m-b", "replicas": 0}), "{}", m["status"]);
    let since = active_since(&m);
    let before = operator.successes().await?;
    eventually("at least 3 more passes", Duration::from_secs(20), || async {
        let now = operator.successes().await?;
        Ok(if now >= before + 3.0 { Ok(()) } else { Err(format!("{now} passes (from {before})")) })
    })
    .await?;
    let m = env.must_get("ModelBooster", "m").await?;
    ensure!(active_since(&m) == since, "Active flapped: {}", m["status"]);
    ensure!(find_condition(&m, "Initialized").is_some_and(|c| c["status"] == "True"), "{}", m["status"]);
    Ok(())
}
