//! Lease-based leader election (`coordination.k8s.io/v1` Lease) with client-go's semantics, so that several operator replicas can run and exactly one reconciles.
//!
//! # Expected flow
//!
//! 1. [`LeaderElector::acquire`] polls the Lease every retry period (jittered) until this process
//!    holds it. An absent Lease is created; a released one (empty `holderIdentity`) is taken at
//!    once; one held by another identity is taken only after this process has seen the same record
//!    unchanged for the record's `leaseDurationSeconds` on its own monotonic clock (client-go's
//!    `observedTime` rule: clock skew between replicas does not matter).
//! 2. The caller starts its controllers, then awaits [`LeaderElector::hold`], which renews
//!    `renewTime` every retry period and returns only when leadership is lost: no successful renewal
//!    within the renew deadline, or another identity now holds the Lease.
//! 3. On graceful shutdown the caller stops its controllers first and then calls
//!    [`LeaderElector::release`] (client-go's `ReleaseOnCancel`): `holderIdentity` is cleared and
//!    `leaseDurationSeconds` set to 1, so that a standby takes over at its next poll.
//!
//! # Guarantees
//!
//! Every write is an update with the `resourceVersion` that was read (optimistic concurrency): of
//! two candidates racing for the same record, the API server accepts one and answers `409
//! Conflict` to the other. A leader that cannot renew within the renew deadline (shorter than the
//! lease duration) reports the loss before any other candidate may take over.
//!
//! # Assumptions
//!
//! Replicas use the same lease duration or respect the one recorded in the Lease, and the process
//! stops reconciling when [`LeaderElector::hold`] returns (the operator exits).

use std::time::Duration;

use clap::Args;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::error::{Error, Result};

/// Flags of `run` that configure leader election.
#[derive(Debug, Clone, Args)]
pub struct LeaderElectionArgs {
    /// Elect a leader through a `coordination.k8s.io/v1` Lease before starting the controllers, so
    /// that several replicas can run and exactly one reconciles (the others stand by).
    #[arg(id = "leader_elect", long = "leader-elect", env = "LEADER_ELECT")]
    pub enabled: bool,
    /// Namespace of the Lease (default: `POD_NAMESPACE`, else the kubeconfig's or the service
    /// account's namespace).
    #[arg(
        id = "leader_election_namespace",
        long = "leader-election-namespace",
        value_name = "NS"
    )]
    pub namespace: Option<String>,
    /// Name of the Lease (default: `<operator name>-leader`).
    #[arg(id = "leader_election_id", long = "leader-election-id", value_name = "NAME")]
    pub id: Option<String>,
    /// How long a standby waits, after it last saw the Lease change, before it may take it over.
    #[arg(id = "leader_election_lease_duration", long = "leader-election-lease-duration", default_value = "15s", value_parser = crate::controls::parse_positive_duration)]
    pub lease_duration: Duration,
    /// How long the leader keeps retrying a failed renewal before it gives up leadership and exits;
    /// must be shorter than the lease duration.
    #[arg(id = "leader_election_renew_deadline", long = "leader-election-renew-deadline", default_value = "10s", value_parser = crate::controls::parse_positive_duration)]
    pub renew_deadline: Duration,
    /// Interval between attempts to acquire or renew the Lease; must be shorter than the renew
    /// deadline.
    #[arg(id = "leader_election_retry_period", long = "leader-election-retry-period", default_value = "2s", value_parser = crate::controls::parse_positive_duration)]
    pub retry_period: Duration,
}

