//! An in-memory [`Cluster`] for fast unit tests of the reconcile logic.
//!
//! Honest where the logic depends on it: generated uids, resourceVersions that change only when an object changes,
//! label-selector lists, uid preconditions (409), 404s, a subset of server-side apply field ownership (a manager's
//! fields it stops sending are removed unless another manager owns them; lists are atomic; forced applies take
//! ownership), injected failures and a log of every request. It does no schema validation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use booster_api::{ModelBooster, ModelBoosterStatus};
use serde_json::{Map, Value, json};

use crate::{ChildKind, Cluster, ClusterError, Event};

/// One request made to the in-memory cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    List(ChildKind),
    Get(ChildKind, String),
    Apply { kind: ChildKind, name: String, field_manager: String },
    Delete(ChildKind, String),
    PatchStatus(String),
    Publish { reason: &'static str, note: String },
}

impl Request {
    /// Whether the request writes (anything but list and get).
    pub fn is_write(&self) -> bool {
        !matches!(self, Self::List(_) | Self::Get(..))
    }
}

/// A kind of request, to inject a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    List,
    Get,
    Apply,
    Delete,
    PatchStatus,
}

type Key = (ChildKind, String, String);

#[derive(Default)]
struct State {
    objects: BTreeMap<Key, Value>,
    /// Leaf paths owned per object and field manager.
    ownership: BTreeMap<Key, BTreeMap<String, BTreeSet<Vec<String>>>>,
    statuses: BTreeMap<(String, String), Value>,
    counter: u64,
    log: Vec<Request>,
    failures: Vec<(Operation, Option<ChildKind>, ClusterError)>,
}

/// A cluster that lives in memory.
#[derive(Default)]
pub struct InMemoryCluster {
    state: Mutex<State>,
}

impl InMemoryCluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `object` as if another client had created it (uid and resourceVersion are generated if absent).
    pub fn insert(&self, kind: ChildKind, mut object: Value) {
        let mut state = self.state();
        state.counter += 1;
        let counter = state.counter;
        let meta = metadata(&mut object);
        meta.entry("uid").or_insert_with(|| json!(format!("uid-{counter}")));
        meta.insert("resourceVersion".into(), json!(counter.to_string()));
        let key = key_of(kind, &object);
        state.objects.insert(key, object);
    }

    /// The stored object, if any.
    pub fn object(&self, kind: ChildKind, namespace: &str, name: &str) -> Option<Value> {
        self.state().objects.get(&(kind, namespace.into(), name.into())).cloned()
    }

    /// Names of the stored objects of `kind` in `namespace`.
    pub fn names(&self, kind: ChildKind, namespace: &str) -> Vec<String> {
        self.state()
            .objects
            .keys()
            .filter(|(k, ns, _)| *k == kind && ns == namespace)
            .map(|(_, _, n)| n.clone())
            .collect()
    }

    /// Sets the `status` of a stored object, as its own controller would.
    pub fn set_object_status(&self, kind: ChildKind, namespace: &str, name: &str, status: Value) {
        let mut state = self.state();
        state.counter += 1;
        let counter = state.counter.to_string();
        if let Some(object) = state.objects.get_mut(&(kind, namespace.into(), name.into())) {
            object["status"] = status;
            metadata(object).insert("resourceVersion".into(), json!(counter));
        }
    }

    /// Lets another field manager merge `spec` fields into a stored object (e.g. the autoscaler's replicas).
    pub fn merge_spec_as(&self, kind: ChildKind, namespace: &str, name: &str, field_manager: &str, spec: Value) {
        let body = json!({ "spec": spec });
        let key = (kind, namespace.to_owned(), name.to_owned());
        let mut state = self.state();
        if state.objects.contains_key(&key) {
            state.server_side_apply(key, &body, field_manager);
        }
    }

    /// The status of a ModelBooster as patched by the passes.
    pub fn booster_status(&self, namespace: &str, name: &str) -> Option<ModelBoosterStatus> {
        let status = self.state().statuses.get(&(namespace.into(), name.into())).cloned()?;
        serde_json::from_value(status).ok()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state().log.clone()
    }

    /// The write requests so far.
    pub fn writes(&self) -> Vec<Request> {
        self.state().log.iter().filter(|r| r.is_write()).cloned().collect()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        self.state().log.clear();
    }

    /// Makes the next request of `operation` (on `kind`, if given) fail with `error`.
    pub fn fail_next(&self, operation: Operation, kind: Option<ChildKind>, error: ClusterError) {
        self.state().failures.push((operation, kind, error));
    }
}

