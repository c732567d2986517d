//! The IR: plain, closed, ordered data describing the operator to generate. No I/O, no tokens, no templates.

pub mod naming;
pub mod types;

use serde::Serialize;

pub use types::{EnumVariant, Field, TypeDef, TypeDefKind, TypeRef, TypeSpace};

/// Everything the emitters need.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Model {
    /// Identity of the API and of the operator.
    pub api: ApiInfo,
    /// Named Rust types (shared component types and per-kind nested types), in emission order.
    pub types: TypeSpace,
    /// The kinds, in path order.
    pub crds: Vec<Crd>,
    /// Endpoints that did not become a kind, with the reason.
    pub unclassified: Vec<Unclassified>,
    /// Non-fatal findings (recursive schemas, ignored features).
    pub warnings: Vec<String>,
    /// Operations removed by the configured filters before classification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filtered: Vec<Filtered>,
}

/// API and operator identity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ApiInfo {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// `info.description` (first paragraph).
    pub description: Option<String>,
    /// The spec as given on the command line (file path or URL).
    pub spec_source: String,
    /// First DNS label of the group (`petstore`): category and name stem.
    pub app_name: String,
    /// API group (`petstore.example.com`).
    pub group: String,
    /// CRD version (`v1alpha1`).
    pub api_version: String,
    /// Operator/binary name (`petstore-operator`).
    pub operator_name: String,
    /// Cargo package name (`petstore-operator`).
    pub crate_name: String,
    /// Default backend base URL (first `servers` entry), used in docs and the Deployment placeholder.
    pub server_url: Option<String>,
    /// Path of the first `servers` entry (`/api/v3`), absolute or relative URL alike; `None` when
    /// it is empty or `/`. The API's prefix on backend endpoints discovered from workloads.
    pub base_path: Option<String>,
    /// `components.securitySchemes` the runtime can use, in declaration order (the runtime uses the
    /// first one whose keys the auth Secret has).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<SecurityScheme>,
}

/// One security scheme of the API (`components.securitySchemes`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SecurityScheme {
    /// Its name in the spec (`api_key`).
    pub name: String,
    /// How credentials are sent.
    pub kind: SecurityKind,
    /// Whether the top-level or an operation's `security` names it.
    pub referenced: bool,
}

/// How a security scheme sends credentials.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum SecurityKind {
    /// `http` `bearer`.
    Bearer,
    /// `http` `basic`.
    Basic,
    /// `apiKey` in a header, query parameter or cookie.
    ApiKey {
        /// Where.
        location: ApiKeyLocation,
        /// Header, parameter or cookie name.
        name: String,
    },
    /// `oauth2`: a bearer token from the auth Secret (no flow is run).
    OAuth2,
    /// `openIdConnect`: a bearer token from the auth Secret.
    OpenIdConnect,
    /// `mutualTLS` (OpenAPI 3.1): a client certificate from the auth Secret.
    MutualTls,
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// A header.
    Header,
    /// A query parameter.
    Query,
    /// A cookie.
    Cookie,
}

/// One CRD.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Crd {
    /// Kubernetes names.
    pub names: CrdNames,
    /// Rust module of the kind (`pet`, `user_profile`).
    pub module: String,
    /// Spec struct name (`PetSpec`).
    pub spec_type: String,
    /// Description of the kind (CRD root description).
    pub description: String,
    /// Description of the spec struct (CRD `spec` description).
    pub spec_description: String,
    /// Spec fields in schema order (body fields first, then parameters).
    pub fields: Vec<Field>,
    /// Reconciler family and HTTP binding.
    pub kind: CrdKind,
}

/// The reconciler family of a kind.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "family")]
pub enum CrdKind {
    /// A REST object kept in sync (create/read/update/delete).
    Resource(Box<ResourceOps>),
    /// A `GET` run once per spec change or periodically; results in the status.
    Query(QueryOps),
    /// A `POST`/`PUT` run once per spec change or periodically.
    Action(ActionOps),
    /// The one health view per API over every other kind.
    Aggregate,
}

impl CrdKind {
    /// `Resource`, `Query`, `Action` or `Aggregate`.
    pub fn family(&self) -> &'static str {
        match self {
            Self::Resource(_) => "Resource",
            Self::Query(_) => "Query",
            Self::Action(_) => "Action",
            Self::Aggregate => "Aggregate",
        }
    }
}

/// HTTP binding of a Query kind (mirrors the runtime's `QueryDescriptor`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QueryOps {
    /// The `GET` operation with its query parameters.
    pub operation: Operation,
    /// Path parameters bound to spec fields.
    pub path_params: Vec<ParamBinding>,
    /// Type of `status.results` (the 200/201 JSON response); `None`: free-form JSON.
    pub results: Option<TypeRef>,
}