impl LeaderElectionArgs {
    /// The election configuration these flags describe, or `None` without `--leader-elect`.
    /// `operator` names the default Lease (`<operator>-leader`); `default_namespace` is used when
    /// neither the flag nor `POD_NAMESPACE` names one.
    ///
    /// # Errors
    ///
    /// [`Error::Startup`] when the durations are inconsistent (see [`LeaderElectionConfig::validate`]).
    pub fn config(&self, operator: &str, default_namespace: &str) -> Result<Option<LeaderElectionConfig>> {
        if !self.enabled {
            return Ok(None);
        }
        let namespace = non_empty(self.namespace.clone())
            .or_else(|| non_empty(std::env::var("POD_NAMESPACE").ok()))
            .unwrap_or_else(|| default_namespace.to_owned());
        let config = LeaderElectionConfig {
            namespace,
            name: non_empty(self.id.clone()).unwrap_or_else(|| format!("{operator}-leader")),
            identity: default_identity(),
            lease_duration: self.lease_duration,
            renew_deadline: self.renew_deadline,
            retry_period: self.retry_period,
        };
        config.validate()?;
        Ok(Some(config))
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `POD_NAME`, else the host name, plus `_` and a random suffix, so that two processes on one host
/// (or a restarted pod) never share an identity.
pub fn default_identity() -> String {
    let base = non_empty(std::env::var("POD_NAME").ok())
        .or_else(|| non_empty(std::env::var("HOSTNAME").ok()))
        .or_else(|| non_empty(std::fs::read_to_string("/proc/sys/kernel/hostname").ok()))
        .or_else(|| non_empty(std::fs::read_to_string("/etc/hostname").ok()))
        .unwrap_or_else(|| "operator".to_owned());
    format!("{base}_{:016x}", rand::random::<u64>())
}

/// What one process needs to take part in an election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This process's `holderIdentity`; unique per process.
    pub identity: String,
    /// How long a standby waits after the last observed change before taking over; recorded in
    /// the Lease as `leaseDurationSeconds` (rounded up to whole seconds).
    pub lease_duration: Duration,
    /// How long the leader may fail to renew before it reports the loss.
    pub renew_deadline: Duration,
    /// Interval between attempts.
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Checks `0 < retry period < renew deadline < lease duration`.
    ///
    /// # Errors
    ///
    /// [`Error::Startup`] naming the flags that are inconsistent.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: String| Error::Startup {
            what: "leader election flags",
            reason,
        };
        if self.retry_period.is_zero() {
            return Err(invalid(
                "--leader-election-retry-period must be positive".to_owned(),
            ));
        }
        if self.renew_deadline >= self.lease_duration {
            return Err(invalid(format!(
                "--leader-election-renew-deadline ({}) must be shorter than --leader-election-lease-duration ({})",
                crate::error::human_duration(self.renew_deadline),
                crate::error::human_duration(self.lease_duration)
            )));
        }
        if self.retry_period >= self.renew_deadline {
            return Err(invalid(format!(
                "--leader-election-retry-period ({}) must be shorter than --leader-election-renew-deadline ({})",
                crate::error::human_duration(self.retry_period),
                crate::error::human_duration(self.renew_deadline)
            )));
        }
        if self.name.trim().is_empty() || self.namespace.trim().is_empty() {
            return Err(invalid(
                "the Lease name and namespace must not be empty".to_owned(),
            ));
        }
        Ok(())
    }

    /// `namespace/name` of the Lease.
    pub fn lease(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The lease duration as recorded in the Lease: whole seconds, rounded up, at least 1.
    pub fn lease_duration_seconds(&self) -> i32 {
        let secs = self.lease_duration.as_secs_f64().ceil();
        if secs >= f64::from(i32::MAX) {
            i32::MAX
        } else {
            (secs as i32).max(1)
        }
    }
}

/// A read-only view of one process's leadership, for `/readyz`.
#[derive(Debug, Clone)]
pub struct Leadership {
    lease: String,
    leading: watch::Receiver<bool>,
}

impl Leadership {
    /// `namespace/name` of the Lease.
    pub fn lease(&self) -> &str {
        &self.lease
    }

    /// Whether this process currently holds the Lease.
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }
}

/// Result of one acquire-or-renew attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// This process holds the Lease (acquired or renewed it just now).
    Leading,
    /// Another identity holds a Lease that has not expired on this process's clock.
    HeldBy(String),
}

/// The last Lease record this process saw, and when (on its own monotonic clock).
#[derive(Debug, Clone)]
struct Observed {
    spec: LeaseSpec,
    at: Instant,
}

/// One process's participant in a Lease election. See the module documentation for the protocol.
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    observed: Option<Observed>,
    /// The Lease as last written by this process while it leads (fast-path renewals reuse its
    /// `resourceVersion`).
    held: Option<Lease>,
    /// When the last successful acquire or renew started.
    renewed_at: Option<Instant>,
    leading: watch::Sender<bool>,
}

