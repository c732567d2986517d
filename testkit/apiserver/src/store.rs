//! In-memory object storage: the global resourceVersion, the event log with its broadcast, and raw put/remove.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::errors::ApiError;
use crate::resources::Registry;
use crate::stats::Stats;

/// How many events the log keeps for watch replay by default.
pub const EVENT_LOG_CAPACITY: usize = 10_000;

/// Storage key of one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    /// API group.
    pub group: String,
    /// Resource plural.
    pub plural: String,
    /// Namespace ("" for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug, Clone)]
pub struct Event {
    /// resourceVersion the change produced.
    pub rv: u64,
    /// Which object.
    pub key: ObjKey,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (for DELETED: the last state, with the deletion's resourceVersion).
    pub object: Value,
    /// The object before the change (MODIFIED only), for selector transitions.
    pub old: Option<Value>,
}

/// Receiving end of the event broadcast.
pub type EventReceiver = broadcast::Receiver<Arc<Event>>;

/// Mutable server state; always accessed under [`Store::lock`].
#[derive(Debug)]
pub struct State {
    /// Served resource types.
    pub registry: Registry,
    /// Request counters.
    pub stats: Stats,
    rv: u64,
    objects: BTreeMap<ObjKey, Value>,
    log: VecDeque<Arc<Event>>,
    /// Events with rv > `log_floor` are all still in `log`.
    log_floor: u64,
    log_capacity: usize,
    rng: u64,
    events: broadcast::Sender<Arc<Event>>,
}

/// The shared store.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
}

/// The current time as RFC 3339 with second precision (`2026-11-23T17:39:44Z`).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Store {
    /// A store holding the `default`, `kube-system` and `kube-public` namespaces, keeping the
    /// last `log_capacity` events for watch replay.
    pub fn new(log_capacity: usize) -> Self {
        let log_capacity = log_capacity.max(1);
        let (events, _) = broadcast::channel(log_capacity.max(1024));
        let seed = jiff::Timestamp::now().as_nanosecond() as u64 ^ u64::from(std::process::id());
        let mut state = State {
            registry: Registry::with_builtins(),
            stats: Stats::default(),
            rv: 0,
            objects: BTreeMap::new(),
            log: VecDeque::new(),
            log_floor: 0,
            log_capacity,
            rng: seed,
            events,
        };
        for ns in ["default", "kube-system", "kube-public"] {
            let key = ObjKey {
                group: String::new(),
                plural: "namespaces".into(),
                namespace: String::new(),
                name: ns.into(),
            };
            let uid = state.new_uid();
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": uid, "creationTimestamp": now_rfc3339(), "generation": 1,
                             "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            state.insert_new(key, obj);
        }
        Store {
            state: Mutex::new(state),
        }
    }

    /// Locks the state. A poisoned lock (a panic while holding it) is recovered: the state is
    /// only mutated through complete operations.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new(EVENT_LOG_CAPACITY)
    }
}

impl State {
    /// The latest committed resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// A pseudo-random 64-bit number (splitmix64).
    pub fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh UUID-shaped uid.
    pub fn new_uid(&mut self) -> String {
        let (a, b) = (self.next_random(), self.next_random());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// A 5-character suffix for `generateName`, from the real apiserver's alphabet.
    pub fn name_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut r = self.next_random();
        (0..5)
            .map(|_| {
                let c = ALPHABET[(r % ALPHABET.len() as u64) as usize] as char;
                r /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    /// The stored object, if any.
    pub fn get(&self, key: &ObjKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of (group, plural), optionally only in `namespace`, in key order.
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == group && k.plural == plural)
            .filter(|(k, _)| namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(_, v)| v)
            .collect()
    }

    /// Keys of every object in a namespace (all types).
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<ObjKey> {
        self.objects
            .keys()
            .filter(|k| k.namespace == namespace)
            .cloned()
            .collect()
    }

    /// Keys of every object of (group, plural).
    pub fn keys_of(&self, group: &str, plural: &str) -> Vec<ObjKey> {
        self.objects
            .keys()
            .filter(|k| k.group == group && k.plural == plural)
            .cloned()
            .collect()
    }

    /// Keys of objects that list `uid` among their ownerReferences.
    pub fn dependents_of(&self, uid: &str) -> Vec<ObjKey> {
        self.objects
            .iter()
            .filter(|(_, v)| {
                v.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| {
                        refs.iter()
                            .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
                    })
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn bump(&mut self, obj: &mut Value) -> u64 {
        self.rv += 1;
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        }
        self.rv
    }

    fn publish(&mut self, event: Event) {
        let event = Arc::new(event);
        self.log.push_back(event.clone());
        while self.log.len() > self.log_capacity {
            if let Some(old) = self.log.pop_front() {
                self.log_floor = old.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    /// Stores a new object (stamping its resourceVersion) and emits ADDED.
    pub fn insert_new(&mut self, key: ObjKey, mut obj: Value) -> Value {
        let rv = self.bump(&mut obj);
        self.objects.insert(key.clone(), obj.clone());
        self.publish(Event {
            rv,
            key,
            kind: EventType::Added,
            object: obj.clone(),
            old: None,
        });
        obj
    }

    /// Replaces an existing object (stamping its resourceVersion) and emits MODIFIED.
    pub fn replace(&mut self, key: ObjKey, mut obj: Value) -> Value {
        let rv = self.bump(&mut obj);
        let old = self.objects.insert(key.clone(), obj.clone());
        self.publish(Event {
            rv,
            key,
            kind: EventType::Modified,
            object: obj.clone(),
            old,
        });
        obj
    }

    /// Removes an object, stamping the final state with the deletion's resourceVersion; emits DELETED.
    pub fn remove(&mut self, key: &ObjKey, last: Option<Value>) -> Option<Value> {
        let stored = self.objects.remove(key)?;
        let mut obj = last.unwrap_or(stored);
        let rv = self.bump(&mut obj);
        self.publish(Event {
            rv,
            key: key.clone(),
            kind: EventType::Deleted,
            object: obj.clone(),
            old: None,
        });
        Some(obj)
    }

    /// Subscribes to future events and returns, atomically with it, the events after `since`
    /// still in the log (`Expired` when `since` is older than the log retains).
    pub fn subscribe_since(&self, since: u64) -> Result<(Vec<Arc<Event>>, EventReceiver), ApiError> {
        if since < self.log_floor {
            return Err(ApiError::Expired {
                requested: since,
                oldest: self.log_floor,
            });
        }
        let replay = self.log.iter().filter(|e| e.rv > since).cloned().collect();
        Ok((replay, self.events.subscribe()))
    }

    /// A throwaway copy for `dryRun=All` requests: same objects and types, no watchers, no stats.
    pub fn dry_run_copy(&self) -> State {
        let (events, _) = broadcast::channel(1);
        State {
            registry: self.registry.clone(),
            stats: Stats::default(),
            rv: self.rv,
            objects: self.objects.clone(),
            log: VecDeque::new(),
            log_floor: self.rv,
            log_capacity: 1,
            rng: self.rng.rotate_left(17),
            events,
        }
    }

    /// Subscribes to future events only.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }
}
