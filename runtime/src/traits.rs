//! The contract between generated operator code and the runtime: static HTTP descriptors and the traits generated kinds implement.
//!
//! Generated code is data plus trait impls. A generated Resource kind (e.g. `Pet`) is a
//! `kube::CustomResource` whose spec flattens [`ResourceControls`] next to the API's body fields, whose
//! status is [`ResourceStatus`], and which implements [`RestResource`] by pointing at a `static`
//! [`ResourceDescriptor`]. Everything that *does* something (HTTP, drift, status, finalizers,
//! requeue) lives in the runtime and reads only these descriptors.
//!
//! Nothing in this module performs I/O.

use crate::aggregate::{AggregateSpec, AggregateStatus};
use crate::controls::{BinaryPayload, ResourceControls, RunControls};
use crate::run_status::{ActionStatus, QueryStatus};
use crate::status::ResourceStatus;

/// HTTP method the runtime uses to correct drift on an existing backend object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateMethod {
    /// `PATCH` with `Content-Type: application/merge-patch+json`.
    Patch,
    /// `PUT` of the complete desired object.
    Put,
    /// `POST` of the complete desired object (APIs whose create is an upsert).
    Post,
}

/// Binds an API parameter (path or query) to a field of the CR spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParamBinding {
    /// Parameter name as written in the OpenAPI spec (`petId`, `status`).
    pub name: &'static str,
    /// JSON name of the spec field that carries the value.
    pub field: &'static str,
}

/// One HTTP operation on the backend: a path template plus the query parameters it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationDescriptor {
    /// Path template relative to the backend base URL, e.g. `/pet/{petId}`.
    /// `{param}` placeholders are filled from [`ResourceDescriptor::id_param`] (the object id) or
    /// from [`ResourceDescriptor::path_params`].
    pub path: &'static str,
    /// Query parameters this operation accepts, bound to spec fields. Arrays are sent as repeated
    /// keys; `false`, `0` and `""` are sent when the field is set.
    pub query: &'static [ParamBinding],
}

/// How drift is corrected: the method plus the operation it is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpdateDescriptor {
    /// HTTP method.
    pub method: UpdateMethod,
    /// Target operation. For `PUT /pet` (Petstore) the path has no id placeholder and the id
    /// travels in the body.
    pub operation: OperationDescriptor,
}

/// Static description of a REST resource: where it lives and how its spec maps to requests.
///
/// Emitted by the generator as a `static` per Resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceDescriptor {
    /// Kubernetes kind (`Pet`).
    pub kind: &'static str,
    /// Name of the path parameter that identifies one object (`petId`).
    pub id_param: &'static str,
    /// JSON name of the body/spec field that carries the id (`id` for Pet, `username` for User),
    /// when the id is part of the object. `None` when the id only exists in the path; the runtime
    /// then reads `id`, `ID` or `Id` from the create response.
    pub id_field: Option<&'static str>,
    /// Path parameters other than the id, bound to spec fields (`/users/{userId}/posts/{postId}`
    /// binds `userId`).
    pub path_params: &'static [ParamBinding],
    /// Create: `POST` to the collection.
    pub create: Option<OperationDescriptor>,
    /// Read one object: `GET` on the item path.
    pub read: OperationDescriptor,
    /// Drift correction, in order of preference PATCH, PUT, POST; `None` when the API cannot update.
    pub update: Option<UpdateDescriptor>,
    /// Delete one object: `DELETE` on the item path.
    pub delete: Option<OperationDescriptor>,
    /// JSON names of the spec fields that form the request body, in schema order.
    pub body_fields: &'static [&'static str],
    /// JSON names of fields the API owns (`readOnly` in the spec): never sent, ignored by drift.
    pub read_only_fields: &'static [&'static str],
    /// Fields never reported as drift for this kind (JSON pointers such as `/status`, from the
    /// generator config `kinds.<Kind>.ignoreFields`); CRs add their own with `spec.ignoreFields`.
    pub ignore_fields: &'static [&'static str],
}

/// Implemented by every generated Resource kind; binds the kind to the generic resource reconciler.
///
/// The serialized `spec` of the CR is the source of truth for request bodies: the runtime keeps the
/// keys listed in [`ResourceDescriptor::body_fields`] and reads parameters through
/// [`ParamBinding`]s, so generated code never builds a request itself.
pub trait RestResource:
    kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + kube::CustomResourceExt
    + kube::core::object::HasSpec<Spec: serde::Serialize>
    + kube::core::object::HasStatus<Status = ResourceStatus>
    + Clone
    + std::fmt::Debug
    + serde::Serialize
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The HTTP binding of this kind.
    const DESCRIPTOR: &'static ResourceDescriptor;

    /// Operator controls embedded in the spec (target, interval, …).
    fn controls(&self) -> &ResourceControls;

    /// Current status, if any has been written (from the derived `HasStatus`; not generated).
    fn resource_status(&self) -> Option<&ResourceStatus> {
        self.status()
    }
}

