//! Resource kinds: pairs a collection path (POST) with its item path `<collection>/{id}` (GET), picks update/delete, merges the id, builds spec fields.

use std::collections::BTreeSet;

use openapiv3::{OpenAPI, Parameter, PathItem, ReferenceOr};

use super::overrides;
use super::params::{all_params, bind, find_param, json_body, param_field};
use super::schema::SchemaConverter;
use crate::config::Config;
use crate::error::Result;
use crate::model::naming;
use crate::model::types::{Field, FieldSource};
use crate::model::{
    ApiInfo, Crd, CrdKind, CrdNames, HttpMethod, Operation, ParamBinding, ResourceOps, Update, UpdateMethod,
};

/// Spec fields that would clash with the flattened `ResourceControls`.
const CONTROL_FIELDS: &[&str] = &[
    "target",
    "executionInterval",
    "readOnly",
    "paused",
    "onDelete",
    "ignoreFields",
    "mergeOnUpdate",
];

pub(super) struct Resources {
    pub crds: Vec<Crd>,
    pub warnings: Vec<String>,
    /// (path, method) of every operation a kind uses.
    pub used: BTreeSet<(String, HttpMethod)>,
    /// Reasons for operations on resource paths that no kind uses.
    pub reasons: Vec<(String, HttpMethod, String)>,
}

/// A collection/item pair before schemas are converted.
pub(super) struct Candidate<'a> {
    /// Kind derived from the path (the key of `kinds` in the config).
    pub derived: String,
    /// Final kind (after a configured rename).
    pub kind: String,
    pub collection: &'a str,
    collection_item: &'a PathItem,
    pub item_path: &'a str,
    item: &'a PathItem,
    id_param: String,
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn param_name(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

pub(super) fn candidates<'a>(api: &'a OpenAPI, config: &Config) -> Vec<Candidate<'a>> {
    let items: Vec<(&'a str, &'a PathItem)> = api
        .paths
        .paths
        .iter()
        .filter_map(|(p, i)| match i {
            ReferenceOr::Item(i) => Some((p.as_str(), i)),
            ReferenceOr::Reference { .. } => None,
        })
        .collect();
    let mut out: Vec<Candidate<'a>> = Vec::new();
    for &(collection, collection_item) in &items {
        let segs = segments(collection);
        let Some(last) = segs.last() else { continue };
        if collection_item.post.is_none() || param_name(last).is_some() {
            continue;
        }
        let found = items.iter().find_map(|&(p, i)| {
            let rest = p
                .strip_prefix(collection.trim_end_matches('/'))?
                .strip_prefix('/')?;
            let id = param_name(rest)?;
            (i.get.is_some() && !id.is_empty() && !id.contains(['/', '{', '}'])).then_some((p, i, id))
        });
        let Some((item_path, item, id)) = found else {
            continue;
        };
        let base = naming::kind_for_segment(last);
        let derived = naming::dedupe(&base, &|k| out.iter().any(|c| c.derived == k));
        let kind = config
            .kinds
            .get(&derived)
            .and_then(|o| o.kind.clone())
            .unwrap_or_else(|| derived.clone());
        out.push(Candidate {
            derived,
            kind,
            collection,
            collection_item,
            item_path,
            item,
            id_param: id.to_owned(),
        });
    }
    out
}

pub(super) fn build<'a>(
    api: &'a OpenAPI,
    info: &ApiInfo,
    config: &Config,
    candidates: &[Candidate<'a>],
    converter: &mut SchemaConverter<'a>,
) -> Result<Resources> {
    let mut crds = Vec::new();
    let mut used = BTreeSet::new();
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();

    for param in config.id_field_map.keys() {
        if !candidates.iter().any(|c| &c.id_param == param) {
            warnings.push(format!(
                "{}idFieldMap.{param}: no Resource kind has the id path parameter {param:?}; ignored",
                overrides::origin(config)
            ));
        }
    }
    for c in candidates {
        let (mut crd, ops_used) = build_one(api, info, c, config, converter, &mut warnings);
        if let Some(o) = config.kinds.get(&c.derived) {
            overrides::rename_fields(&mut crd, &c.derived, &o.fields, config)?;
            if let Some(plural) = &o.plural {
                crd.names.plural = plural.clone();
            }
        }
        for (path, method) in [(c.collection, HttpMethod::Get), (c.item_path, HttpMethod::Get)]
            .into_iter()
            .flat_map(|(p, _)| {
                let item = if p == c.collection {
                    c.collection_item
                } else {
                    c.item
                };
                super::operations(item).map(move |(m, _)| (p, m))
            })
        {
            if !ops_used.contains(&(path.to_owned(), method)) {
                reasons.push((path.to_owned(), method, unused_reason(&crd, method, path)));
            }
        }
        used.extend(ops_used);
        crds.push(crd);
    }
    // Short names need every kind's names.
    let names: Vec<(String, String)> = crds
        .iter()
        .map(|c| (c.names.plural.clone(), c.names.singular.clone()))
        .collect();
    let mut chosen: Vec<String> = config
        .kinds
        .values()
        .flat_map(|o| o.short_names.iter().flatten().cloned())
        .collect();
    for (crd, c) in crds.iter_mut().zip(candidates) {
        if let Some(shorts) = config.kinds.get(&c.derived).and_then(|o| o.short_names.clone()) {
            crd.names.short_names = shorts;
            continue;
        }
        let taken = |n: &str| {
            chosen.iter().any(|c| c == n)
                || names
                    .iter()
                    .any(|(p, s)| (p == n || s == n) && *s != crd.names.singular)
        };
        if let Some(short) = naming::short_name(&crd.names.kind, &taken) {
            chosen.push(short.clone());
            crd.names.short_names = vec![short];
        }
    }
    Ok(Resources {
        crds,
        warnings,
        used,
        reasons,
    })
}

