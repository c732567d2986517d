//! Query and Action kinds: GET-only paths become Queries, POST/PUT-only paths become Actions; their spec fields, typed results and request-body encodings.
//!
//! Rules, applied to every path that no Resource claims (as collection or item path), in spec order:
//! - **Query**: the path has only `GET`. Named from every non-parameter segment
//!   (`/pet/findByStatus` → `PetFindbystatusQuery`, `/user/login` → `UserLoginQuery`).
//! - **Action**: the path has `POST` or `PUT` (POST preferred) and no `GET`, `DELETE` or `PATCH`,
//!   and does not end in a parameter. Named `<Parent><Last>Action`, the parent being the segment
//!   before the last parameter (`/pet/{petId}/uploadImage` → `PetUploadimageAction`) or, without
//!   parameters, the other segments (`/user/createWithList` → `UserCreatewithlistAction`).
//!
//! The Go original also had a branch making `GET /user/login` an Action by keyword; that branch
//! was unreachable there and is deliberately absent here: `GET` is safe by HTTP's contract, so
//! login and logout are Queries, run once per spec change like any other `GET`.

use std::collections::BTreeSet;

use openapiv3::{OpenAPI, Parameter, PathItem, ReferenceOr};

use super::overrides;
use super::params::{all_params, bind, json_body};
use super::schema::{SchemaConverter, structural};
use crate::config::Config;
use crate::model::naming;
use crate::model::types::{Field, FieldSource, TypeRef};
use crate::model::{
    ActionBody, ActionOps, ApiInfo, Crd, CrdKind, CrdNames, HttpMethod, Operation, ParamBinding, QueryOps,
};
use crate::parse::resolve;

/// Spec fields of the flattened `RunControls`.
const RUN_CONTROL_FIELDS: &[&str] = &["target", "executionInterval", "paused"];
/// Spec fields of the flattened `BinaryPayload` (binary Actions only).
const PAYLOAD_FIELDS: &[&str] = &["data", "dataFrom", "dataURL", "contentType", "filename"];

/// Query or Action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Query,
    Action,
}

/// A path that becomes a Query or Action kind, before schemas are converted.
pub(super) struct RunCandidate<'a> {
    /// Kind derived from the path (the key of `kinds` in the config).
    pub derived: String,
    /// Final kind (after a configured rename).
    pub kind: String,
    pub family: Family,
    pub path: &'a str,
    pub item: &'a PathItem,
    pub method: HttpMethod,
    pub op: &'a openapiv3::Operation,
}

