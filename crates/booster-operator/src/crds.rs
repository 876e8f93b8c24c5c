//! The start-up check that the API server serves the six kinds (spec §5.1, guide §5: no endless watch retries
//! against missing CRDs).

use std::collections::HashMap;

use booster_api::{VERSION, WORKLOAD_GROUP};
use booster_reconcile::ChildKind;
use kube::Client;

/// Fails, naming every kind the API server does not serve and how to install it.
pub async fn check_served(client: &Client) -> anyhow::Result<()> {
    let mut wanted: Vec<(String, &str, &str)> = vec![(WORKLOAD_GROUP.to_owned(), "modelboosters", "ModelBooster")];
    wanted.extend(ChildKind::ALL.iter().map(|kind| (kind.group().to_owned(), kind.plural(), kind.kind())));
    let mut served: HashMap<&str, Vec<String>> = HashMap::new();
    let mut missing = Vec::new();
    for (group, plural, kind) in &wanted {
        if !served.contains_key(group.as_str()) {
            let names = match client.list_api_group_resources(&format!("{group}/{VERSION}")).await {
                Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
                Err(kube::Error::Api(status)) if status.code == 404 => Vec::new(),
                Err(error) => {
                    return Err(anyhow::Error::new(error)
                        .context(format!("asking the API server which resources {group}/{VERSION} serves")));
                }
            };
            served.insert(group, names);
        }
        if !served.get(group.as_str()).is_some_and(|names| names.iter().any(|name| name == plural)) {
            missing.push(format!("{kind} ({plural}.{group}/{VERSION})"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "the API server does not serve {}; install the CRDs first, e.g. \
         `booster crds --all | kubectl apply --server-side -f -` (without --all: only the ModelBooster CRD, \
         when Kthena provides the others)",
        missing.join(", ")
    )
}
