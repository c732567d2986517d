//! Query, Action and Aggregate kinds → `src/resources/<kind>.rs`: spec struct with `#[derive(CustomResource)]`, result types, the static descriptor and the runtime trait impl.

use proc_macro2::TokenStream;
use quote::quote;

use super::resource::{bindings, descriptor_ident, operation};
use super::types::{field, ident, plain, rust_type, rustdoc, schema_description, type_def};
use crate::error::{Error, Result};
use crate::model::{ActionBody, Crd, CrdKind, HttpMethod, Model};

/// Tokens of the whole kind module of a Query, Action or Aggregate kind.
pub fn kind_file(model: &Model, crd: &Crd) -> Result<TokenStream> {
    match &crd.kind {
        CrdKind::Query(_) | CrdKind::Action(_) => run_file(model, crd),
        CrdKind::Aggregate => aggregate_file(model, crd),
        CrdKind::Resource(_) => Err(Error::Emit {
            file: format!("src/resources/{}.rs", crd.module),
            reason: format!("{} is a Resource kind", crd.names.kind),
        }),
    }
}

/// The `#[kube(...)]` attribute shared by every family.
fn kube_attr(model: &Model, crd: &Crd, status: &TokenStream, columns: &[&str]) -> TokenStream {
    let n = &crd.names;
    let kind = &n.kind;
    let group = &model.api.group;
    let version = &model.api.api_version;
    let plural = &n.plural;
    let status = status.to_string().replace(' ', "");
    let shortnames = n.short_names.iter().map(|s| quote! { shortname = #s, });
    let categories = n.categories.iter().map(|c| quote! { category = #c, });
    let doc = &crd.description;
    let root = super::types::kind_root_attr(kind);
    quote! {
        #[kube(
            group = #group,
            version = #version,
            kind = #kind,
            #root
            plural = #plural,
            namespaced,
            status = #status,
            #(#shortnames)*
            #(#categories)*
            #(printcolumn = #columns,)*
            derive = "PartialEq",
            doc = #doc
        )]
    }
}

fn run_file(model: &Model, crd: &Crd) -> Result<TokenStream> {
    let module = crd.module.as_str();
    let kind = &crd.names.kind;
    let kind_ident = super::types::kind_struct(kind)?;
    let spec = ident(&crd.spec_type)?;
    let fields = crd
        .fields
        .iter()
        .map(|f| field(f, &model.types, Some(module)))
        .collect::<Result<Vec<_>>>()?;
    let nested = model
        .types
        .in_module(Some(module))
        .map(|t| type_def(t, &model.types))
        .collect::<Result<Vec<_>>>()?;
    let spec_doc = rustdoc(Some(&crd.spec_description));
    let spec_schema = schema_description(Some(&crd.spec_description));
    let descriptor = descriptor_ident(crd);
    let kind_str = kind.as_str();

    let tokens = match &crd.kind {
        CrdKind::Query(ops) => {
            let results = match &ops.results {
                Some(ty) => rust_type(ty, &model.types, Some(module))?,
                None => quote! { ::openapi_operator_runtime::schema::AnyJson },
            };
            let status_alias = plain(&format!("{kind}Status"));
            let status_path = quote! { #status_alias };
            let kube = kube_attr(
                model,
                crd,
                &status_path,
                &[
                    r#"{"name": "State", "type": "string", "jsonPath": ".status.state"}"#,
                    r#"{"name": "Results", "type": "integer", "jsonPath": ".status.resultCount"}"#,
                    r#"{"name": "Last-Run", "type": "date", "jsonPath": ".status.lastExecutionTime"}"#,
                    r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
                ],
            );
            let module_doc = format!(
                " The {kind} Query kind: spec, result types and the HTTP binding of `GET {}`.",
                ops.operation.path
            );
            let status_doc = format!(" Observed state of a [`{kind}`]: the typed results of its last run.");
            let descriptor_doc =
                format!(" HTTP binding of [`{kind}`] (read by the runtime's query reconciler).");
            let op = operation(&ops.operation);
            let path_params = bindings(&ops.path_params);
            quote! {
                #![doc = #module_doc]

                #spec_doc
                #[derive(::kube::CustomResource, ::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema, Clone, Debug, PartialEq)]
                #kube
                #spec_schema
                pub struct #spec {
                    #(#fields)*
                    /// Operator controls (target, executionInterval, paused); never sent to the backend.
                    #[serde(flatten)]
                    pub controls: ::openapi_operator_runtime::RunControls,
                }

                #[doc = #status_doc]
                pub type #status_alias = ::openapi_operator_runtime::QueryStatus<#results>;

                #(#nested)*

                #[doc = #descriptor_doc]
                pub static #descriptor: ::openapi_operator_runtime::QueryDescriptor = ::openapi_operator_runtime::QueryDescriptor {
                    kind: #kind_str,
                    operation: #op,
                    path_params: #path_params,
                };

                impl ::openapi_operator_runtime::QueryResource for #kind_ident {
                    type Results = #results;

                    const DESCRIPTOR: &'static ::openapi_operator_runtime::QueryDescriptor = &#descriptor;

                    fn controls(&self) -> &::openapi_operator_runtime::RunControls {
                        &self.spec.controls
                    }

                    fn query_status(&self) -> Option<&::openapi_operator_runtime::QueryStatus<Self::Results>> {
                        self.status.as_ref()
                    }
                }
            }
        }
        CrdKind::Action(ops) => {
            let status_path = quote! { ::openapi_operator_runtime::ActionStatus };
            let kube = kube_attr(
                model,
                crd,
                &status_path,
                &[
                    r#"{"name": "State", "type": "string", "jsonPath": ".status.state"}"#,
                    r#"{"name": "HTTP-Status", "type": "integer", "jsonPath": ".status.result.statusCode"}"#,
                    r#"{"name": "Executed", "type": "date", "jsonPath": ".status.executedAt"}"#,
                    r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
                ],
            );
            let method = ops.operation.method;
            let module_doc = format!(
                " The {kind} Action kind: spec and the HTTP binding of `{} {}`.",
                method.as_str(),
                ops.operation.path
            );
            let descriptor_doc =
                format!(" HTTP binding of [`{kind}`] (read by the runtime's action reconciler).");
            let method_tokens = match method {
                HttpMethod::Put => quote! { Put },
                _ => quote! { Post },
            };
            let op = operation(&ops.operation);
            let path_params = bindings(&ops.path_params);
            let body = match &ops.body {
                ActionBody::None => quote! { ::openapi_operator_runtime::ActionBody::None },
                ActionBody::Json { fields } => {
                    quote! { ::openapi_operator_runtime::ActionBody::Json { fields: &[#(#fields),*] } }
                }
                ActionBody::JsonField { field } => {
                    quote! { ::openapi_operator_runtime::ActionBody::JsonField { field: #field } }
                }
                ActionBody::Form { fields } => {
                    quote! { ::openapi_operator_runtime::ActionBody::Form { fields: &[#(#fields),*] } }
                }
                ActionBody::OctetStream => quote! { ::openapi_operator_runtime::ActionBody::OctetStream },
                ActionBody::Multipart { file_part, fields } => quote! {
                    ::openapi_operator_runtime::ActionBody::Multipart { file_part: #file_part, fields: &[#(#fields),*] }
                },
            };
            let (payload_field, payload_fn) = if ops.body.is_binary() {
                (
                    quote! {
                        /// The bytes to send (`data`, `dataFrom` or `dataURL`) and their media type.
                        #[serde(flatten)]
                        pub payload: ::openapi_operator_runtime::BinaryPayload,
                    },
                    quote! {
                        fn payload(&self) -> Option<&::openapi_operator_runtime::BinaryPayload> {
                            Some(&self.spec.payload)
                        }
                    },
                )
            } else {
                (quote! {}, quote! {})
            };
            quote! {
                #![doc = #module_doc]

                #spec_doc
                #[derive(::kube::CustomResource, ::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema, Clone, Debug, PartialEq)]
                #kube
                #spec_schema
                pub struct #spec {
                    #(#fields)*
                    #payload_field
                    /// Operator controls (target, executionInterval, paused); never sent to the backend.
                    #[serde(flatten)]
                    pub controls: ::openapi_operator_runtime::RunControls,
                }

                #(#nested)*

                #[doc = #descriptor_doc]
                pub static #descriptor: ::openapi_operator_runtime::ActionDescriptor = ::openapi_operator_runtime::ActionDescriptor {
                    kind: #kind_str,
                    method: ::openapi_operator_runtime::ActionMethod::#method_tokens,
                    operation: #op,
                    path_params: #path_params,
                    body: #body,
                };

                impl ::openapi_operator_runtime::ActionResource for #kind_ident {
                    const DESCRIPTOR: &'static ::openapi_operator_runtime::ActionDescriptor = &#descriptor;

                    fn controls(&self) -> &::openapi_operator_runtime::RunControls {
                        &self.spec.controls
                    }

                    #payload_fn
                }
            }
        }
        _ => quote! {},
    };
    Ok(tokens)
}

fn aggregate_file(model: &Model, crd: &Crd) -> Result<TokenStream> {
    let kind = &crd.names.kind;
    let kind_ident = super::types::kind_struct(kind)?;
    let spec = ident(&crd.spec_type)?;
    let spec_doc = rustdoc(Some(&crd.spec_description));
    let spec_schema = schema_description(Some(&crd.spec_description));
    let status_path = quote! { ::openapi_operator_runtime::AggregateStatus };
    let kube = kube_attr(
        model,
        crd,
        &status_path,
        &[
            r#"{"name": "State", "type": "string", "jsonPath": ".status.state"}"#,
            r#"{"name": "Total", "type": "integer", "jsonPath": ".status.summary.total"}"#,
            r#"{"name": "Synced", "type": "integer", "jsonPath": ".status.summary.synced"}"#,
            r#"{"name": "Failed", "type": "integer", "jsonPath": ".status.summary.failed"}"#,
            r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
        ],
    );
    let module_doc =
        format!(" The {kind} Aggregate kind: one health view over every other kind of this operator.");
    Ok(quote! {
        #![doc = #module_doc]

        #spec_doc
        #[derive(::kube::CustomResource, ::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema, Clone, Debug, PartialEq)]
        #kube
        #spec_schema
        pub struct #spec {
            /// What to aggregate and compute (resources, selectors, strategy, derivedValues, paused).
            #[serde(flatten)]
            pub aggregate: ::openapi_operator_runtime::AggregateSpec,
        }

        impl ::openapi_operator_runtime::AggregateResource for #kind_ident {
            fn aggregate_spec(&self) -> &::openapi_operator_runtime::AggregateSpec {
                &self.spec.aggregate
            }
        }
    })
}