fn metadata(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"].as_object_mut().unwrap_or_else(|| unreachable!("metadata was just made an object"))
}

fn key_of(kind: ChildKind, object: &Value) -> Key {
    let field = |name: &str| object["metadata"][name].as_str().unwrap_or_default().to_owned();
    (kind, field("namespace"), field("name"))
}

fn matches_selector(object: &Value, selector: &str) -> bool {
    selector.split(',').filter(|term| !term.is_empty()).all(|term| match term.split_once('=') {
        Some((key, value)) => object["metadata"]["labels"][key] == value,
        None => false,
    })
}

/// Paths of the fields an apply body sets: leaves are scalars, lists (atomic) and empty maps.
fn leaf_paths(value: &Value, prefix: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                prefix.push(key.clone());
                leaf_paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            out.insert(prefix.clone());
        }
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn remove_path(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut current = value;
    for segment in parents {
        match current.get_mut(segment) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(map) = current.as_object_mut() {
        map.remove(last);
    }
}

fn fields_v1(paths: &BTreeSet<Vec<String>>) -> Value {
    let mut root = json!({});
    for path in paths {
        let mut current = &mut root;
        for segment in path {
            current = current
                .as_object_mut()
                .unwrap_or_else(|| unreachable!("fieldsV1 nodes are objects"))
                .entry(format!("f:{segment}"))
                .or_insert_with(|| json!({}));
        }
    }
    root
}

impl State {
    fn take_failure(&mut self, operation: Operation, kind: Option<ChildKind>) -> Result<(), ClusterError> {
        let position = self.failures.iter().position(|(op, k, _)| *op == operation && (k.is_none() || *k == kind));
        match position {
            Some(index) => Err(self.failures.remove(index).2),
            None => Ok(()),
        }
    }

    fn server_side_apply(&mut self, key: Key, body: &Value, field_manager: &str) -> Value {
        let mut sent = BTreeSet::new();
        let mut content = body.clone();
        if let Some(meta) = content.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.retain(|k, _| k == "labels" || k == "ownerReferences");
        }
        leaf_paths(&content, &mut Vec::new(), &mut sent);
        let owners = self.ownership.entry(key.clone()).or_default();
        let previously = owners.remove(field_manager).unwrap_or_default();
        for others in owners.values_mut() {
            others.retain(|path| !sent.contains(path));
        }
        let still_owned: BTreeSet<Vec<String>> = owners.values().flatten().cloned().collect();
        owners.insert(field_manager.to_owned(), sent.clone());
        let managed = json!(
            owners
                .iter()
                .map(|(manager, paths)| json!({"manager": manager, "operation": "Apply", "fieldsV1": fields_v1(paths)}))
                .collect::<Vec<_>>()
        );

        let existing = self.objects.get(&key).cloned();
        let mut object = existing.clone().unwrap_or_else(|| json!({}));
        merge(&mut object, &content);
        for stale in previously.difference(&sent).filter(|path| !still_owned.contains(*path)) {
            remove_path(&mut object, stale);
        }
        for field in ["apiVersion", "kind"] {
            if let Some(value) = body.get(field) {
                object[field] = value.clone();
            }
        }
        let meta = metadata(&mut object);
        meta.insert("name".into(), json!(key.2));
        meta.insert("namespace".into(), json!(key.1));
        meta.insert("managedFields".into(), managed);
        let changed = existing.as_ref().is_none_or(|old| without_bookkeeping(old) != without_bookkeeping(&object));
        if changed {
            self.counter += 1;
            let counter = self.counter;
            let meta = metadata(&mut object);
            meta.entry("uid").or_insert_with(|| json!(format!("uid-{counter}")));
            meta.insert("resourceVersion".into(), json!(counter.to_string()));
        }
        self.objects.insert(key, object.clone());
        object
    }
}

