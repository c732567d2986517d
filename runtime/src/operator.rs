//! The `Operator` value a generated crate builds: its identity plus the kinds it reconciles.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use crate::traits::{ActionResource, AggregateResource, QueryResource, RestResource};

/// Identity of a generated operator, emitted by the generator as a `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppInfo {
    /// Operator name, e.g. `petstore-operator` (binary, Deployment, field manager).
    pub name: &'static str,
    /// API group of every CRD, e.g. `petstore.example.com`.
    pub group: &'static str,
    /// API version of every CRD, e.g. `v1alpha1`.
    pub version: &'static str,
    /// Version of openapi-operator-gen that generated the crate.
    pub generator_version: &'static str,
}

impl AppInfo {
    /// Finalizer the operator puts on CRs whose backend object it must clean up.
    pub fn finalizer(&self) -> String {
        format!("{}/finalizer", self.group)
    }
}

/// One registered kind: how to print its CRD and how to run its controller.
#[derive(Clone, Copy)]
pub struct KindRegistration {
    /// Kubernetes kind.
    pub kind: &'static str,
    /// CRD of the kind (from `kube::CustomResourceExt::crd`).
    pub crd: fn() -> CustomResourceDefinition,
    /// Which reconciler family drives the kind.
    pub family: KindFamily,
}

impl KindRegistration {
    /// The kind's `ApiResource` (group, version, plural), taken from its CRD; used to list and watch
    /// it dynamically (aggregates).
    pub fn api_resource(&self) -> kube::core::ApiResource {
        let crd = (self.crd)();
        let version = crd
            .spec
            .versions
            .first()
            .map(|v| v.name.clone())
            .unwrap_or_default();
        kube::core::ApiResource {
            group: crd.spec.group.clone(),
            version: version.clone(),
            api_version: format!("{}/{version}", crd.spec.group),
            kind: crd.spec.names.kind.clone(),
            plural: crd.spec.names.plural.clone(),
        }
    }
}

impl std::fmt::Debug for KindRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindRegistration")
            .field("kind", &self.kind)
            .field("family", &self.family)
            .finish()
    }
}

/// Reconciler family of a kind, carrying the monomorphised entry point.
#[derive(Clone, Copy)]
pub enum KindFamily {
    /// A REST resource kept in sync by [`crate::resource`].
    Resource(crate::resource::ControllerFn),
    /// A GET run once or periodically by [`crate::query`].
    Query(crate::resource::ControllerFn),
    /// A POST/PUT run once per generation or periodically by [`crate::action`].
    Action(crate::resource::ControllerFn),
    /// The health view over every other kind, computed by [`crate::aggregate::reconcile`].
    Aggregate(crate::resource::ControllerFn),
}

impl std::fmt::Debug for KindFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KindFamily::Resource(_) => f.write_str("Resource"),
            KindFamily::Query(_) => f.write_str("Query"),
            KindFamily::Action(_) => f.write_str("Action"),
            KindFamily::Aggregate(_) => f.write_str("Aggregate"),
        }
    }
}

/// A generated operator: identity plus registered kinds. Built in the generated `lib.rs` and handed
/// to [`crate::commands::main`].
#[derive(Debug, Clone)]
pub struct Operator {
    /// Identity.
    pub info: AppInfo,
    /// Registered kinds, in registration order.
    pub kinds: Vec<KindRegistration>,
    /// Path prefix of the API on discovered backend endpoints (the path of the OpenAPI spec's
    /// `servers[0].url`, e.g. `/api/v3`); `--backend-base-path` overrides it. `None`: no prefix.
    pub backend_base_path: Option<&'static str>,
    /// The API's security schemes in declaration order (`components.securitySchemes`): how
    /// credentials from the auth Secret are sent (see [`crate::auth`]). Empty: bearer, then basic.
    pub security: &'static [crate::auth::SecurityScheme],
}

impl Operator {
    /// An operator with no kinds yet.
    pub fn new(info: AppInfo) -> Self {
        Self {
            info,
            kinds: Vec::new(),
            backend_base_path: None,
            security: &[],
        }
    }

    /// Sets [`Operator::security`]: the API's security schemes, in declaration order.
    #[must_use]
    pub fn security(mut self, schemes: &'static [crate::auth::SecurityScheme]) -> Self {
        self.security = schemes;
        self
    }

    /// Sets [`Operator::backend_base_path`]: the API's path prefix on discovered endpoints (the
    /// path of the spec's `servers[0].url`, e.g. `/api/v3`).
    #[must_use]
    pub fn with_backend_base_path(mut self, path: &'static str) -> Self {
        self.backend_base_path = Some(path);
        self
    }

    /// Registers a Resource kind, reconciled by the generic resource reconciler.
    #[must_use]
    pub fn resource<K: RestResource>(mut self) -> Self {
        self.kinds.push(KindRegistration {
            kind: K::DESCRIPTOR.kind,
            crd: K::crd,
            family: KindFamily::Resource(crate::resource::controller_fn::<K>()),
        });
        self
    }

    /// Registers a Query kind, run by the generic query reconciler.
    #[must_use]
    pub fn query<K: QueryResource>(mut self) -> Self {
        self.kinds.push(KindRegistration {
            kind: K::DESCRIPTOR.kind,
            crd: K::crd,
            family: KindFamily::Query(crate::query::controller_fn::<K>()),
        });
        self
    }

    /// Registers an Action kind, run by the generic action reconciler.
    #[must_use]
    pub fn action<K: ActionResource>(mut self) -> Self {
        self.kinds.push(KindRegistration {
            kind: K::DESCRIPTOR.kind,
            crd: K::crd,
            family: KindFamily::Action(crate::action::controller_fn::<K>()),
        });
        self
    }

    /// Registers the Aggregate kind. It aggregates every other registered kind, whatever the order
    /// of registration.
    #[must_use]
    pub fn aggregate<K: AggregateResource>(mut self) -> Self {
        self.kinds.push(KindRegistration {
            kind: match K::kind(&()) {
                std::borrow::Cow::Borrowed(kind) => kind,
                std::borrow::Cow::Owned(kind) => kind.leak(),
            },
            crd: K::crd,
            family: KindFamily::Aggregate(crate::aggregate::reconcile::controller_fn::<K>()),
        });
        self
    }

    /// CRDs of every registered kind, in registration order.
    pub fn crds(&self) -> Vec<CustomResourceDefinition> {
        self.kinds.iter().map(|k| (k.crd)()).collect()
    }
}