/// Output of [`build`].
pub(super) struct Runs {
    pub crds: Vec<Crd>,
    pub warnings: Vec<String>,
    pub used: BTreeSet<(String, HttpMethod)>,
    pub reasons: Vec<(String, HttpMethod, String)>,
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn param_name(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

/// A segment as one kind word, the way the Go original names Queries and Actions: split on
/// non-alphanumerics, each word capitalised and the rest lowercased (`findByStatus` → `Findbystatus`,
/// `find-by-status` → `FindByStatus`).
pub(super) fn segment_word(segment: &str) -> String {
    segment
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Longest derived Query/Action kind name: its plural (`…queries`, `…actions`) stays a DNS-1035
/// label (63 characters) and so does the CRD name's first label.
const MAX_KIND_LEN: usize = 56;

fn query_kind(path: &str, root_kind: Option<&str>) -> Option<String> {
    let mut words: Vec<String> = segments(path)
        .into_iter()
        .filter(|s| param_name(s).is_none())
        .map(segment_word)
        .collect();
    // Long paths keep their last words (`/apis/…/watch/mutatingadmissionpolicies`).
    while words.len() > 1 && words.iter().map(String::len).sum::<usize>() + "Query".len() > MAX_KIND_LEN {
        words.remove(0);
    }
    let words: String = words.concat();
    let stem = if words.is_empty() {
        root_kind?.to_owned()
    } else {
        words
    };
    Some(naming::type_ident(&format!("{stem}Query")))
}

fn action_kind(path: &str, root_kind: Option<&str>) -> Option<String> {
    let segs = segments(path);
    let Some((last, rest)) = segs.split_last() else {
        return root_kind.map(|r| naming::type_ident(&format!("{r}Action")));
    };
    let parent = match rest.iter().rposition(|s| param_name(s).is_some()) {
        Some(i) if i > 0 => rest
            .get(i - 1)
            .filter(|s| param_name(s).is_none())
            .map(|s| naming::kind_for_segment(s))
            .unwrap_or_default(),
        _ => {
            let words: Vec<&str> = rest.iter().copied().filter(|s| param_name(s).is_none()).collect();
            words
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if i == 0 {
                        segment_word(&naming::singular(s))
                    } else {
                        segment_word(s)
                    }
                })
                .collect()
        }
    };
    let last = segment_word(last);
    let parent = if parent.len() + last.len() + "Action".len() > MAX_KIND_LEN {
        String::new()
    } else {
        parent
    };
    Some(naming::type_ident(&format!("{parent}{last}Action")))
}

/// Query and Action candidates among the paths no Resource claims. `taken` holds the names of
/// the Resource kinds; duplicates get a numeric suffix and a warning.
pub(super) fn candidates<'a>(
    api: &'a OpenAPI,
    config: &Config,
    claimed: &BTreeSet<&str>,
    taken: &[String],
    warnings: &mut Vec<String>,
    reasons: &mut Vec<(String, HttpMethod, String)>,
) -> Vec<RunCandidate<'a>> {
    let mut out: Vec<RunCandidate<'a>> = Vec::new();
    for (path, item) in &api.paths.paths {
        let ReferenceOr::Item(item) = item else { continue };
        if claimed.contains(path.as_str()) {
            continue;
        }
        let methods: Vec<HttpMethod> = super::operations(item).map(|(m, _)| m).collect();
        let has = |m: HttpMethod| methods.contains(&m);
        let last_is_param = segments(path).last().is_some_and(|s| param_name(s).is_some());
        let (family, method, op, name) =
            if !methods.is_empty() && methods.iter().all(|m| *m == HttpMethod::Get) {
                let Some(op) = item.get.as_ref() else { continue };
                (
                    Family::Query,
                    HttpMethod::Get,
                    op,
                    query_kind(path, config.root_kind.as_deref()),
                )
            } else if (has(HttpMethod::Post) || has(HttpMethod::Put))
                && !has(HttpMethod::Get)
                && !has(HttpMethod::Delete)
                && !has(HttpMethod::Patch)
                && !last_is_param
            {
                let (method, op) = match (&item.post, &item.put) {
                    (Some(op), put) => {
                        if put.is_some() {
                            reasons.push((
                                path.clone(),
                                HttpMethod::Put,
                                "PUT on a path whose POST became the Action; an Action runs one operation"
                                    .to_owned(),
                            ));
                        }
                        (HttpMethod::Post, op)
                    }
                    (None, Some(op)) => (HttpMethod::Put, op),
                    (None, None) => continue,
                };
                (
                    Family::Action,
                    method,
                    op,
                    action_kind(path, config.root_kind.as_deref()),
                )
            } else {
                continue;
            };
        let Some(base) = name else {
            reasons.push((
                path.clone(),
                method,
                "the root path `/` needs --root-kind (config `rootKind`) to name its kind".to_owned(),
            ));
            continue;
        };
        let derived = naming::dedupe(&base, &|k| {
            out.iter().any(|c| c.derived == k) || taken.iter().any(|t| t == k)
        });
        if derived != base {
            warnings.push(format!(
                "{}: {method} {path}: kind {base:?} is already taken; named {derived:?} (rename it with \
                 `kinds.{derived}.kind` in the config file)",
                overrides::pointer(path, &method.as_str().to_ascii_lowercase()),
                method = method.as_str()
            ));
        }
        let kind = config
            .kinds
            .get(&derived)
            .and_then(|o| o.kind.clone())
            .unwrap_or_else(|| derived.clone());
        out.push(RunCandidate {
            derived,
            kind,
            family,
            path,
            item,
            method,
            op,
        });
    }
    out
}