fn unused_reason(crd: &Crd, method: HttpMethod, path: &str) -> String {
    let CrdKind::Resource(ops) = &crd.kind else {
        return String::new();
    };
    let update = ops
        .update
        .as_ref()
        .map(|u| format!("updates use {} {}", u.operation.method.as_str(), u.operation.path))
        .unwrap_or_else(|| "it has no update".to_owned());
    if method == HttpMethod::Get && path != ops.read.path {
        return format!(
            "GET on the {} collection (a list); each {} CR reads its own object, so the list is not a kind",
            crd.names.kind, crd.names.kind
        );
    }
    format!(
        "{} on a {} path is not used by the {} Resource ({update})",
        method.as_str(),
        crd.names.kind,
        crd.names.kind
    )
}

fn build_one<'a>(
    api: &'a OpenAPI,
    info: &ApiInfo,
    c: &Candidate<'a>,
    config: &Config,
    converter: &mut SchemaConverter<'a>,
    warnings: &mut Vec<String>,
) -> (Crd, BTreeSet<(String, HttpMethod)>) {
    let module = module_name(&c.kind);
    let op = |path: &str, method: HttpMethod, operation: &openapiv3::Operation| Operation {
        method,
        path: path.to_owned(),
        operation_id: operation.operation_id.clone(),
        query: Vec::new(),
    };
    let mut used = BTreeSet::new();
    let create_op = c.collection_item.post.as_ref();
    let read_op = c.item.get.as_ref();
    let (update_method, update_path, update_item, update_op) = if let Some(o) = &c.item.patch {
        (UpdateMethod::Patch, c.item_path, c.item, Some(o))
    } else if let Some(o) = &c.item.put {
        (UpdateMethod::Put, c.item_path, c.item, Some(o))
    } else if let Some(o) = &c.collection_item.put {
        (UpdateMethod::Put, c.collection, c.collection_item, Some(o))
    } else {
        (UpdateMethod::Post, c.collection, c.collection_item, create_op)
    };
    let delete_op = c.item.delete.as_ref();

    // Spec body: the POST's JSON body, else the update's.
    let body = create_op
        .and_then(|o| json_body(api, o))
        .or_else(|| update_op.and_then(|o| json_body(api, o)));
    let mut fields: Vec<Field> = Vec::new();
    let mut read_only = Vec::new();
    let mut write_only = Vec::new();
    let mut spec_description = None;
    if let Some((_, schema)) = body {
        let object = converter.object_fields(schema, &c.kind, Some(&module), true);
        spec_description = object.description;
        read_only = object.read_only;
        write_only = object.write_only;
        for field in object.fields {
            if CONTROL_FIELDS.contains(&field.json_name.as_str()) {
                warnings.push(format!(
                    "{}: {}: body field {:?} clashes with the operator control spec.{}; it is not exposed",
                    overrides::pointer(c.collection, "post"),
                    c.kind,
                    field.json_name,
                    field.json_name
                ));
            } else {
                fields.push(field);
            }
        }
    } else {
        warnings.push(format!(
            "{}: {}: POST {} has no application/json object body; the spec has no body fields",
            overrides::pointer(c.collection, "post"),
            c.kind,
            c.collection
        ));
    }
    let body_fields: Vec<String> = fields.iter().map(|f| f.json_name.clone()).collect();

    // Id merge.
    let id_parameter = read_op.and_then(|o| find_param(api, c.item, o, &c.id_param));
    let extension = id_parameter
        .and_then(|p| p.parameter_data_ref().extensions.get("x-k8s-id-field"))
        .and_then(|v| v.as_str());
    let has = |name: &str, fields: &[Field]| fields.iter().any(|f| f.json_name == name);
    let mapped = config.id_field_map.get(&c.id_param);
    if let Some(m) = mapped.filter(|m| !has(m, &fields)) {
        warnings.push(format!(
            "{}idFieldMap.{}: {} has no body field {m:?}; the automatic id merge is used",
            overrides::origin(config),
            c.id_param,
            c.kind
        ));
    }
    let id_field = if let Some(m) = mapped.filter(|m| has(m, &fields)) {
        m.clone()
    } else if let Some(ext) = extension.filter(|e| has(e, &fields)) {
        ext.to_owned()
    } else if has(&c.id_param, &fields) {
        c.id_param.clone()
    } else if let Some(f) = fields.iter().find(|f| {
        f.json_name.eq_ignore_ascii_case("id")
            && (c.id_param.eq_ignore_ascii_case(&format!("{}id", c.kind)) || c.id_param == "id")
    }) {
        f.json_name.clone()
    } else {
        let mut field = param_field(
            converter,
            &c.kind,
            &fields,
            &c.id_param,
            id_parameter,
            FieldSource::PathParam,
        );
        field.required = false;
        let name = field.json_name.clone();
        fields.push(field);
        name
    };

    // Other path parameters.
    let mut path_params = Vec::new();
    for seg in segments(c.item_path) {
        let Some(name) = param_name(seg) else { continue };
        if name == c.id_param || path_params.iter().any(|b: &ParamBinding| b.name == name) {
            continue;
        }
        let param = read_op.and_then(|o| find_param(api, c.item, o, name));
        let field = bind(
            converter,
            &c.kind,
            &mut fields,
            name,
            param,
            FieldSource::PathParam,
            true,
        );
        path_params.push(ParamBinding {
            name: name.to_owned(),
            field,
        });
    }

    // Query parameters of the operations used.
    let mut with_query = |path: &str,
                          method: HttpMethod,
                          item: &'a PathItem,
                          o: &'a openapiv3::Operation,
                          fields: &mut Vec<Field>| {
        let mut operation = op(path, method, o);
        for p in all_params(api, item, o) {
            if let Parameter::Query { parameter_data, .. } = p {
                let name = &parameter_data.name;
                if operation.query.iter().any(|b| &b.name == name) {
                    continue;
                }
                let field = bind(
                    converter,
                    &c.kind,
                    fields,
                    name,
                    Some(p),
                    FieldSource::QueryParam,
                    parameter_data.required,
                );
                operation.query.push(ParamBinding {
                    name: name.clone(),
                    field,
                });
            }
        }
        used.insert((path.to_owned(), method));
        operation
    };
    let create =
        create_op.map(|o| with_query(c.collection, HttpMethod::Post, c.collection_item, o, &mut fields));
    let read = match read_op {
        Some(o) => with_query(c.item_path, HttpMethod::Get, c.item, o, &mut fields),
        None => Operation {
            method: HttpMethod::Get,
            path: c.item_path.to_owned(),
            operation_id: None,
            query: Vec::new(),
        },
    };
    let http_update = match update_method {
        UpdateMethod::Patch => HttpMethod::Patch,
        UpdateMethod::Put => HttpMethod::Put,
        UpdateMethod::Post => HttpMethod::Post,
    };
    let update = update_op.map(|o| Update {
        method: update_method,
        operation: with_query(update_path, http_update, update_item, o, &mut fields),
    });
    let delete = delete_op.map(|o| with_query(c.item_path, HttpMethod::Delete, c.item, o, &mut fields));

    let crd = Crd {
        names: CrdNames {
            kind: c.kind.clone(),
            plural: naming::plural(&c.kind),
            singular: c.kind.to_ascii_lowercase(),
            short_names: Vec::new(),
            categories: vec![info.app_name.clone()],
        },
        module,
        spec_type: format!("{}Spec", c.kind),
        description: format!(
            "{} is a Resource of the {}{} kept in sync by {}.",
            c.kind,
            info.title,
            if info.title.to_ascii_lowercase().ends_with("api") {
                ""
            } else {
                " API"
            },
            info.operator_name
        ),
        spec_description: spec_description.unwrap_or_else(|| {
            format!(
                "Desired state of a {}: the backend object's fields plus operator controls.",
                c.kind
            )
        }),
        fields,
        kind: CrdKind::Resource(Box::new(ResourceOps {
            id_param: c.id_param.clone(),
            id_field: Some(id_field),
            path_params,
            create,
            read,
            update,
            delete,
            body_fields,
            read_only_fields: read_only,
            ignore_fields: config
                .kinds
                .get(&c.derived)
                .map(|o| o.ignore_fields.clone())
                .unwrap_or_default()
                .into_iter()
                // `writeOnly` properties are sent but never come back: not drift.
                .chain(
                    write_only
                        .iter()
                        .map(|f| format!("/{}", f.replace('~', "~0").replace('/', "~1"))),
                )
                .collect(),
        })),
    };
    (crd, used)
}

pub(super) fn module_name(kind: &str) -> String {
    let snake = naming::field_ident(kind);
    if naming::is_plain_ident(&snake) {
        snake
    } else {
        format!("{}_kind", snake.trim_start_matches("r#").trim_end_matches('_'))
    }
}