/// Static description of a Query kind: one `GET` whose parameters come from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryDescriptor {
    /// Kubernetes kind (`PetFindbystatusQuery`).
    pub kind: &'static str,
    /// The `GET` operation: path template and query parameters bound to spec fields.
    pub operation: OperationDescriptor,
    /// Path parameters bound to spec fields (every `{param}` of the path).
    pub path_params: &'static [ParamBinding],
}

/// HTTP method of an Action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionMethod {
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
}

/// How an Action's request body is built from its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionBody {
    /// No body.
    None,
    /// A JSON object of these spec fields (JSON names, schema order); unset fields are left out.
    Json {
        /// JSON names of the spec fields that form the body.
        fields: &'static [&'static str],
    },
    /// The JSON value of one spec field is the whole body (array bodies such as
    /// `/user/createWithList`, or a scalar body).
    JsonField {
        /// JSON name of the spec field.
        field: &'static str,
    },
    /// `application/x-www-form-urlencoded` of these spec fields.
    Form {
        /// JSON names of the spec fields, which are also the form field names.
        fields: &'static [&'static str],
    },
    /// `application/octet-stream`: the bytes of the spec's [`crate::controls::BinaryPayload`].
    OctetStream,
    /// `multipart/form-data`: the payload bytes as the part `file_part`, plus one text part per
    /// field in `fields` that is set (non-string values JSON-encoded).
    Multipart {
        /// Name of the file part (`file`).
        file_part: &'static str,
        /// JSON names of the spec fields sent as text parts.
        fields: &'static [&'static str],
    },
}

/// Static description of an Action kind: one `POST` or `PUT` run once per spec generation (or
/// periodically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionDescriptor {
    /// Kubernetes kind (`PetUploadimageAction`).
    pub kind: &'static str,
    /// HTTP method.
    pub method: ActionMethod,
    /// Path template and query parameters (sent in the query string, never in the body).
    pub operation: OperationDescriptor,
    /// Path parameters bound to spec fields (the parent id first).
    pub path_params: &'static [ParamBinding],
    /// How the body is built.
    pub body: ActionBody,
}

/// Implemented by every generated Query kind; binds it to the generic query reconciler.
///
/// The status is [`QueryStatus<Self::Results>`](crate::run_status::QueryStatus); parameters are
/// read from the serialized spec through [`ParamBinding`]s.
pub trait QueryResource:
    kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + kube::CustomResourceExt
    + kube::core::object::HasSpec<Spec: serde::Serialize>
    + Clone
    + std::fmt::Debug
    + serde::Serialize
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// Typed results: the API's 200/201 response schema (`Vec<models::Pet>`), or
    /// `serde_json::Value` when it documents none.
    type Results: serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug
        + PartialEq
        + Send
        + Sync
        + 'static;

    /// The HTTP binding of this kind.
    const DESCRIPTOR: &'static QueryDescriptor;

    /// Operator controls embedded in the spec.
    fn controls(&self) -> &RunControls;

    /// Current status, if any has been written.
    fn query_status(&self) -> Option<&QueryStatus<Self::Results>>;
}

/// Implemented by every generated Action kind; binds it to the generic action reconciler.
pub trait ActionResource:
    kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + kube::CustomResourceExt
    + kube::core::object::HasSpec<Spec: serde::Serialize>
    + kube::core::object::HasStatus<Status = ActionStatus>
    + Clone
    + std::fmt::Debug
    + serde::Serialize
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The HTTP binding of this kind.
    const DESCRIPTOR: &'static ActionDescriptor;

    /// Operator controls embedded in the spec.
    fn controls(&self) -> &RunControls;

    /// The binary payload, for kinds whose body is [`ActionBody::OctetStream`] or
    /// [`ActionBody::Multipart`]; `None` for every other kind.
    fn payload(&self) -> Option<&BinaryPayload> {
        None
    }
}

/// Implemented by the generated `<App>Aggregate` kind; binds it to the aggregate reconciler, which
/// watches every other kind the operator registers.
pub trait AggregateResource:
    kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + kube::CustomResourceExt
    + kube::core::object::HasStatus<Status = AggregateStatus>
    + Clone
    + std::fmt::Debug
    + serde::Serialize
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The aggregate's spec.
    fn aggregate_spec(&self) -> &AggregateSpec;
}