/// Builds the Query and Action kinds.
pub(super) fn build<'a>(
    api: &'a OpenAPI,
    info: &ApiInfo,
    config: &Config,
    candidates: &[RunCandidate<'a>],
    converter: &mut SchemaConverter<'a>,
) -> crate::error::Result<Runs> {
    let mut runs = Runs {
        crds: Vec::new(),
        warnings: Vec::new(),
        used: BTreeSet::new(),
        reasons: Vec::new(),
    };
    for c in candidates {
        let mut crd = build_one(api, info, c, converter, &mut runs.warnings);
        if let Some(o) = config.kinds.get(&c.derived) {
            overrides::rename_fields(&mut crd, &c.derived, &o.fields, config)?;
            if let Some(plural) = &o.plural {
                crd.names.plural = plural.clone();
            }
            if let Some(shorts) = &o.short_names {
                crd.names.short_names = shorts.clone();
            }
        }
        runs.used.insert((c.path.to_owned(), c.method));
        runs.crds.push(crd);
    }
    Ok(runs)
}

/// Why a spec field cannot use its wire name, if it clashes with a flattened control field.
fn clashes(name: &str, binary: bool) -> bool {
    RUN_CONTROL_FIELDS.contains(&name) || (binary && PAYLOAD_FIELDS.contains(&name))
}

fn build_one<'a>(
    api: &'a OpenAPI,
    info: &ApiInfo,
    c: &RunCandidate<'a>,
    converter: &mut SchemaConverter<'a>,
    warnings: &mut Vec<String>,
) -> Crd {
    let module = super::resource::module_name(&c.kind);
    let pointer = overrides::pointer(c.path, &c.method.as_str().to_ascii_lowercase());
    let mut fields: Vec<Field> = Vec::new();

    // The request body first decides whether the payload fields are present.
    let body = match c.family {
        Family::Query => ActionBody::None,
        Family::Action => action_body(api, c, &module, converter, &mut fields, warnings, &pointer),
    };
    let binary = body.is_binary();

    // Path parameters (the parent id first, in path order), then query parameters.
    let params = all_params(api, c.item, c.op);
    let mut path_params = Vec::new();
    for seg in segments(c.path) {
        let Some(name) = param_name(seg) else { continue };
        if path_params.iter().any(|b: &ParamBinding| b.name == name) {
            continue;
        }
        let param = params
            .iter()
            .copied()
            .find(|p| matches!(p, Parameter::Path { .. }) && p.parameter_data_ref().name == name);
        let field = bind_param(
            converter,
            &c.kind,
            &mut fields,
            name,
            param,
            FieldSource::PathParam,
            true,
            binary,
        );
        path_params.push(ParamBinding {
            name: name.to_owned(),
            field,
        });
    }
    let mut operation = Operation {
        method: c.method,
        path: c.path.to_owned(),
        operation_id: c.op.operation_id.clone(),
        query: Vec::new(),
    };
    for p in &params {
        if let Parameter::Query { parameter_data, .. } = p {
            let name = &parameter_data.name;
            if operation.query.iter().any(|b| &b.name == name) {
                continue;
            }
            let field = bind_param(
                converter,
                &c.kind,
                &mut fields,
                name,
                Some(p),
                FieldSource::QueryParam,
                parameter_data.required,
                binary,
            );
            operation.query.push(ParamBinding {
                name: name.clone(),
                field,
            });
        }
    }
    for p in &params {
        if matches!(p, Parameter::Header { .. } | Parameter::Cookie { .. }) {
            let data = p.parameter_data_ref();
            warnings.push(format!(
                "{pointer}: {}: {} parameter {:?} is not supported on Query and Action kinds; it is never sent",
                c.kind,
                if matches!(p, Parameter::Header { .. }) { "header" } else { "cookie" },
                data.name
            ));
        }
    }

    let title = if info.title.to_ascii_lowercase().ends_with("api") {
        info.title.clone()
    } else {
        format!("{} API", info.title)
    };
    let summary =
        c.op.summary
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!(" ({})", s.trim_end_matches('.')))
            .unwrap_or_default();
    let (kind, description, spec_description) = match c.family {
        Family::Query => (
            CrdKind::Query(QueryOps {
                operation,
                path_params,
                results: query_results(api, c, &module, converter),
            }),
            format!(
                "{} runs GET {}{summary} on the {title} and keeps the results in its status; once per spec change, or every spec.executionInterval.",
                c.kind, c.path
            ),
            format!("Parameters of GET {} plus operator controls.", c.path),
        ),
        Family::Action => (
            CrdKind::Action(ActionOps {
                operation,
                path_params,
                body,
            }),
            format!(
                "{} runs {} {}{summary} on the {title} once per spec change, or every spec.executionInterval.",
                c.kind,
                c.method.as_str(),
                c.path
            ),
            format!(
                "Parameters and body of {} {} plus operator controls.",
                c.method.as_str(),
                c.path
            ),
        ),
    };
    Crd {
        names: CrdNames {
            kind: c.kind.clone(),
            plural: naming::plural(&c.kind),
            singular: c.kind.to_ascii_lowercase(),
            short_names: Vec::new(),
            categories: vec![info.app_name.clone()],
        },
        module,
        spec_type: format!("{}Spec", c.kind),
        description,
        spec_description,
        fields,
        kind,
    }
}

