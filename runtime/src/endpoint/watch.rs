//! Watch-backed caches of Pods, StatefulSets and Deployments for endpoint discovery, started lazily on first use.
//!
//! StatefulSets and Deployments are watched per namespace, Pods per (namespace, label selector) and
//! single pods per (namespace, name). Each watch is a kube reflector started the first time a CR
//! needs it and kept until shutdown, so resolving endpoints never LISTs: it reads memory. Objects
//! are stored without `managedFields` and annotations (workloads also without their pod
//! template) to keep memory flat.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Resource;
use kube::api::Api;
use kube::core::{NamespaceResourceScope, Selector};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use crate::error::{Error, Result};

/// How long a resolution waits for a newly started watch's initial list.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(10);

type Stores<Key, K> = Mutex<HashMap<Key, Store<K>>>;

/// Lazily started reflectors, shared by every reconcile of one operator process.
pub struct Watches {
    client: kube::Client,
    shutdown: tokio::sync::watch::Receiver<bool>,
    sync_timeout: Duration,
    stateful_sets: Stores<String, StatefulSet>,
    deployments: Stores<String, Deployment>,
    pods: Stores<(String, String), Pod>,
}

impl Debug for Watches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watches")
            .field(
                "stateful_sets",
                &lock(&self.stateful_sets).keys().collect::<Vec<_>>(),
            )
            .field("deployments", &lock(&self.deployments).keys().collect::<Vec<_>>())
            .field("pods", &lock(&self.pods).keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn strip_metadata<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    meta.annotations = None;
}

impl Watches {
    /// Watches using `client`, stopping when `shutdown` flips to `true`.
    pub fn new(client: kube::Client, shutdown: tokio::sync::watch::Receiver<bool>) -> Self {
        Self {
            client,
            shutdown,
            sync_timeout: SYNC_TIMEOUT,
            stateful_sets: Mutex::default(),
            deployments: Mutex::default(),
            pods: Mutex::default(),
        }
    }

    /// StatefulSet `name` in `namespace`, if it exists.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoint`] when the watch has not synced within the timeout.
    pub async fn stateful_set(&self, namespace: &str, name: &str) -> Result<Option<Arc<StatefulSet>>> {
        let store = self.stateful_set_store(namespace);
        self.synced(&store, "StatefulSets", namespace, "").await?;
        Ok(store.get(&ObjectRef::new(name).within(namespace)))
    }

    /// Every StatefulSet in `namespace`.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoint`] when the watch has not synced within the timeout.
    pub async fn stateful_sets(&self, namespace: &str) -> Result<Vec<Arc<StatefulSet>>> {
        let store = self.stateful_set_store(namespace);
        self.synced(&store, "StatefulSets", namespace, "").await?;
        Ok(store.state())
    }

    /// Deployment `name` in `namespace`, if it exists.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoint`] when the watch has not synced within the timeout.
    pub async fn deployment(&self, namespace: &str, name: &str) -> Result<Option<Arc<Deployment>>> {
        let store = self.deployment_store(namespace);
        self.synced(&store, "Deployments", namespace, "").await?;
        Ok(store.get(&ObjectRef::new(name).within(namespace)))
    }

    /// Every Deployment in `namespace`.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoint`] when the watch has not synced within the timeout.
    pub async fn deployments(&self, namespace: &str) -> Result<Vec<Arc<Deployment>>> {
        let store = self.deployment_store(namespace);
        self.synced(&store, "Deployments", namespace, "").await?;
        Ok(store.state())
    }

    /// Pods in `namespace` matching `selector`.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoint`] when the watch has not synced within the timeout.
    pub async fn pods(&self, namespace: &str, selector: &Selector) -> Result<Vec<Arc<Pod>>> {
        let labels = selector.to_string();
        let store = self.pod_store(namespace, format!("l:{labels}"), || {
            watcher::Config::default().labels_from(selector)
        });
        self.synced(&store, "Pods", namespace, &labels).await?;
        Ok(store.state())
    }

    /// Pod `name` in `namespace`, if it exists.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoint`] when the watch has not synced within the timeout.
    pub async fn pod(&self, namespace: &str, name: &str) -> Result<Option<Arc<Pod>>> {
        let fields = format!("metadata.name={name}");
        let store = self.pod_store(namespace, format!("f:{fields}"), || {
            watcher::Config::default().fields(&fields)
        });
        self.synced(&store, "Pods", namespace, &fields).await?;
        Ok(store.get(&ObjectRef::new(name).within(namespace)))
    }

    fn stateful_set_store(&self, namespace: &str) -> Store<StatefulSet> {
        self.store(
            &self.stateful_sets,
            namespace.to_owned(),
            namespace,
            watcher::Config::default,
            |s: &mut StatefulSet| {
                strip_metadata(s);
                if let Some(spec) = s.spec.as_mut() {
                    spec.template = Default::default();
                    spec.volume_claim_templates = None;
                }
            },
        )
    }

    fn deployment_store(&self, namespace: &str) -> Store<Deployment> {
        self.store(
            &self.deployments,
            namespace.to_owned(),
            namespace,
            watcher::Config::default,
            |d: &mut Deployment| {
                strip_metadata(d);
                if let Some(spec) = d.spec.as_mut() {
                    spec.template = Default::default();
                }
            },
        )
    }

    fn pod_store(
        &self,
        namespace: &str,
        key: String,
        config: impl FnOnce() -> watcher::Config,
    ) -> Store<Pod> {
        self.store(
            &self.pods,
            (namespace.to_owned(), key),
            namespace,
            config,
            strip_metadata::<Pod>,
        )
    }

    /// The store under `key`, starting its reflector on first use.
    fn store<Key, K>(
        &self,
        stores: &Stores<Key, K>,
        key: Key,
        namespace: &str,
        config: impl FnOnce() -> watcher::Config,
        strip: fn(&mut K),
    ) -> Store<K>
    where
        Key: Eq + Hash + Debug,
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + Debug
            + Send
            + Sync
            + 'static,
    {
        let mut stores = lock(stores);
        if let Some(store) = stores.get(&key) {
            return store.clone();
        }
        let kind = K::kind(&()).into_owned();
        debug!(%kind, namespace, ?key, "starting endpoint discovery watch");
        let (reader, writer) = reflector::store();
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        let stream = watcher(api, config())
            .default_backoff()
            .modify(strip)
            .reflect(writer);
        let mut shutdown = self.shutdown.clone();
        let ns = namespace.to_owned();
        tokio::spawn(async move {
            let run = stream.for_each(|event| {
                if let Err(error) = event {
                    warn!(%kind, namespace = %ns, %error, "endpoint discovery watch failed; retrying");
                }
                futures::future::ready(())
            });
            tokio::select! {
                () = run => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        });
        stores.insert(key, reader.clone());
        reader
    }

    async fn synced<K>(&self, store: &Store<K>, what: &str, namespace: &str, selector: &str) -> Result<()>
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        match tokio::time::timeout(self.sync_timeout, store.wait_until_ready()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(Error::NoEndpoint {
                target: format!("{what} in namespace {namespace}"),
                reason: format!(
                    "the watch{} has not synced within {}s; check that the operator may get, list and \
                     watch {} there (RBAC)",
                    if selector.is_empty() {
                        String::new()
                    } else {
                        format!(" ({selector})")
                    },
                    self.sync_timeout.as_secs(),
                    what.to_lowercase()
                ),
            }),
        }
    }
}
