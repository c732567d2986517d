//! Named types and fields → tokens: serde renames, `Option` for optional fields, docs + explicit schemars descriptions.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::docs::doc_lines;
use crate::error::{Error, Result};
use crate::model::{Field, TypeDef, TypeDefKind, TypeRef, TypeSpace};

/// Parses an identifier the IR already validated (`r#type` included).
pub fn ident(name: &str) -> Result<Ident> {
    syn::parse_str::<Ident>(name).map_err(|e| Error::Emit {
        file: String::new(),
        reason: format!("invalid identifier {name:?}: {e}"),
    })
}

/// An identifier from a name built by the emitter itself (always valid).
pub fn plain(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// `#[doc = ...]` lines plus the exact `#[schemars(description = ...)]` for the CRD schema (fields).
pub fn doc_attrs(description: Option<&str>) -> TokenStream {
    let docs = rustdoc(description);
    let schema = schema_description(description);
    quote! { #docs #schema }
}

/// Only the rustdoc lines (items put these before `#[derive]`).
pub fn rustdoc(description: Option<&str>) -> TokenStream {
    let Some(text) = description else { return quote! {} };
    let lines = doc_lines(text);
    quote! { #(#[doc = #lines])* }
}

/// Only the exact schema description (items put this after `#[derive]`, as a derive helper).
pub fn schema_description(description: Option<&str>) -> TokenStream {
    match description {
        Some(text) => quote! { #[schemars(description = #text)] },
        None => quote! {},
    }
}

/// The Rust type of a [`TypeRef`] as seen from `module` (`None` = `crate::models`).
pub fn rust_type(ty: &TypeRef, types: &TypeSpace, module: Option<&str>) -> Result<TokenStream> {
    Ok(match ty {
        TypeRef::String => quote! { String },
        TypeRef::I32 => quote! { i32 },
        TypeRef::I64 => quote! { i64 },
        TypeRef::F32 => quote! { f32 },
        TypeRef::F64 => quote! { f64 },
        TypeRef::Bool => quote! { bool },
        TypeRef::Json => quote! { ::serde_json::Value },
        TypeRef::Array(inner) => {
            let inner = rust_type(inner, types, module)?;
            quote! { Vec<#inner> }
        }
        TypeRef::Map(inner) => {
            let inner = rust_type(inner, types, module)?;
            quote! { ::std::collections::BTreeMap<String, #inner> }
        }
        TypeRef::Named(name) => {
            let id = ident(name)?;
            let def_module = types.get(name).and_then(|d| d.module.as_deref());
            match def_module {
                m if m == module => quote! { #id },
                None => quote! { crate::models::#id },
                Some(m) => {
                    let m = ident(m)?;
                    quote! { crate::resources::#m::#id }
                }
            }
        }
    })
}

/// One struct field with its attributes.
pub fn field(field: &Field, types: &TypeSpace, module: Option<&str>) -> Result<TokenStream> {
    let name = ident(&field.rust_name)?;
    let docs = doc_attrs(field.description.as_deref());
    let bare = field.rust_name.trim_start_matches("r#");
    let json = &field.json_name;
    let rename = if bare == json {
        quote! {}
    } else {
        quote! { #[serde(rename = #json)] }
    };
    let inner = rust_type(&field.ty, types, module)?;
    let (ty, optional) = if field.required {
        (inner, quote! {})
    } else {
        (
            quote! { Option<#inner> },
            quote! { #[serde(default, skip_serializing_if = "Option::is_none")] },
        )
    };
    let format = match &field.format {
        Some(f) => quote! { #[schemars(extend("format" = #f))] },
        None => quote! {},
    };
    let json_schema = if field.ty == TypeRef::Json {
        quote! { #[schemars(schema_with = "::openapi_operator_runtime::schema::preserve_unknown_fields")] }
    } else {
        quote! {}
    };
    Ok(quote! {
        #docs
        #rename
        #optional
        #format
        #json_schema
        pub #name: #ty,
    })
}

/// A named struct or enum.
pub fn type_def(def: &TypeDef, types: &TypeSpace) -> Result<TokenStream> {
    let name = ident(&def.name)?;
    let docs = rustdoc(def.description.as_deref());
    let schema = schema_description(def.description.as_deref());
    match &def.kind {
        TypeDefKind::Struct { fields } => {
            let fields = fields
                .iter()
                .map(|f| field(f, types, def.module.as_deref()))
                .collect::<Result<Vec<_>>>()?;
            Ok(quote! {
                #docs
                #[derive(::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema, Clone, Debug, PartialEq)]
                #schema
                pub struct #name {
                    #(#fields)*
                }
            })
        }
        TypeDefKind::Enum { variants } => {
            let variants = variants
                .iter()
                .map(|v| {
                    let id = ident(&v.ident)?;
                    let value = &v.value;
                    let rename = if v.ident.trim_start_matches("r#") == value {
                        quote! {}
                    } else {
                        quote! { #[serde(rename = #value)] }
                    };
                    Ok(quote! { #rename #id, })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(quote! {
                #docs
                #[derive(::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
                #schema
                pub enum #name {
                    #(#variants)*
                }
            })
        }
    }
}
