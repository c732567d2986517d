//! The shared in-memory state ([`Store`]): pets, orders, users, uploaded images, active faults and
//! the request log, plus the test-facing inspection/mutation API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

use crate::auth::AuthRequirement;
use crate::faults::{Fault, RecordedRequest};

/// One uploaded image: `(additionalMetadata, bytes)`.
pub type StoredImage = (Option<String>, Vec<u8>);

/// Everything behind the [`Store`] lock.
#[derive(Debug)]
pub(crate) struct State {
    /// Pets by id, as stored JSON objects.
    pub pets: BTreeMap<i64, Value>,
    /// Orders by id.
    pub orders: BTreeMap<i64, Value>,
    /// Users by username.
    pub users: BTreeMap<String, Value>,
    /// Uploaded images by pet id, in upload order.
    pub images: BTreeMap<i64, Vec<StoredImage>>,
    /// Active fault rules, first match wins.
    pub faults: Vec<Fault>,
    /// Request log: `(sequence number, request)`.
    pub requests: Vec<(u64, RecordedRequest)>,
    /// Next candidate for an auto-assigned pet id.
    pub next_pet_id: i64,
    /// Next candidate for an auto-assigned order id.
    pub next_order_id: i64,
    /// Next login session number.
    pub next_session: u64,
    /// Next request sequence number (never reset, so in-flight requests survive a reset).
    pub next_seq: u64,
    /// Credentials API requests must carry (any one of them); empty = none required.
    pub auth: Vec<AuthRequirement>,
}

impl State {
    fn new() -> State {
        State {
            pets: BTreeMap::new(),
            orders: BTreeMap::new(),
            users: BTreeMap::new(),
            images: BTreeMap::new(),
            faults: Vec::new(),
            requests: Vec::new(),
            next_pet_id: 1,
            next_order_id: 1,
            next_session: 1,
            next_seq: 0,
            auth: Vec::new(),
        }
    }

    /// A fresh pet id: monotonically increasing from 1, skipping ids already taken.
    pub(crate) fn assign_pet_id(&mut self) -> i64 {
        next_free(&mut self.next_pet_id, |id| self.pets.contains_key(&id))
    }

    /// A fresh order id, like [`State::assign_pet_id`].
    pub(crate) fn assign_order_id(&mut self) -> i64 {
        next_free(&mut self.next_order_id, |id| self.orders.contains_key(&id))
    }
}

fn next_free(counter: &mut i64, taken: impl Fn(i64) -> bool) -> i64 {
    while taken(*counter) {
        *counter = counter.saturating_add(1);
    }
    let id = *counter;
    *counter = counter.saturating_add(1);
    id
}