/// Binds a parameter; a name that clashes with a control field is exposed as `<name>Param`.
#[allow(clippy::too_many_arguments)]
fn bind_param<'a>(
    converter: &mut SchemaConverter<'a>,
    kind: &str,
    fields: &mut Vec<Field>,
    name: &str,
    param: Option<&'a Parameter>,
    source: FieldSource,
    required: bool,
    binary: bool,
) -> String {
    if clashes(name, binary) {
        let alias = naming::dedupe(&format!("{name}Param"), &|n| {
            fields.iter().any(|f| f.json_name == n)
        });
        let field = bind(converter, kind, fields, &alias, param, source, required);
        if let Some(f) = fields.iter_mut().find(|f| f.json_name == field) {
            let original = f.description.take().unwrap_or_default();
            let text =
                format!("The `{name}` parameter (renamed: `{name}` is an operator control). {original}");
            f.description = Some(text.trim_end().to_owned());
        }
        return field;
    }
    bind(converter, kind, fields, name, param, source, required)
}

/// The type of the 200 (else 201) JSON response.
fn query_results<'a>(
    api: &'a OpenAPI,
    c: &RunCandidate<'a>,
    module: &str,
    converter: &mut SchemaConverter<'a>,
) -> Option<TypeRef> {
    let responses = &c.op.responses.responses;
    let response = ["200", "201"].into_iter().find_map(|code| {
        responses
            .iter()
            .find(|(k, _)| k.to_string() == code)
            .and_then(|(_, r)| resolve::response(api, r))
    })?;
    let media = response.content.get("application/json").or_else(|| {
        response
            .content
            .iter()
            .find(|(k, _)| k.contains("json"))
            .map(|(_, v)| v)
    })?;
    let (component, schema) = resolve::schema(api, media.schema.as_ref()?)?;
    let ty = converter.type_of(component.as_deref(), schema, &c.kind, "Results", Some(module));
    match structural(ty) {
        TypeRef::Json => None,
        ty => Some(ty),
    }
}

