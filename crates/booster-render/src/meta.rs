//! Labels, owner reference and metadata every child carries (reference §2.2, D-5).

use std::collections::BTreeMap;

use booster_api::labels;
use booster_api::{ModelBooster, VERSION, WORKLOAD_GROUP};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The identity of the ModelBooster that children are rendered for.
#[derive(Clone, Debug)]
pub struct Owner<'a> {
    /// `metadata.name`.
    pub name: &'a str,
    /// `metadata.namespace`, where every child lives.
    pub namespace: &'a str,
    /// `metadata.uid`.
    pub uid: &'a str,
}

impl<'a> Owner<'a> {
    /// The owner identity of `m`, or the name of the first missing metadata field.
    pub fn of(m: &'a ModelBooster) -> Result<Self, &'static str> {
        let field =
            |value: &'a Option<String>, name: &'static str| value.as_deref().filter(|v| !v.is_empty()).ok_or(name);
        Ok(Self {
            name: field(&m.metadata.name, "metadata.name")?,
            namespace: field(&m.metadata.namespace, "metadata.namespace")?,
            uid: field(&m.metadata.uid, "metadata.uid")?,
        })
    }

    /// The five labels of a child; `backend` is `""` for model-level children.
    pub fn labels(&self, backend: &str, revision: &str) -> BTreeMap<String, String> {
        let mut labels = self.labels_without_revision(backend);
        labels.insert(labels::REVISION.into(), revision.into());
        labels
    }

    /// The labels of a child before its revision is known.
    pub fn labels_without_revision(&self, backend: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (labels::MODEL_NAME.into(), self.name.into()),
            (labels::BACKEND_NAME.into(), backend.into()),
            (labels::MANAGED_BY.into(), labels::MANAGED_BY_VALUE.into()),
            (labels::MODEL_UID.into(), self.uid.into()),
        ])
    }

    /// D-5: exactly one owner reference, with `controller` and `blockOwnerDeletion`.
    pub fn owner_reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: format!("{WORKLOAD_GROUP}/{VERSION}"),
            kind: "ModelBooster".into(),
            name: self.name.into(),
            uid: self.uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// Metadata of a child named `name`.
    pub fn child_metadata(&self, name: String, labels: BTreeMap<String, String>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.namespace.into()),
            labels: Some(labels),
            owner_references: Some(vec![self.owner_reference()]),
            ..ObjectMeta::default()
        }
    }
}
