//! The CustomResourceDefinitions of the six kinds, as committed under `charts/model-booster/`.
//!
//! Generated from the types, with two adjustments kube's derive cannot express:
//! - `nullable: true` is removed everywhere: our documents never contain `null`, and without `nullable` the API server
//!   prunes a `null` a client sends, so the field's default applies instead of `null` reaching a CEL rule;
//! - the ModelBooster schema declares `metadata.name`, so CEL rules can name it as their `fieldPath` (V-39).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{CustomResourceDefinition, JSONSchemaProps};
use kube::CustomResourceExt;
use serde_json::Value;

use crate::{AutoscalingPolicy, AutoscalingPolicyBinding, ModelBooster, ModelRoute, ModelServer, ModelServing};

/// The ModelBooster CRD, the one the Helm chart installs.
pub fn model_booster() -> CustomResourceDefinition {
    let mut crd = finish(ModelBooster::crd());
    if let Some(schema) = root_schema(&mut crd) {
        let metadata = schema.properties.get_or_insert_default().entry("metadata".into()).or_default();
        metadata.type_.get_or_insert_with(|| "object".into());
        metadata
            .properties
            .get_or_insert_default()
            .insert("name".into(), JSONSchemaProps { type_: Some("string".into()), ..Default::default() });
    }
    crd
}

/// The CRDs of the five Kthena kinds, for clusters without Kthena (development, tests, the demo).
pub fn children() -> Vec<CustomResourceDefinition> {
    [
        ModelServing::crd(),
        ModelServer::crd(),
        ModelRoute::crd(),
        AutoscalingPolicy::crd(),
        AutoscalingPolicyBinding::crd(),
    ]
    .into_iter()
    .map(finish)
    .collect()
}

/// All six CRDs, the ModelBooster CRD first.
pub fn all() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![model_booster()];
    crds.extend(children());
    crds
}

/// The file a CRD is committed as: `<group>_<plural>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// The CRD as YAML, as committed.
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    serde_yaml::to_string(crd).unwrap_or_else(|e| unreachable!("a CRD always serializes to YAML: {e}"))
}

fn root_schema(crd: &mut CustomResourceDefinition) -> Option<&mut JSONSchemaProps> {
    crd.spec.versions.first_mut()?.schema.as_mut()?.open_api_v3_schema.as_mut()
}

fn finish(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    if let Some(schema) = root_schema(&mut crd) {
        let mut value = serde_json::to_value(&*schema).unwrap_or_else(|e| unreachable!("schema to JSON: {e}"));
        strip_nullable(&mut value);
        *schema = serde_json::from_value(value).unwrap_or_else(|e| unreachable!("schema from JSON: {e}"));
    }
    crd
}

fn strip_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
            }
            map.iter_mut().for_each(|(_, v)| strip_nullable(v));
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nullable),
        _ => {}
    }
}
