//! openapi-operator-runtime: the hand-written behaviour every generated operator links.
//!
//! Generated crates declare types and implement [`traits::RestResource`]; this crate owns
//! reconciling, backend HTTP, drift detection, status, CRD rendering and the operator binary's
//! command line ([`commands::main`]).
#![deny(missing_docs)]

pub mod action;
pub mod aggregate;
pub mod auth;
pub mod body;
pub mod cache;
pub mod cel;
pub mod client;
pub mod commands;
pub mod context;
pub mod controls;
pub mod crd;
pub mod drift;
pub mod endpoint;
pub mod error;
pub mod events;
pub mod finalizer;
pub mod http;
pub mod leader;
pub mod limits;
pub mod operator;
pub mod payload;
pub mod query;
pub mod reconciler;
pub mod redact;
pub mod resource;
pub mod run_status;
pub mod schema;
pub mod status;
pub mod telemetry;
pub mod traits;

#[cfg(test)]
mod test_support;

pub use aggregate::{AggregateSpec, AggregateStatus};
pub use auth::{ApiKeyLocation, SecurityKind, SecurityScheme};
pub use controls::{
    AuthSecretRef, BinaryPayload, DataSource, FanOutSuccess, KeyRef, OnDeletePolicy, ResourceControls,
    RunControls, TargetSpec, TargetStrategy,
};
pub use error::{Error, Result};
pub use operator::{AppInfo, Operator};
pub use run_status::{ActionResult, ActionState, ActionStatus, QueryState, QueryStatus, TargetResponse};
pub use status::{EndpointResponse, ResourceState, ResourceStatus};
pub use traits::{
    ActionBody, ActionDescriptor, ActionMethod, ActionResource, AggregateResource, OperationDescriptor,
    ParamBinding, QueryDescriptor, QueryResource, ResourceDescriptor, RestResource, UpdateDescriptor,
    UpdateMethod,
};

// Re-exported so generated crates and their tests name one version of each.
pub use k8s_openapi;
pub use kube;
pub use schemars;
pub use serde;
pub use serde_json;
