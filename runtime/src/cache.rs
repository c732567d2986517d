//! One in-memory cache per kind, shared by its controller and the aggregate reconciler: the controller's reflector store is registered here, read as JSON on demand, and every watch event is announced to subscribers.
//!
//! Before, the aggregate controller ran a second watch per kind into a `DynamicObject` store: a
//! second full copy of every custom resource, as `serde_json` maps (several times the size of the
//! typed objects). Now each object is held once, typed; the aggregate converts only the candidates
//! a reconcile reads, and is woken by [`Change`] notifications that carry no object.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt as _;
use kube::Resource;
use kube::api::{ApiResource, DynamicObject};
use kube::core::ObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

/// A watch event on an object of a cached kind: which object, not its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Kind of the object.
    pub kind: String,
    /// Namespace of the object.
    pub namespace: String,
    /// Name of the object.
    pub name: String,
}

/// Read access to the cached objects of one kind, as the JSON the API server would return.
pub trait ObjectSource: Send + Sync {
    /// The object `namespace/name`, if cached.
    fn get(&self, namespace: &str, name: &str) -> Option<Value>;
    /// The cached objects whose metadata `keep` accepts.
    fn select(&self, keep: &dyn Fn(&ObjectMeta) -> bool) -> Vec<Value>;
    /// Whether the initial list has completed.
    fn is_ready(&self) -> bool;
}

/// A reflector store of kind `K` (typed, or `DynamicObject` for tests and tools that watch
/// untyped) whose objects are of kind `resource`.
pub struct StoreSource<K: Resource + Clone + 'static>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    resource: ApiResource,
    dyntype: K::DynamicType,
    store: Store<K>,
}

impl StoreSource<DynamicObject> {
    /// Reads the dynamic `store`, whose objects are of kind `resource`.
    pub fn dynamic(resource: ApiResource, store: Store<DynamicObject>) -> Self {
        Self {
            dyntype: resource.clone(),
            resource,
            store,
        }
    }
}

impl<K> ObjectSource for StoreSource<K>
where
    K: Resource + Clone + Serialize + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    fn get(&self, namespace: &str, name: &str) -> Option<Value> {
        let key = ObjectRef::<K>::new_with(name, self.dyntype.clone()).within(namespace);
        self.store.get(&key).map(|obj| to_json(&*obj, &self.resource))
    }

    fn select(&self, keep: &dyn Fn(&ObjectMeta) -> bool) -> Vec<Value> {
        self.store
            .state_filter(|obj| keep(obj.meta()))
            .iter()
            .map(|obj| to_json(&**obj, &self.resource))
            .collect()
    }

    fn is_ready(&self) -> bool {
        matches!(self.store.wait_until_ready().now_or_never(), Some(Ok(())))
    }
}

/// An object as aggregates see it: `apiVersion` and `kind` set, without `managedFields`.
pub fn to_json<T: Serialize>(obj: &T, resource: &ApiResource) -> Value {
    let mut value = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("apiVersion".into(), Value::String(resource.api_version.clone()));
        map.insert("kind".into(), Value::String(resource.kind.clone()));
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            meta.remove("managedFields");
        }
    }
    value
}

/// The registry: one [`ObjectSource`] per kind and the subscribers to [`Change`]s.
#[derive(Default)]
pub struct SharedCaches {
    sources: Mutex<BTreeMap<String, Arc<dyn ObjectSource>>>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Change>>>,
}

impl std::fmt::Debug for SharedCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCaches")
            .field("kinds", &lock(&self.sources).keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent across a panic in another holder; keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SharedCaches {
    /// Registers the store of a typed kind (done by its controller when it starts).
    pub fn register<K>(&self, store: Store<K>)
    where
        K: Resource<DynamicType = ()> + Clone + Serialize + Send + Sync + 'static,
    {
        let resource = ApiResource::erase::<K>(&());
        let kind = resource.kind.clone();
        self.register_source(
            &kind,
            Arc::new(StoreSource {
                resource,
                dyntype: (),
                store,
            }),
        );
    }

    /// Registers `source` as the cache of `kind`, replacing an earlier one.
    pub fn register_source(&self, kind: &str, source: Arc<dyn ObjectSource>) {
        lock(&self.sources).insert(kind.to_owned(), source);
    }

    /// The cache of `kind`, if its controller registered one.
    pub fn source(&self, kind: &str) -> Option<Arc<dyn ObjectSource>> {
        lock(&self.sources).get(kind).cloned()
    }

    /// Announces a watch event on `kind` `namespace/name` to every subscriber (none: nothing is
    /// kept).
    pub fn notify(&self, kind: &str, namespace: &str, name: &str) {
        let mut subscribers = lock(&self.subscribers);
        if subscribers.is_empty() {
            return;
        }
        let change = Change {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        subscribers.retain(|tx| tx.send(change.clone()).is_ok());
    }

    /// A stream of every [`Change`] announced from now on (unbounded: the subscriber maps each to
    /// a few keys at once, so it never falls far behind).
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Change> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.subscribers).push(tx);
        rx
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::watcher;

    use super::*;

    fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(name.into());
        cm.metadata.namespace = Some("ns".into());
        cm.metadata.labels = Some(labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect());
        cm
    }

    #[test]
    fn a_registered_store_is_read_as_json_with_kind_and_api_version() {
        let (reader, mut writer) = kube::runtime::reflector::store::<ConfigMap>();
        let caches = SharedCaches::default();
        caches.register(reader);
        let source = caches.source("ConfigMap").unwrap();
        assert!(!source.is_ready());
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitApply(cm("a", &[("tier", "web")])));
        writer.apply_watcher_event(&watcher::Event::InitApply(cm("b", &[])));
        writer.apply_watcher_event(&watcher::Event::InitDone);
        assert!(source.is_ready());
        let a = source.get("ns", "a").unwrap();
        assert_eq!(a["kind"], "ConfigMap");
        assert_eq!(a["apiVersion"], "v1");
        assert_eq!(a["metadata"]["labels"]["tier"], "web");
        assert!(source.get("other", "a").is_none());
        let web = source.select(&|m| m.labels.as_ref().is_some_and(|l| l.contains_key("tier")));
        assert_eq!(web.len(), 1);
        assert_eq!(web[0]["metadata"]["name"], "a");
        assert!(caches.source("Secret").is_none());
    }

    #[tokio::test]
    async fn changes_reach_every_live_subscriber_and_none_are_kept_without_one() {
        let caches = SharedCaches::default();
        caches.notify("Pet", "ns", "lost");
        let mut first = caches.subscribe();
        let second = caches.subscribe();
        drop(second);
        caches.notify("Pet", "ns", "a");
        assert_eq!(
            first.recv().await.unwrap(),
            Change {
                kind: "Pet".into(),
                namespace: "ns".into(),
                name: "a".into()
            }
        );
        assert!(
            first.try_recv().is_err(),
            "the change before subscribing is not replayed"
        );
        assert_eq!(
            lock(&caches.subscribers).len(),
            1,
            "the dropped subscriber is forgotten"
        );
    }
}