impl LeaderElector {
    /// A participant with `config` (assumed valid, see [`LeaderElectionConfig::validate`]).
    pub fn new(client: kube::Client, config: LeaderElectionConfig) -> Self {
        let api = Api::namespaced(client, &config.namespace);
        LeaderElector {
            api,
            config,
            observed: None,
            held: None,
            renewed_at: None,
            leading: watch::channel(false).0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LeaderElectionConfig {
        &self.config
    }

    /// A view of this participant's leadership that follows it.
    pub fn leadership(&self) -> Leadership {
        Leadership {
            lease: self.config.lease(),
            leading: self.leading.subscribe(),
        }
    }

    /// Whether this participant holds the Lease (as of its last attempt).
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    fn set_leading(&self, leading: bool) {
        self.leading.send_if_modified(|current| {
            let changed = *current != leading;
            *current = leading;
            changed
        });
    }

    fn observe(&mut self, spec: &LeaseSpec, now: Instant) {
        if self.observed.as_ref().is_none_or(|o| o.spec != *spec) {
            self.observed = Some(Observed {
                spec: spec.clone(),
                at: now,
            });
        }
    }

    fn record(&self, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let now = Some(MicroTime(jiff::Timestamp::now()));
        let mine = previous.filter(|p| p.holder_identity.as_deref() == Some(self.config.identity.as_str()));
        let (acquire_time, transitions) = match (mine, previous) {
            (Some(p), _) => (
                p.acquire_time.clone().or_else(|| now.clone()),
                p.lease_transitions.unwrap_or(0),
            ),
            (None, Some(p)) => (now.clone(), p.lease_transitions.unwrap_or(0).saturating_add(1)),
            (None, None) => (now.clone(), 0),
        };
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_duration_seconds()),
            acquire_time,
            renew_time: now,
            lease_transitions: Some(transitions),
            ..previous.cloned().unwrap_or_default()
        }
    }

    fn took(&mut self, lease: Lease, now: Instant) -> Attempt {
        if let Some(spec) = &lease.spec {
            self.observe(spec, now);
        }
        self.held = Some(lease);
        Attempt::Leading
    }

