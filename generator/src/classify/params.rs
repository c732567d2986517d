//! Parameters and request bodies of operations: JSON body schema lookup, path/query parameter
//! lookup, and binding parameters to spec fields.

use openapiv3::{OpenAPI, Parameter, ParameterSchemaOrContent, PathItem};

use super::schema::{SchemaConverter, clean};
use crate::model::naming;
use crate::model::types::{Field, FieldSource, TypeRef};
use crate::parse::resolve;

pub(super) fn json_body<'a>(
    api: &'a OpenAPI,
    op: &'a openapiv3::Operation,
) -> Option<(Option<String>, &'a openapiv3::Schema)> {
    let body = resolve::request_body(api, op.request_body.as_ref()?)?;
    let media = body.content.get("application/json").or_else(|| {
        body.content
            .iter()
            .find(|(k, _)| k.contains("json"))
            .map(|(_, v)| v)
    })?;
    resolve::schema(api, media.schema.as_ref()?)
}

pub(super) fn all_params<'a>(
    api: &'a OpenAPI,
    item: &'a PathItem,
    op: &'a openapiv3::Operation,
) -> Vec<&'a Parameter> {
    let mut out: Vec<&Parameter> = op
        .parameters
        .iter()
        .filter_map(|p| resolve::parameter(api, p))
        .collect();
    for p in item.parameters.iter().filter_map(|p| resolve::parameter(api, p)) {
        let d = p.parameter_data_ref();
        if !out.iter().any(|o| o.parameter_data_ref().name == d.name) {
            out.push(p);
        }
    }
    out
}

pub(super) fn find_param<'a>(
    api: &'a OpenAPI,
    item: &'a PathItem,
    op: &'a openapiv3::Operation,
    name: &str,
) -> Option<&'a Parameter> {
    all_params(api, item, op)
        .into_iter()
        .find(|p| matches!(p, Parameter::Path { .. }) && p.parameter_data_ref().name == name)
}

/// Binds a parameter to an existing field with the same JSON name, or adds a field. Returns the field's JSON name.
pub(super) fn bind<'a>(
    converter: &mut SchemaConverter<'a>,
    kind: &str,
    fields: &mut Vec<Field>,
    name: &str,
    param: Option<&'a Parameter>,
    source: FieldSource,
    required: bool,
) -> String {
    if fields.iter().any(|f| f.json_name == name) {
        return name.to_owned();
    }
    let mut field = param_field(converter, kind, fields, name, param, source);
    field.required = required;
    fields.push(field);
    name.to_owned()
}

pub(super) fn param_field<'a>(
    converter: &mut SchemaConverter<'a>,
    kind: &str,
    fields: &[Field],
    name: &str,
    param: Option<&'a Parameter>,
    source: FieldSource,
) -> Field {
    let rust_name = naming::dedupe(&naming::field_ident(name), &|n| {
        n == "controls" || fields.iter().any(|f| f.rust_name == n)
    });
    let data = param.map(Parameter::parameter_data_ref);
    let schema = data.and_then(|d| match &d.format {
        ParameterSchemaOrContent::Schema(s) => Some(s),
        ParameterSchemaOrContent::Content(_) => None,
    });
    let api = converter.api();
    let mut field = match schema.and_then(|s| resolve::schema(api, s).map(|(_, resolved)| (s, resolved))) {
        Some((s, resolved)) => {
            let ty = converter.param_type(s, kind, name);
            converter.field_from(name, rust_name, ty, true, resolved, source)
        }
        None => Field {
            json_name: name.to_owned(),
            rust_name,
            ty: TypeRef::String,
            required: true,
            description: None,
            format: None,
            example: None,
            default: None,
            source,
            validation: Default::default(),
        },
    };
    if let Some(d) = data {
        if let Some(desc) = clean(d.description.as_deref()) {
            field.description = Some(desc);
        }
        if let Some(example) = d.example.clone().filter(|v| !v.is_null()) {
            field.example = Some(example);
        }
    }
    field
}
