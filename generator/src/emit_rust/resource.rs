//! One Resource kind → `src/resources/<kind>.rs`: the spec struct with `#[derive(CustomResource)]`, nested types, the static descriptor, the `RestResource` impl.

use proc_macro2::TokenStream;
use quote::quote;

use super::types::{field, ident, plain, rustdoc, schema_description, type_def};
use crate::error::Result;
use crate::model::{Crd, CrdKind, Model, Operation, ParamBinding, UpdateMethod};

/// Tokens of the whole kind module.
pub fn kind_file(model: &Model, crd: &Crd) -> Result<TokenStream> {
    let CrdKind::Resource(ops) = &crd.kind else {
        return Err(crate::error::Error::Emit {
            file: format!("src/resources/{}.rs", crd.module),
            reason: format!("{} is not a Resource kind", crd.names.kind),
        });
    };
    let module = crd.module.as_str();
    let n = &crd.names;
    let kind = &n.kind;
    let spec = ident(&crd.spec_type)?;
    let group = &model.api.group;
    let version = &model.api.api_version;
    let plural = &n.plural;
    let shortnames = n.short_names.iter().map(|s| quote! { shortname = #s, });
    let categories = n.categories.iter().map(|c| quote! { category = #c, });
    let kind_doc = &crd.description;
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
    let module_doc =
        format!(" The {kind} Resource kind: spec, nested types and the HTTP binding of its backend object.");
    let spec_doc = rustdoc(Some(&crd.spec_description));
    let spec_schema = schema_description(Some(&crd.spec_description));

    let descriptor = descriptor_ident(crd);
    let kind_ident = super::types::kind_struct(kind)?;
    let root = super::types::kind_root_attr(kind);
    let id_param = &ops.id_param;
    let id_field = option_str(ops.id_field.as_deref());
    let path_params = bindings(&ops.path_params);
    let create = option_tokens(ops.create.as_ref().map(operation));
    let read = operation(&ops.read);
    let update = option_tokens(ops.update.as_ref().map(|u| {
        let method = match u.method {
            UpdateMethod::Patch => quote! { Patch },
            UpdateMethod::Put => quote! { Put },
            UpdateMethod::Post => quote! { Post },
        };
        let op = operation(&u.operation);
        quote! {
            ::openapi_operator_runtime::UpdateDescriptor {
                method: ::openapi_operator_runtime::UpdateMethod::#method,
                operation: #op,
            }
        }
    }));
    let delete = option_tokens(ops.delete.as_ref().map(operation));
    let body_fields = &ops.body_fields;
    let read_only = &ops.read_only_fields;
    let ignore = &ops.ignore_fields;
    let descriptor_doc = format!(
        " HTTP binding of [`{}`] (read by the runtime's resource reconciler).",
        crate::model::naming::kind_struct_name(kind)
    );

    Ok(quote! {
        #![doc = #module_doc]

        #spec_doc
        #[derive(::kube::CustomResource, ::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema, Clone, Debug, PartialEq)]
        #[kube(
            group = #group,
            version = #version,
            kind = #kind,
            #root
            plural = #plural,
            namespaced,
            status = "::openapi_operator_runtime::ResourceStatus",
            #(#shortnames)*
            #(#categories)*
            // JSON form: the list form repeats `type_ = "string"`, which clippy reports as duplicated.
            printcolumn = r#"{"name": "State", "type": "string", "jsonPath": ".status.state"}"#,
            printcolumn = r#"{"name": "External-ID", "type": "string", "jsonPath": ".status.externalID"}"#,
            printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
            derive = "PartialEq",
            doc = #kind_doc
        )]
        #spec_schema
        pub struct #spec {
            #(#fields)*
            /// Operator controls (target, executionInterval); never sent to the backend.
            #[serde(flatten)]
            pub controls: ::openapi_operator_runtime::ResourceControls,
        }

        #(#nested)*

        #[doc = #descriptor_doc]
        pub static #descriptor: ::openapi_operator_runtime::ResourceDescriptor = ::openapi_operator_runtime::ResourceDescriptor {
            kind: #kind,
            id_param: #id_param,
            id_field: #id_field,
            path_params: #path_params,
            create: #create,
            read: #read,
            update: #update,
            delete: #delete,
            body_fields: &[#(#body_fields),*],
            read_only_fields: &[#(#read_only),*],
            ignore_fields: &[#(#ignore),*],
        };

        impl ::openapi_operator_runtime::RestResource for #kind_ident {
            const DESCRIPTOR: &'static ::openapi_operator_runtime::ResourceDescriptor = &#descriptor;

            fn controls(&self) -> &::openapi_operator_runtime::ResourceControls {
                &self.spec.controls
            }
        }
    })
}

fn option_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(v) => quote! { Some(#v) },
        None => quote! { None },
    }
}

pub(super) fn option_tokens(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote! { Some(#v) },
        None => quote! { None },
    }
}

pub(super) fn bindings(list: &[ParamBinding]) -> TokenStream {
    let items = list.iter().map(|b| {
        let name = &b.name;
        let field = &b.field;
        quote! { ::openapi_operator_runtime::ParamBinding { name: #name, field: #field } }
    });
    quote! { &[#(#items),*] }
}

pub(super) fn operation(op: &Operation) -> TokenStream {
    let path = &op.path;
    let query = bindings(&op.query);
    quote! { ::openapi_operator_runtime::OperationDescriptor { path: #path, query: #query } }
}

/// `PET_DESCRIPTOR`: the static descriptor of a kind.
pub(super) fn descriptor_ident(crd: &Crd) -> proc_macro2::Ident {
    plain(&format!(
        "{}_DESCRIPTOR",
        crd.module.trim_start_matches("r#").to_ascii_uppercase()
    ))
}
