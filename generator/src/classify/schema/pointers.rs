//! JSON pointers of the schema nodes of a document, looked up by address, so that warnings name
//! where a construct is without threading a location through every conversion call.

use std::collections::HashMap;
use std::ptr;

use indexmap::IndexMap;
use openapiv3::{
    AdditionalProperties, MediaType, OpenAPI, Parameter, ParameterSchemaOrContent, ReferenceOr, Response,
    Schema, SchemaKind, Type,
};

/// Schema address → JSON pointer (`#/components/schemas/Pet/properties/tags`).
pub(super) type Index = HashMap<*const Schema, String>;

/// Nesting bound of the walk (parsers bound it already; this keeps the walk total).
const MAX_DEPTH: usize = 128;

/// Escapes one JSON pointer token (`~` → `~0`, `/` → `~1`).
pub(super) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Every schema node reachable from the components and the paths, without following `$ref`s.
pub(super) fn index(api: &OpenAPI) -> Index {
    let mut out = Index::new();
    if let Some(components) = &api.components {
        for (name, s) in &components.schemas {
            schema_ref(s, &format!("#/components/schemas/{}", escape(name)), 0, &mut out);
        }
        for (name, p) in &components.parameters {
            if let ReferenceOr::Item(p) = p {
                parameter(p, &format!("#/components/parameters/{}", escape(name)), &mut out);
            }
        }
        for (name, b) in &components.request_bodies {
            if let ReferenceOr::Item(b) = b {
                content(
                    &b.content,
                    &format!("#/components/requestBodies/{}", escape(name)),
                    &mut out,
                );
            }
        }
        for (name, r) in &components.responses {
            if let ReferenceOr::Item(r) = r {
                response(r, &format!("#/components/responses/{}", escape(name)), &mut out);
            }
        }
    }
    for (path, item) in api.paths.iter() {
        let ReferenceOr::Item(item) = item else { continue };
        let base = format!("#/paths/{}", escape(path));
        for (i, p) in item.parameters.iter().enumerate() {
            if let ReferenceOr::Item(p) = p {
                parameter(p, &format!("{base}/parameters/{i}"), &mut out);
            }
        }
        for (method, op) in item.iter() {
            let at = format!("{base}/{method}");
            for (i, p) in op.parameters.iter().enumerate() {
                if let ReferenceOr::Item(p) = p {
                    parameter(p, &format!("{at}/parameters/{i}"), &mut out);
                }
            }
            if let Some(ReferenceOr::Item(body)) = &op.request_body {
                content(&body.content, &format!("{at}/requestBody"), &mut out);
            }
            if let Some(ReferenceOr::Item(r)) = &op.responses.default {
                response(r, &format!("{at}/responses/default"), &mut out);
            }
            for (code, r) in &op.responses.responses {
                if let ReferenceOr::Item(r) = r {
                    response(r, &format!("{at}/responses/{code}"), &mut out);
                }
            }
        }
    }
    out
}

fn parameter(p: &Parameter, at: &str, out: &mut Index) {
    match &p.parameter_data_ref().format {
        ParameterSchemaOrContent::Schema(s) => schema_ref(s, &format!("{at}/schema"), 0, out),
        ParameterSchemaOrContent::Content(c) => content(c, at, out),
    }
}

fn response(r: &Response, at: &str, out: &mut Index) {
    content(&r.content, at, out);
}

fn content(content: &IndexMap<String, MediaType>, at: &str, out: &mut Index) {
    for (media, m) in content {
        if let Some(s) = &m.schema {
            schema_ref(s, &format!("{at}/content/{}/schema", escape(media)), 0, out);
        }
    }
}

fn schema_ref(s: &ReferenceOr<Schema>, at: &str, depth: usize, out: &mut Index) {
    if let ReferenceOr::Item(s) = s {
        schema(s, at, depth, out);
    }
}

fn boxed(s: &ReferenceOr<Box<Schema>>, at: &str, depth: usize, out: &mut Index) {
    if let ReferenceOr::Item(s) = s {
        schema(s, at, depth, out);
    }
}

fn schema(s: &Schema, at: &str, depth: usize, out: &mut Index) {
    out.entry(ptr::from_ref(s)).or_insert_with(|| at.to_owned());
    if depth >= MAX_DEPTH {
        return;
    }
    let depth = depth + 1;
    let properties = |props: &IndexMap<String, ReferenceOr<Box<Schema>>>, out: &mut Index| {
        for (name, p) in props {
            boxed(p, &format!("{at}/properties/{}", escape(name)), depth, out);
        }
    };
    let additional = |a: &Option<AdditionalProperties>, out: &mut Index| {
        if let Some(AdditionalProperties::Schema(s)) = a {
            schema_ref(s, &format!("{at}/additionalProperties"), depth, out);
        }
    };
    let list = |key: &str, items: &[ReferenceOr<Schema>], out: &mut Index| {
        for (i, s) in items.iter().enumerate() {
            schema_ref(s, &format!("{at}/{key}/{i}"), depth, out);
        }
    };
    match &s.schema_kind {
        SchemaKind::Type(Type::Object(o)) => {
            properties(&o.properties, out);
            additional(&o.additional_properties, out);
        }
        SchemaKind::Type(Type::Array(a)) => {
            if let Some(items) = &a.items {
                boxed(items, &format!("{at}/items"), depth, out);
            }
        }
        SchemaKind::Type(_) => {}
        SchemaKind::OneOf { one_of } => list("oneOf", one_of, out),
        SchemaKind::AllOf { all_of } => list("allOf", all_of, out),
        SchemaKind::AnyOf { any_of } => list("anyOf", any_of, out),
        SchemaKind::Not { not } => schema_ref(not, &format!("{at}/not"), depth, out),
        SchemaKind::Any(any) => {
            properties(&any.properties, out);
            additional(&any.additional_properties, out);
            if let Some(items) = &any.items {
                boxed(items, &format!("{at}/items"), depth, out);
            }
            list("allOf", &any.all_of, out);
            list("oneOf", &any.one_of, out);
            list("anyOf", &any.any_of, out);
            if let Some(not) = &any.not {
                schema_ref(not, &format!("{at}/not"), depth, out);
            }
        }
    }
}