fn without_bookkeeping(object: &Value) -> Value {
    let mut object = object.clone();
    let meta = metadata(&mut object);
    meta.remove("managedFields");
    meta.remove("resourceVersion");
    object
}

impl Cluster for InMemoryCluster {
    async fn list(&self, kind: ChildKind, namespace: &str, selector: &str) -> Result<Vec<Value>, ClusterError> {
        let mut state = self.state();
        state.log.push(Request::List(kind));
        state.take_failure(Operation::List, Some(kind))?;
        Ok(state
            .objects
            .iter()
            .filter(|((k, ns, _), object)| *k == kind && ns == namespace && matches_selector(object, selector))
            .map(|(_, object)| object.clone())
            .collect())
    }

    async fn get(&self, kind: ChildKind, namespace: &str, name: &str) -> Result<Option<Value>, ClusterError> {
        let mut state = self.state();
        state.log.push(Request::Get(kind, name.into()));
        state.take_failure(Operation::Get, Some(kind))?;
        Ok(state.objects.get(&(kind, namespace.into(), name.into())).cloned())
    }

    async fn apply(
        &self,
        kind: ChildKind,
        namespace: &str,
        name: &str,
        body: &Value,
        field_manager: &str,
    ) -> Result<Value, ClusterError> {
        let mut state = self.state();
        state.log.push(Request::Apply { kind, name: name.into(), field_manager: field_manager.into() });
        state.take_failure(Operation::Apply, Some(kind))?;
        let key = (kind, namespace.to_owned(), name.to_owned());
        // A `metadata.resourceVersion` in the body makes the apply conditional, as on the API server.
        if let Some(expected) = body.pointer("/metadata/resourceVersion") {
            let stored = state.objects.get(&key).and_then(|o| o.pointer("/metadata/resourceVersion")).cloned();
            if stored.as_ref() != Some(expected) {
                return Err(ClusterError::Conflict(
                    "the object has been modified; please apply your changes to the latest version and try again"
                        .into(),
                ));
            }
        }
        Ok(state.server_side_apply(key, body, field_manager))
    }

    async fn delete(&self, kind: ChildKind, namespace: &str, name: &str, uid: &str) -> Result<(), ClusterError> {
        let mut state = self.state();
        state.log.push(Request::Delete(kind, name.into()));
        state.take_failure(Operation::Delete, Some(kind))?;
        let key = (kind, namespace.to_owned(), name.to_owned());
        match state.objects.get(&key) {
            None => Err(ClusterError::NotFound),
            Some(object) if object["metadata"]["uid"] != uid => {
                Err(ClusterError::Conflict("Precondition failed: UID in precondition does not match".into()))
            }
            Some(_) => {
                state.objects.remove(&key);
                state.ownership.remove(&key);
                Ok(())
            }
        }
    }

    async fn patch_status(&self, namespace: &str, name: &str, patch: &Value) -> Result<(), ClusterError> {
        let mut state = self.state();
        state.log.push(Request::PatchStatus(name.into()));
        state.take_failure(Operation::PatchStatus, None)?;
        let status = state.statuses.entry((namespace.into(), name.into())).or_insert_with(|| json!({}));
        if let (Value::Object(status), Some(Value::Object(patch))) = (status, patch.get("status")) {
            for (key, value) in patch {
                if value.is_null() {
                    status.remove(key);
                } else {
                    status.insert(key.clone(), value.clone());
                }
            }
        }
        Ok(())
    }

    async fn publish(&self, _booster: &ModelBooster, event: Event) {
        self.state().log.push(Request::Publish { reason: event.reason, note: event.note });
    }
}
