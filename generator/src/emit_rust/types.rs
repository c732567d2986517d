//! Named types and fields → tokens: serde renames, `Option` for optional fields, docs + explicit schemars descriptions.

use std::cell::RefCell;
use std::collections::HashMap;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;
use serde_json::{Map, Value};

use super::docs::doc_lines;
use crate::error::{Error, Result};
use crate::model::types::{UnionVariant, Validation};
use crate::model::{Field, TypeDef, TypeDefKind, TypeRef, TypeSpace};

/// Parses an identifier the IR already validated (`r#type` included).
pub fn ident(name: &str) -> Result<Ident> {
    syn::parse_str::<Ident>(name).map_err(|e| Error::Emit {
        file: String::new(),
        reason: format!("invalid identifier {name:?}: {e}"),
    })
}

use crate::model::naming::kind_struct_name;

/// The root struct's identifier ([`kind_struct_name`]).
pub fn kind_struct(kind: &str) -> Result<Ident> {
    ident(&kind_struct_name(kind))
}

/// `root = "<Kind>Kind",` for the `#[kube(...)]` attribute when the struct is renamed; nothing
/// otherwise.
pub fn kind_root_attr(kind: &str) -> TokenStream {
    let name = kind_struct_name(kind);
    if name == kind {
        TokenStream::new()
    } else {
        quote! { root = #name, }
    }
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

/// The two token forms of one description.
struct DocTokens {
    rustdoc: TokenStream,
    schema: TokenStream,
}

thread_local! {
    /// Description → its tokens. Large specs repeat the same descriptions in many kinds (the
    /// Kubernetes list parameters appear in hundreds of them), and sanitizing and escaping them is
    /// a large part of the emission time. Per thread (token streams are not `Send`); emptied by
    /// [`clear_doc_cache`] at the end of each emission.
    static DOC_CACHE: RefCell<HashMap<String, DocTokens>> = RefCell::new(HashMap::new());
}

/// Empties this thread's description cache.
pub(super) fn clear_doc_cache() {
    DOC_CACHE.with(|cache| cache.borrow_mut().clear());
}

/// The cached tokens of `text`, computed on first use.
fn doc_tokens<R>(text: &str, pick: impl FnOnce(&DocTokens) -> R) -> R {
    DOC_CACHE.with(|cache| {
        if let Some(tokens) = cache.borrow().get(text) {
            return pick(tokens);
        }
        let lines = doc_lines(text);
        let tokens = DocTokens {
            rustdoc: quote! { #(#[doc = #lines])* },
            schema: quote! { #[schemars(description = #text)] },
        };
        let picked = pick(&tokens);
        cache.borrow_mut().insert(text.to_owned(), tokens);
        picked
    })
}

/// Only the rustdoc lines (items put these before `#[derive]`).
pub fn rustdoc(description: Option<&str>) -> TokenStream {
    let Some(text) = description else { return quote! {} };
    doc_tokens(text, |t| t.rustdoc.clone())
}

/// Only the exact schema description (items put this after `#[derive]`, as a derive helper).
pub fn schema_description(description: Option<&str>) -> TokenStream {
    match description {
        Some(text) => doc_tokens(text, |t| t.schema.clone()),
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
    let json_schema = if field.ty == TypeRef::Json {
        quote! { #[schemars(schema_with = "::openapi_operator_runtime::schema::preserve_unknown_fields")] }
    } else {
        quote! {}
    };
    let extend = extensions(field);
    let extend = if extend.is_empty() {
        quote! {}
    } else {
        let pairs = extend.iter().map(|(k, v)| {
            let v = json_tokens(v);
            quote! { #k = #v }
        });
        quote! { #[schemars(extend(#(#pairs),*))] }
    };
    Ok(quote! {
        #docs
        #rename
        #optional
        #extend
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
        TypeDefKind::Union {
            variants,
            discriminator,
            schema: union_schema,
        } => union_def(
            def,
            variants,
            discriminator.as_deref(),
            union_schema.keywords(),
            types,
        ),
    }
}

/// A `oneOf`/`anyOf` union: an untagged enum (deserialized by the discriminator when there is one)
/// with a hand-written `JsonSchema` impl returning its structural CRD schema.
fn union_def(
    def: &TypeDef,
    variants: &[UnionVariant],
    discriminator: Option<&str>,
    mut keywords: Map<String, Value>,
    types: &TypeSpace,
) -> Result<TokenStream> {
    let name = ident(&def.name)?;
    let type_name = &def.name;
    let module = def.module.as_deref();
    let mut docs_text = def.description.clone().unwrap_or_default();
    if !docs_text.is_empty() {
        docs_text.push_str("\n\n");
    }
    docs_text.push_str(
        "The CRD schema is structural rather than a list of alternatives (Kubernetes rejects `anyOf` \
         with types); the Rust type keeps the alternatives.",
    );
    let docs = rustdoc(Some(&docs_text));
    let arms = variants
        .iter()
        .map(|v| {
            let id = ident(&v.ident)?;
            let ty = rust_type(&v.ty, types, module)?;
            Ok(quote! { #id(#ty), })
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(d) = &def.description {
        keywords.insert("description".to_owned(), Value::String(d.clone()));
    }
    let schema = json_tokens(&Value::Object(keywords));
    let schema_impl = quote! {
        impl ::schemars::JsonSchema for #name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(#type_name)
            }
            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!(#schema)
            }
        }
    };
    let Some(property) = discriminator else {
        return Ok(quote! {
            #docs
            #[derive(::serde::Serialize, ::serde::Deserialize, Clone, Debug, PartialEq)]
            #[serde(untagged)]
            // The variants mirror the API's schemas; boxing them would only move the size around.
            #[allow(clippy::large_enum_variant)]
            pub enum #name {
                #(#arms)*
            }
            #schema_impl
        });
    };
    let dispatch = variants
        .iter()
        .map(|v| {
            let id = ident(&v.ident)?;
            let tags = &v.tags;
            Ok(quote! {
                #(Some(#tags))|* => ::serde_json::from_value(value).map(Self::#id).map_err(::serde::de::Error::custom),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let unknown = format!(
        "unknown {} {{tag:?}}",
        property.replace('{', "{{").replace('}', "}}")
    );
    Ok(quote! {
        #docs
        #[derive(::serde::Serialize, Clone, Debug, PartialEq)]
        #[serde(untagged)]
        // The variants mirror the API's schemas; boxing them would only move the size around.
        #[allow(clippy::large_enum_variant)]
        pub enum #name {
            #(#arms)*
        }
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let value = <::serde_json::Value as ::serde::Deserialize>::deserialize(deserializer)?;
                let tag = value.get(#property).and_then(::serde_json::Value::as_str).map(str::to_owned);
                match tag.as_deref() {
                    #(#dispatch)*
                    _ => Err(::serde::de::Error::custom(format!(#unknown))),
                }
            }
        }
        #schema_impl
    })
}

/// The `#[schemars(extend(...))]` entries of a field: the kept string format and the validation
/// keywords (an optional field's `enum` gets the `null` schemars adds to `Option` enums), with
/// the whole `items`/`additionalProperties` schema of scalar items or values that carry keywords.
fn extensions(field: &Field) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    if let Some(f) = &field.format {
        out.push(("format".to_owned(), Value::String(f.clone())));
    }
    let v: &Validation = &field.validation;
    for (key, mut value) in v.keywords() {
        if key == "enum"
            && !field.required
            && let Value::Array(values) = &mut value
        {
            values.push(Value::Null);
        }
        out.push((key, value));
    }
    let nested = match &field.ty {
        TypeRef::Array(inner) => Some(("items", inner, &v.items)),
        TypeRef::Map(inner) => Some(("additionalProperties", inner, &v.values)),
        _ => None,
    };
    if let Some((key, inner, Some(validation))) = nested
        && let Some(mut schema) = inner.scalar_schema()
    {
        schema.extend(validation.keywords());
        out.push((key.to_owned(), Value::Object(schema)));
    }
    out
}

/// Tokens of a JSON value in `serde_json::json!` syntax (strings as Rust literals).
fn json_tokens(value: &Value) -> TokenStream {
    match value {
        Value::Null => quote! { null },
        Value::Bool(b) => quote! { #b },
        Value::Number(n) => {
            // Always valid: serde_json prints finite numbers as Rust accepts them (`-1`, `1.5`, `1e300`).
            n.to_string().parse().unwrap_or_else(|_| quote! { null })
        }
        Value::String(s) => {
            let lit = Literal::string(s);
            quote! { #lit }
        }
        Value::Array(items) => {
            let items = items.iter().map(json_tokens);
            quote! { [#(#items),*] }
        }
        Value::Object(map) => {
            let entries = map.iter().map(|(k, v)| {
                let k = Literal::string(k);
                let v = json_tokens(v);
                quote! { #k: #v }
            });
            quote! { { #(#entries),* } }
        }
    }
}