/// HTTP binding of an Action kind (mirrors the runtime's `ActionDescriptor`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActionOps {
    /// The `POST` or `PUT` operation with its query parameters.
    pub operation: Operation,
    /// Path parameters bound to spec fields, parent id first.
    pub path_params: Vec<ParamBinding>,
    /// How the request body is built.
    pub body: ActionBody,
}

/// How an Action's request body is built (mirrors the runtime's `ActionBody`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "encoding", rename_all = "snake_case")]
pub enum ActionBody {
    /// No body.
    None,
    /// JSON object of these spec fields.
    Json {
        /// JSON names.
        fields: Vec<String>,
    },
    /// One spec field is the whole JSON body (array or scalar bodies).
    JsonField {
        /// JSON name.
        field: String,
    },
    /// `application/x-www-form-urlencoded`.
    Form {
        /// JSON names.
        fields: Vec<String>,
    },
    /// `application/octet-stream` from the binary payload fields.
    OctetStream,
    /// `multipart/form-data`: the payload as `file_part` plus text parts.
    Multipart {
        /// Name of the file part.
        file_part: String,
        /// JSON names of the text parts.
        fields: Vec<String>,
    },
}

impl ActionBody {
    /// Whether the spec carries the binary payload fields (`data`, `dataFrom`, `dataURL`, …).
    pub fn is_binary(&self) -> bool {
        matches!(self, Self::OctetStream | Self::Multipart { .. })
    }
}

/// Kubernetes names of a CRD.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CrdNames {
    /// `Pet`.
    pub kind: String,
    /// `pets`.
    pub plural: String,
    /// `pet`.
    pub singular: String,
    /// `pet`, …
    pub short_names: Vec<String>,
    /// `petstore`.
    pub categories: Vec<String>,
}

/// HTTP binding of a Resource kind (mirrors the runtime's `ResourceDescriptor`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ResourceOps {
    /// Path parameter naming one object (`petId`).
    pub id_param: String,
    /// JSON name of the spec field carrying the id, when the id is part of the body.
    pub id_field: Option<String>,
    /// Other path parameters bound to spec fields.
    pub path_params: Vec<ParamBinding>,
    /// Create operation.
    pub create: Option<Operation>,
    /// Read operation.
    pub read: Operation,
    /// Update operation.
    pub update: Option<Update>,
    /// Delete operation.
    pub delete: Option<Operation>,
    /// JSON names of spec fields sent as the body, in schema order.
    pub body_fields: Vec<String>,
    /// JSON names of `readOnly` body fields (excluded from the spec).
    pub read_only_fields: Vec<String>,
    /// Fields never reported as drift (`kinds.<Kind>.ignoreFields`), as written: JSON pointers or
    /// dotted paths, normalised by the runtime (`drift::ignore_pointer`).
    pub ignore_fields: Vec<String>,
}

/// A parameter bound to a spec field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ParamBinding {
    /// Parameter name in the spec.
    pub name: String,
    /// JSON name of the spec field.
    pub field: String,
}

/// One backend operation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Operation {
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template.
    pub path: String,
    /// `operationId`, if any.
    pub operation_id: Option<String>,
    /// Query parameters bound to spec fields.
    pub query: Vec<ParamBinding>,
}

/// Update binding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Update {
    /// Method used for drift correction.
    pub method: UpdateMethod,
    /// Target operation.
    pub operation: Operation,
}

/// Update method (runtime `UpdateMethod`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum UpdateMethod {
    /// PATCH (merge patch).
    Patch,
    /// PUT of the full object.
    Put,
    /// POST upsert.
    Post,
}

/// HTTP methods of OpenAPI path items.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// HEAD
    Head,
    /// PATCH
    Patch,
    /// TRACE
    Trace,
}

impl HttpMethod {
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Post => "POST",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Head => "HEAD",
            Self::Patch => "PATCH",
            Self::Trace => "TRACE",
        }
    }
}

/// An endpoint that did not become a kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unclassified {
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template.
    pub path: String,
    /// `operationId`, if any.
    pub operation_id: Option<String>,
    /// Why.
    pub reason: String,
}

/// An operation removed by a configured filter.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Filtered {
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template.
    pub path: String,
    /// `operationId`, if any.
    pub operation_id: Option<String>,
    /// Which filter removed it (path, then tag, then operationId are checked).
    pub by: FilteredBy,
}

/// The filter family that removed an operation.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FilteredBy {
    /// `includePaths` / `excludePaths`.
    Path,
    /// `includeTags` / `excludeTags`.
    Tag,
    /// `includeOperations` / `excludeOperations`.
    #[serde(rename = "op")]
    Operation,
}

impl FilteredBy {
    /// `path`, `tag` or `op`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Tag => "tag",
            Self::Operation => "op",
        }
    }
}
