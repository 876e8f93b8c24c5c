//! The ModelRoute of a model (§4.10).

use std::collections::BTreeSet;

use booster_api::ModelRoute;
use booster_api::routing::{BodyMatch, ModelRouteSpec, RouteRule, TargetModel};

use crate::meta::Owner;
use crate::{RenderError, names, revision};

pub(crate) fn render(m: &booster_api::ModelBooster, owner: &Owner<'_>) -> Result<ModelRoute, RenderError> {
    let target = |backend: &booster_api::ModelBackend| TargetModel {
        model_server_name: names::backend_child(owner.name, &backend.name),
        weight: Some(backend.route_weight),
    };
    let backends = &m.spec.backends;
    let adapters: BTreeSet<&str> =
        backends.iter().flat_map(|b| b.lora_adapters.iter().flatten()).map(|a| a.name.as_str()).collect();
    let rules = if backends.len() == 1 {
        vec![RouteRule {
            name: Some("default".into()),
            model_match: m.spec.model_match.clone(),
            target_models: backends.iter().map(target).collect(),
        }]
    } else {
        let rule = |name: &str, targets: Vec<TargetModel>| {
            let mut model_match = m.spec.model_match.clone().unwrap_or_default();
            model_match.body = Some(BodyMatch { model: Some(name.into()) });
            RouteRule { name: Some(name.into()), model_match: Some(model_match), target_models: targets }
        };
        let default =
            RouteRule { name: Some("default".into()), ..rule(owner.name, backends.iter().map(target).collect()) };
        let per_adapter = adapters.iter().map(|adapter| {
            let targets = backends
                .iter()
                .flat_map(|b| b.lora_adapters.iter().flatten().filter(|a| a.name == *adapter).map(move |_| target(b)))
                .collect();
            rule(adapter, targets)
        });
        std::iter::once(default).chain(per_adapter).collect()
    };
    let spec = ModelRouteSpec {
        model_name: Some(owner.name.into()),
        lora_adapters: (!adapters.is_empty()).then(|| adapters.iter().map(|a| a.to_string()).collect()),
        rules,
        rate_limit: None,
    };
    let revision = revision::of(&serde_json::to_value(&spec)?);
    let mut route = ModelRoute::new(owner.name, spec);
    route.metadata = owner.child_metadata(owner.name.into(), owner.labels("", &revision));
    Ok(route)
}
