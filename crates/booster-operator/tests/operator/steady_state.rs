//! Test 9: at steady state a pass writes nothing. The API server's own `apiserver_request_total` counts every
//! request by group, resource, subresource and verb: across passes triggered by resyncs and by an annotation, the
//! only write to our groups is the test's own annotation.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use serde_json::json;

use crate::support::*;

const TIMEOUT: Duration = Duration::from_secs(30);
const OUR_GROUPS: [&str; 2] = ["workload.serving.volcano.sh", "networking.serving.volcano.sh"];
const WRITE_VERBS: [&str; 6] = ["POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"];

/// (group, resource, subresource, verb) → requests so far.
type Counts = BTreeMap<(String, String, String, String), f64>;

/// `apiserver_request_total` by group, resource, subresource and verb (summed over codes and scopes).
async fn request_counts(env: &Env) -> Result<Counts> {
    let reply = env.cluster.send(http::Request::get("/metrics").body(Vec::new())?).await?;
    ensure!(reply.status.is_success(), "GET /metrics: HTTP {}", reply.status);
    let text = reply.body.as_str().context("/metrics is not text")?;
    let mut counts = Counts::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else { continue };
        let Some((labels, value)) = rest.rsplit_once("} ") else { continue };
        let labels = parse_labels(labels);
        let get = |key: &str| labels.get(key).cloned().unwrap_or_default();
        let value: f64 = value.trim().parse().unwrap_or_default();
        *counts.entry((get("group"), get("resource"), get("subresource"), get("verb"))).or_default() += value;
    }
    Ok(counts)
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let Some((value, after)) = after.split_once('"') else { break };
        labels.insert(key.trim_start_matches(',').to_owned(), value.to_owned());
        rest = after;
    }
    labels
}

fn delta(before: &Counts, after: &Counts, keep: impl Fn(&str, &str) -> bool) -> Counts {
    after
        .iter()
        .filter(|((group, _, _, verb), _)| keep(group, verb))
        .map(|(key, value)| (key.clone(), value - before.get(key).copied().unwrap_or_default()))
        .filter(|(_, d)| *d != 0.0)
        .collect()
}

#[tokio::test]
async fn steady_state_passes_send_no_write_requests() -> Result<()> {
    let _lock = exclusive().await;
    let env = crate::env!("steady_state_passes_send_no_write_requests");
    let operator = env.operator(&["--resync-interval", "2s"]).await?;
    let mut a = backend("a", 1, 3);
    a["autoscalingPolicy"] = policy();
    env.create(&booster("m", env.ns(), json!([a, backend("b", 1, 1)]))).await?;
    env.condition("m", "Initialized", "True", TIMEOUT).await?;
    let created_writes = operator.child_writes().await?;

    // Quiet cluster: the namespaces of earlier tests are gone (their deletion writes to our groups too), and the
    // operator has settled (two passes after Initialized).
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(env.client());
    eventually("terminating test namespaces to be deleted", Duration::from_secs(120), || async {
        let list = namespaces.list(&kube::api::ListParams::default().labels("model-booster.test/namespace")).await?;
        let others: Vec<String> = list
            .items
            .iter()
            .filter(|n| n.metadata.deletion_timestamp.is_some())
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        Ok(if others.is_empty() { Ok(()) } else { Err(format!("{others:?}")) })
    })
    .await?;
    let settled = operator.successes().await?;
    eventually("two passes", TIMEOUT, || async {
        let now = operator.successes().await?;
        Ok(if now >= settled + 2.0 { Ok(()) } else { Err(format!("{now}")) })
    })
    .await?;

    let before = request_counts(&env).await?;
    let passes_before = operator.successes().await?;
    let writes_before = operator.child_writes().await?;
    let m_before = env.must_get("ModelBooster", "m").await?;
    env.annotate("m", "steady").await?;
    eventually("the annotation pass and two resyncs", TIMEOUT, || async {
        let now = operator.successes().await?;
        Ok(if now >= passes_before + 3.0 { Ok(()) } else { Err(format!("{now}")) })
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await; // let the last pass's requests be counted
    let after = request_counts(&env).await?;
    let passes = operator.successes().await? - passes_before;

    let ours = |group: &str, _: &str| OUR_GROUPS.contains(&group);
    let writes = delta(&before, &after, |group, verb| ours(group, verb) && WRITE_VERBS.contains(&verb));
    let reads = delta(&before, &after, |group, verb| ours(group, verb) && !WRITE_VERBS.contains(&verb));
    let events = delta(&before, &after, |group, verb| group == "events.k8s.io" && WRITE_VERBS.contains(&verb));
    let read_total: f64 = reads.values().sum();
    println!(
        "steady state: {passes} passes (1 annotation + resyncs), {read_total} reads of our groups, \
         write requests {writes:?}, event writes {events:?}; child writes at create {created_writes}"
    );
    let annotation = ("workload.serving.volcano.sh".to_owned(), "modelboosters".to_owned(), String::new());
    let expected: Counts = [((annotation.0, annotation.1, annotation.2, "PATCH".to_owned()), 1.0)].into();
    ensure!(writes == expected, "write requests to our groups beyond the test's annotation: {writes:?}");
    ensure!(events.is_empty(), "event writes at steady state: {events:?}");
    ensure!(operator.child_writes().await? == writes_before, "the operator counted child writes");
    let m_after = env.must_get("ModelBooster", "m").await?;
    ensure!(m_after["status"] == m_before["status"], "status changed: {} -> {}", m_before["status"], m_after["status"]);
    ensure!(passes >= 3.0, "only {passes} passes in the window");

    // A config change of backend b costs exactly: the test's patch, one apply of m-b, one status patch
    // (observedGeneration), whatever the number of passes it triggers.
    let before = request_counts(&env).await?;
    let passes_before = operator.successes().await?;
    let mut b = backend("b", 1, 1);
    b["workers"][0]["config"]["max-model-len"] = json!(1024);
    let mut a = backend("a", 1, 3);
    a["autoscalingPolicy"] = policy();
    env.set_backends("m", json!([a, b])).await?;
    eventually("observedGeneration 2 and two more passes", TIMEOUT, || async {
        let m = env.must_get("ModelBooster", "m").await?;
        let now = operator.successes().await?;
        let done = m["status"]["observedGeneration"] == 2 && now >= passes_before + 3.0;
        Ok(if done { Ok(()) } else { Err(format!("{} after {now} passes", m["status"]["observedGeneration"])) })
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = request_counts(&env).await?;
    let writes = delta(&before, &after, |group, verb| ours(group, verb) && WRITE_VERBS.contains(&verb));
    let passes = operator.successes().await? - passes_before;
    println!("a config change: {passes} passes, write requests {writes:?}");
    let key = |resource: &str, subresource: &str, verb: &str| {
        (OUR_GROUPS[0].to_owned(), resource.to_owned(), subresource.to_owned(), verb.to_owned())
    };
    let expected: Counts = [
        (key("modelboosters", "", "PATCH"), 1.0),
        (key("modelboosters", "status", "PATCH"), 1.0),
        (key("modelservings", "", "APPLY"), 1.0),
    ]
    .into();
    ensure!(writes == expected, "write requests for a config change: {writes:?}");
    Ok(())
}