/// The request body of an Action: adds its spec fields and returns the encoding.
fn action_body<'a>(
    api: &'a OpenAPI,
    c: &RunCandidate<'a>,
    module: &str,
    converter: &mut SchemaConverter<'a>,
    fields: &mut Vec<Field>,
    warnings: &mut Vec<String>,
    pointer: &str,
) -> ActionBody {
    let Some(body) =
        c.op.request_body
            .as_ref()
            .and_then(|b| resolve::request_body(api, b))
    else {
        return ActionBody::None;
    };
    let mut keep = |field: Field, binary: bool, fields: &mut Vec<Field>| {
        if clashes(&field.json_name, binary) {
            warnings.push(format!(
                "{pointer}: {}: body field {:?} clashes with the operator control spec.{}; it is not exposed",
                c.kind, field.json_name, field.json_name
            ));
            None
        } else {
            let name = field.json_name.clone();
            fields.push(field);
            Some(name)
        }
    };
    if let Some((component, schema)) = json_body(api, c.op) {
        if !matches!(
            &schema.schema_kind,
            openapiv3::SchemaKind::Type(openapiv3::Type::Array(_))
        ) {
            let object = converter.object_fields(schema, &c.kind, Some(module), true);
            if !object.fields.is_empty() {
                let names = object
                    .fields
                    .into_iter()
                    .filter_map(|f| keep(f, false, fields))
                    .collect();
                return ActionBody::Json { fields: names };
            }
        }
        let ty = converter.type_of(component.as_deref(), schema, &c.kind, "Body", Some(module));
        let ty = structural(ty);
        let name = if matches!(ty, TypeRef::Array(_)) {
            "items"
        } else {
            "body"
        };
        let field = Field {
            json_name: name.to_owned(),
            rust_name: name.to_owned(),
            ty,
            required: body.required,
            description: Some(
                body.description
                    .as_deref()
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| "The request body.".to_owned()),
            ),
            format: None,
            example: None,
            default: None,
            source: FieldSource::Body,
            validation: Default::default(),
        };
        fields.push(field);
        return ActionBody::JsonField {
            field: name.to_owned(),
        };
    }
    let object_schema = |media: &'a openapiv3::MediaType| {
        media
            .schema
            .as_ref()
            .and_then(|s| resolve::schema(api, s))
            .map(|(_, s)| s)
    };
    if let Some(media) = body.content.get("multipart/form-data") {
        let schema = object_schema(media);
        let file_part = schema
            .and_then(|s| binary_property(api, s))
            .unwrap_or_else(|| "file".to_owned());
        let names = schema
            .map(|s| converter.object_fields(s, &c.kind, Some(module), true).fields)
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.json_name != file_part)
            .filter_map(|f| keep(f, true, fields))
            .collect();
        return ActionBody::Multipart {
            file_part,
            fields: names,
        };
    }
    if let Some(media) = body.content.get("application/x-www-form-urlencoded") {
        let names = object_schema(media)
            .map(|s| converter.object_fields(s, &c.kind, Some(module), true).fields)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| keep(f, false, fields))
            .collect();
        return ActionBody::Form { fields: names };
    }
    if body.content.is_empty() {
        return ActionBody::None;
    }
    ActionBody::OctetStream
}

/// The first property of an object schema that is a binary string (`format: binary`), directly
/// or as an array of them.
fn binary_property(api: &OpenAPI, schema: &openapiv3::Schema) -> Option<String> {
    let openapiv3::SchemaKind::Type(openapiv3::Type::Object(obj)) = &schema.schema_kind else {
        return None;
    };
    obj.properties.iter().find_map(|(name, prop)| {
        let (_, s) = resolve::boxed_schema(api, prop)?;
        let is_binary = |s: &openapiv3::Schema| {
            matches!(
                &s.schema_kind,
                openapiv3::SchemaKind::Type(openapiv3::Type::String(t))
                    if matches!(&t.format, openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::Binary))
                        || matches!(&t.format, openapiv3::VariantOrUnknownOrEmpty::Unknown(f) if f == "binary")
            )
        };
        (is_binary(s)).then(|| name.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_the_go_naming() {
        assert_eq!(segment_word("findByStatus"), "Findbystatus");
        assert_eq!(segment_word("find-by-status"), "FindByStatus");
        assert_eq!(
            query_kind("/pet/findByStatus", None).as_deref(),
            Some("PetFindbystatusQuery")
        );
        assert_eq!(
            query_kind("/store/inventory", None).as_deref(),
            Some("StoreInventoryQuery")
        );
        assert_eq!(query_kind("/user/login", None).as_deref(), Some("UserLoginQuery"));
        assert_eq!(query_kind("/", None), None);
        assert_eq!(query_kind("/", Some("Api")).as_deref(), Some("ApiQuery"));
        assert_eq!(
            action_kind("/pet/{petId}/uploadImage", None).as_deref(),
            Some("PetUploadimageAction")
        );
        assert_eq!(
            action_kind("/user/createWithList", None).as_deref(),
            Some("UserCreatewithlistAction")
        );
        assert_eq!(action_kind("/store", None).as_deref(), Some("StoreAction"));
        assert_eq!(
            action_kind("/users/{userId}/posts/{postId}/publish", None).as_deref(),
            Some("PostPublishAction")
        );
    }
}