    /// One attempt to acquire or renew the Lease (client-go's `tryAcquireOrRenew`).
    ///
    /// # Errors
    ///
    /// [`Error::Kube`] when the API call fails, notably with `409 Conflict` when another process
    /// wrote the Lease first ([`Error::is_conflict`]).
    pub async fn try_acquire_or_renew(&mut self) -> Result<Attempt> {
        let pp = PostParams::default();
        // Fast path: the leader updates the Lease it wrote last, without reading it first.
        if let Some(mut lease) = self.held.take() {
            lease.spec = Some(self.record(lease.spec.as_ref()));
            match self.api.replace(&self.config.name, &pp, &lease).await {
                Ok(updated) => return Ok(self.took(updated, Instant::now())),
                Err(e) => {
                    debug!(error = %e, lease = %self.config.lease(), "fast renewal failed; reading the Lease")
                }
            }
        }
        let current = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|source| Error::Kube {
                action: "get lease",
                source,
            })?;
        let now = Instant::now();
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.record(None)),
            };
            let created = self.api.create(&pp, &lease).await.map_err(|source| Error::Kube {
                action: "create lease",
                source,
            })?;
            return Ok(self.took(created, now));
        };
        let spec = lease.spec.clone().unwrap_or_default();
        self.observe(&spec, now);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if !holder.is_empty() && holder != self.config.identity && self.observed_lease_valid(now) {
            return Ok(Attempt::HeldBy(holder));
        }
        lease.spec = Some(self.record(Some(&spec)));
        let updated = self
            .api
            .replace(&self.config.name, &pp, &lease)
            .await
            .map_err(|source| Error::Kube {
                action: "update lease",
                source,
            })?;
        Ok(self.took(updated, now))
    }

    /// Whether the observed record has not expired yet: it was first seen less than its
    /// `leaseDurationSeconds` (else this process's lease duration) ago on this process's clock.
    fn observed_lease_valid(&self, now: Instant) -> bool {
        self.observed.as_ref().is_some_and(|o| {
            let duration = o
                .spec
                .lease_duration_seconds
                .filter(|s| *s > 0)
                .map_or(self.config.lease_duration, |s| {
                    Duration::from_secs(s.unsigned_abs().into())
                });
            o.at + duration > now
        })
    }

    /// Polls until this process holds the Lease (`Ok(true)`) or `stop` flips to `true` first
    /// (`Ok(false)`). Failed attempts (API errors, lost races) are logged and retried.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for fatal configuration errors.
    pub async fn acquire(&mut self, stop: &mut watch::Receiver<bool>) -> Result<bool> {
        let lease = self.config.lease();
        info!(lease = %lease, identity = %self.config.identity, "waiting for leadership");
        let mut last_holder = String::new();
        loop {
            if *stop.borrow() {
                return Ok(false);
            }
            let started = Instant::now();
            match tokio::time::timeout(self.config.renew_deadline, self.try_acquire_or_renew()).await {
                Ok(Ok(Attempt::Leading)) => {
                    self.renewed_at = Some(started);
                    self.set_leading(true);
                    info!(lease = %lease, identity = %self.config.identity, "acquired leadership");
                    return Ok(true);
                }
                Ok(Ok(Attempt::HeldBy(holder))) => {
                    if holder != last_holder {
                        info!(lease = %lease, holder = %holder, "standing by: the lease is held by another replica");
                        last_holder = holder;
                    }
                }
                Ok(Err(e)) if e.is_conflict() => {
                    debug!(lease = %lease, error = %e, "another replica wrote the lease first");
                }
                Ok(Err(e)) => warn!(lease = %lease, error = %e, "cannot acquire the lease; retrying"),
                Err(_) => warn!(lease = %lease, "acquiring the lease timed out; retrying"),
            }
            let jittered = self
                .config
                .retry_period
                .mul_f64(1.0 + rand::random_range(0.0..1.2));
            tokio::select! {
                () = tokio::time::sleep(jittered) => {}
                // A dropped sender can never ask to stop: that branch is then disabled.
                Ok(_) = stop.wait_for(|s| *s) => return Ok(false),
            }
        }
    }

    /// While this process leads: renews the Lease every retry period. Returns only when leadership
    /// is lost — no successful renewal within the renew deadline, or another identity holds the
    /// Lease — as [`Error::LeadershipLost`]. Cancel (drop) the future to stop renewing.
    pub async fn hold(&mut self) -> Error {
        let lease = self.config.lease();
        let mut renewed_at = self.renewed_at.unwrap_or_else(Instant::now);
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            let deadline = renewed_at + self.config.renew_deadline;
            let started = Instant::now();
            let outcome = match deadline.checked_duration_since(started) {
                Some(left) if !left.is_zero() => {
                    tokio::time::timeout(left, self.try_acquire_or_renew()).await
                }
                _ => {
                    return self.lost(format!(
                        "no successful renewal within the renew deadline ({})",
                        crate::error::human_duration(self.config.renew_deadline)
                    ));
                }
            };
            match outcome {
                Ok(Ok(Attempt::Leading)) => {
                    renewed_at = started;
                    self.renewed_at = Some(started);
                }
                Ok(Ok(Attempt::HeldBy(holder))) => {
                    return self.lost(format!("the lease is now held by {holder}"));
                }
                Ok(Err(e)) => {
                    warn!(lease = %lease, error = %e, "renewing the lease failed; retrying until the renew deadline")
                }
                Err(_) => {
                    return self.lost(format!(
                        "no successful renewal within the renew deadline ({})",
                        crate::error::human_duration(self.config.renew_deadline)
                    ));
                }
            }
        }
    }

    fn lost(&mut self, reason: String) -> Error {
        self.held = None;
        self.renewed_at = None;
        self.set_leading(false);
        let lease = self.config.lease();
        error!(lease = %lease, identity = %self.config.identity, reason = %reason, "leadership lost");
        Error::LeadershipLost { lease, reason }
    }

    /// Gives up the Lease if this process holds it: clears `holderIdentity` and sets
    /// `leaseDurationSeconds` to 1, so that a standby takes over at its next attempt. Call it after
    /// the controllers stopped.
    ///
    /// # Errors
    ///
    /// [`Error::Kube`] when the Lease cannot be read or written (another replica then takes over
    /// once the lease expires).
    pub async fn release(&mut self) -> Result<()> {
        self.held = None;
        self.renewed_at = None;
        let was_leader = *self.leading.borrow();
        self.set_leading(false);
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|source| Error::Kube {
                action: "get lease",
                source,
            })?
        else {
            return Ok(());
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        let now = Some(MicroTime(jiff::Timestamp::now()));
        lease.spec = Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: now.clone(),
            renew_time: now,
            lease_transitions: spec.lease_transitions,
            ..spec
        });
        self.api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
            .map_err(|source| Error::Kube {
                action: "release lease",
                source,
            })?;
        if was_leader {
            info!(lease = %self.config.lease(), identity = %self.config.identity, "released leadership");
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "leader_tests.rs"]
mod tests;