/// Cheap-to-clone handle to the server's shared state.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Mutex<State>>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    /// An empty store (ids start at 1).
    pub fn new() -> Store {
        Store {
            inner: Arc::new(Mutex::new(State::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` with exclusive access to the state.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.lock())
    }

    /// The stored pet with `id`.
    pub fn pet(&self, id: i64) -> Option<Value> {
        self.lock().pets.get(&id).cloned()
    }

    /// All pets, ordered by id.
    pub fn pets(&self) -> Vec<Value> {
        self.lock().pets.values().cloned().collect()
    }

    /// Raw write of a pet, bypassing validation (e.g. to edit behind the operator's back).
    /// The key is the integer `id` field; when it is missing (or not an integer, or `pet` is not an
    /// object) a fresh id is assigned and written into the object.
    pub fn put_pet(&self, pet: Value) {
        let mut state = self.lock();
        let id = match pet.get("id").and_then(Value::as_i64) {
            Some(id) => id,
            None => state.assign_pet_id(),
        };
        state.pets.insert(id, with_key(pet, "id", Value::from(id)));
    }

    /// Removes a pet (and its images); `false` if it did not exist.
    pub fn remove_pet(&self, id: i64) -> bool {
        let mut state = self.lock();
        state.images.remove(&id);
        state.pets.remove(&id).is_some()
    }

    /// Images uploaded for pet `id`, in upload order.
    pub fn pet_images(&self, id: i64) -> Vec<StoredImage> {
        self.lock().images.get(&id).cloned().unwrap_or_default()
    }

    /// The stored order with `id`.
    pub fn order(&self, id: i64) -> Option<Value> {
        self.lock().orders.get(&id).cloned()
    }

    /// All orders, ordered by id.
    pub fn orders(&self) -> Vec<Value> {
        self.lock().orders.values().cloned().collect()
    }

    /// Raw write of an order, keyed like [`Store::put_pet`].
    pub fn put_order(&self, order: Value) {
        let mut state = self.lock();
        let id = match order.get("id").and_then(Value::as_i64) {
            Some(id) => id,
            None => state.assign_order_id(),
        };
        state.orders.insert(id, with_key(order, "id", Value::from(id)));
    }

    /// Removes an order; `false` if it did not exist.
    pub fn remove_order(&self, id: i64) -> bool {
        self.lock().orders.remove(&id).is_some()
    }

    /// The stored user named `username`.
    pub fn user(&self, username: &str) -> Option<Value> {
        self.lock().users.get(username).cloned()
    }

    /// All users, ordered by username.
    pub fn users(&self) -> Vec<Value> {
        self.lock().users.values().cloned().collect()
    }

    /// Raw write of a user keyed by its string `username` field; ignored (with a warning) without one.
    pub fn put_user(&self, user: Value) {
        match user.get("username").and_then(Value::as_str) {
            Some(name) => {
                let name = name.to_owned();
                self.lock().users.insert(name, user);
            }
            None => tracing::warn!(%user, "put_user: value has no string `username`; ignored"),
        }
    }

    /// Removes a user; `false` if it did not exist.
    pub fn remove_user(&self, username: &str) -> bool {
        self.lock().users.remove(username).is_some()
    }

    /// Adds a fault rule (after existing ones: earlier rules win). Invalid statuses answer 500.
    pub fn inject_fault(&self, fault: Fault) {
        if let Err(err) = fault.check() {
            tracing::warn!(%err, "injected fault will be answered as best effort");
        }
        self.lock().faults.push(fault);
    }

    /// The active fault rules.
    pub fn faults(&self) -> Vec<Fault> {
        self.lock().faults.clone()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// The API request log (excludes `/__admin/*` and `/healthz`), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().map(|(_, r)| r.clone()).collect()
    }

    /// How many recorded requests had `method` (case-insensitive) and `path`; `path` may be given
    /// with or without the `/api/v3` prefix.
    pub fn request_count(&self, method: &str, path: &str) -> usize {
        let full = format!("{}{path}", crate::BASE_PATH);
        self.lock()
            .requests
            .iter()
            .filter(|(_, r)| r.method.eq_ignore_ascii_case(method) && (r.path == path || r.path == full))
            .count()
    }

    /// Clears all data, faults, the request log and id/session counters.
    pub fn reset(&self) {
        let mut state = self.lock();
        let next_seq = state.next_seq;
        *state = State::new();
        state.next_seq = next_seq;
    }

    /// Requires every API request (under `/api/v3`) to carry one of `requirements`; an empty list
    /// turns enforcement off. Takes effect for the next request (rotation).
    pub fn require_auth(&self, requirements: Vec<AuthRequirement>) {
        self.lock().auth = requirements;
    }

    /// The credentials API requests must carry (any one of them).
    pub fn auth(&self) -> Vec<AuthRequirement> {
        self.lock().auth.clone()
    }

    /// A consuming take of the first fault matching `method` + `path`, decrementing its budget.
    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut state = self.lock();
        let index = state.faults.iter().position(|f| f.matches(method, path))?;
        let fault = state.faults[index].clone();
        if let Some(remaining) = state.faults[index].remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                state.faults.remove(index);
            }
        }
        Some(fault)
    }

    /// Appends a request to the log; returns its sequence number for [`Store::record_finish`].
    pub(crate) fn record_start(&self, request: RecordedRequest) -> u64 {
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.requests.push((seq, request));
        seq
    }

    /// Fills in the status of a logged request (no-op if the log was reset meanwhile).
    pub(crate) fn record_finish(&self, seq: u64, status: u16) {
        let mut state = self.lock();
        if let Some((_, request)) = state.requests.iter_mut().rev().find(|(s, _)| *s == seq) {
            request.status = status;
        }
    }
}

/// Sets `key` on a JSON object (replacing a non-object with a fresh object holding just `key`).
fn with_key(value: Value, key: &str, key_value: Value) -> Value {
    let mut map = match value {
        Value::Object(map) => map,
        other => {
            tracing::warn!(%other, "raw store write of a non-object; storing an empty object");
            Map::new()
        }
    };
    if map.get(key) != Some(&key_value) {
        map.insert(key.to_owned(), key_value);
    }
    Value::Object(map)
}
