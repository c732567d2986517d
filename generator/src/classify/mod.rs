//! Spec + Config → Model: every "which endpoint becomes which kind" decision lives here.

pub mod filter;
mod overrides;
mod params;
mod resource;
mod runs;
mod schema;
mod security;

use openapiv3::{OpenAPI, PathItem, ReferenceOr};

use crate::config::Config;
use crate::error::{Error, Found, Result};
use crate::model::{ApiInfo, Crd, CrdKind, CrdNames, HttpMethod, Model, Unclassified, naming};
use crate::parse::Spec;

/// Builds the IR. Fails with [`Error::NoResources`] when no Resource kind can be formed.
pub fn classify(spec: &Spec, config: &Config) -> Result<Model> {
    config.validate()?;
    let (filtered_api, filtered) = filter::apply(&spec.openapi, &config.filters);
    let api: &OpenAPI = &filtered_api;
    let group = match &config.group {
        Some(g) => g.clone(),
        None => naming::default_group(&api.info.title),
    };
    let app_name = group.split('.').next().unwrap_or("app").to_owned();
    let mut warnings = Vec::new();
    let security = security::schemes(api, &mut warnings);
    let info = ApiInfo {
        title: api.info.title.trim().to_owned(),
        version: api.info.version.clone(),
        description: api.info.description.as_deref().and_then(first_paragraph),
        spec_source: config.spec.display(),
        app_name: app_name.clone(),
        group,
        api_version: config.api_version.clone(),
        operator_name: format!("{app_name}-operator"),
        crate_name: format!("{app_name}-operator"),
        server_url: api
            .servers
            .first()
            .map(|s| s.url.clone())
            .filter(|u| u.starts_with("http")),
        base_path: api.servers.first().and_then(|s| server_path(&s.url)),
        security,
    };
    let endpoints = endpoints(api);

    // Names first: every kind reserves its type names before any schema is converted.
    let resource_candidates = resource::candidates(api, config);
    let claimed: std::collections::BTreeSet<&str> = resource_candidates
        .iter()
        .flat_map(|c| [c.collection, c.item_path])
        .collect();
    let resource_kinds: Vec<String> = resource_candidates.iter().map(|c| c.kind.clone()).collect();
    let mut reasons = Vec::new();
    let run_candidates = runs::candidates(
        api,
        config,
        &claimed,
        &resource_kinds,
        &mut warnings,
        &mut reasons,
    );
    let aggregate_kind = format!("{}Aggregate", naming::type_ident(&app_name));
    let mut names: Vec<(&str, &str)> = resource_candidates
        .iter()
        .map(|c| (c.derived.as_str(), c.kind.as_str()))
        .chain(
            run_candidates
                .iter()
                .map(|c| (c.derived.as_str(), c.kind.as_str())),
        )
        .collect();
    names.push((aggregate_kind.as_str(), aggregate_kind.as_str()));
    overrides::check_kinds(&names, config)?;
    let reserved: Vec<String> = names
        .iter()
        .flat_map(|(_, k)| {
            let mut names = naming::kind_type_names(k).to_vec();
            names.push((*k).to_owned());
            names
        })
        .collect();
    let mut converter = schema::SchemaConverter::new(api, reserved);

    let resources = resource::build(api, &info, config, &resource_candidates, &mut converter)?;
    let runs = runs::build(api, &info, config, &run_candidates, &mut converter)?;
    let mut used = resources.used.clone();
    used.extend(runs.used.iter().cloned());
    reasons.extend(resources.reasons.iter().cloned());
    reasons.extend(runs.reasons.iter().cloned());
    warnings.extend(resources.warnings.iter().cloned());
    warnings.extend(runs.warnings.iter().cloned());
    warnings.append(&mut converter.warnings);

    let mut unclassified: Vec<Unclassified> = endpoints
        .iter()
        .filter(|e| !used.contains(&(e.path.to_owned(), e.method)))
        .map(|e| Unclassified {
            method: e.method,
            path: e.path.to_owned(),
            operation_id: e.operation_id.map(str::to_owned),
            reason: reasons
                .iter()
                .find(|(p, m, _)| p == e.path && *m == e.method)
                .map(|(_, _, r)| r.clone())
                .unwrap_or_else(|| default_reason(e)),
        })
        .collect();
    unclassified.sort_by(|a, b| (&a.path, a.method).cmp(&(&b.path, b.method)));
    if resources.crds.is_empty() && runs.crds.is_empty() {
        return Err(Error::NoResources {
            file: spec.file.clone(),
            unclassified: unclassified
                .iter()
                .map(|u| Found {
                    method: u.method.as_str().to_owned(),
                    path: u.path.clone(),
                    reason: u.reason.clone(),
                })
                .collect(),
        });
    }
    let mut crds = resources.crds;
    crds.extend(runs.crds);
    crds.push(aggregate_crd(&info, config, &aggregate_kind, &crds));
    Ok(Model {
        api: info,
        types: converter.types,
        crds,
        unclassified,
        warnings: spec
            .warnings
            .iter()
            .map(|w| format!("{}{w}", spec.file))
            .chain(warnings.into_iter().map(|w| {
                if w.starts_with("#/") {
                    format!("{}{w}", spec.file)
                } else {
                    w
                }
            }))
            .collect(),
        filtered,
    })
}

/// The one `<App>Aggregate` kind (short name `agg` unless taken).
fn aggregate_crd(info: &ApiInfo, config: &Config, kind: &str, others: &[Crd]) -> Crd {
    let over = config.kinds.get(kind);
    let kind_name = over
        .and_then(|o| o.kind.clone())
        .unwrap_or_else(|| kind.to_owned());
    let taken = |n: &str| {
        others.iter().any(|c| {
            c.names.short_names.iter().any(|s| s == n) || c.names.plural == n || c.names.singular == n
        })
    };
    let short_names = match over.and_then(|o| o.short_names.clone()) {
        Some(s) => s,
        None if !taken("agg") => vec!["agg".to_owned()],
        None => Vec::new(),
    };
    Crd {
        names: CrdNames {
            plural: over
                .and_then(|o| o.plural.clone())
                .unwrap_or_else(|| naming::plural(&kind_name)),
            singular: kind_name.to_ascii_lowercase(),
            short_names,
            categories: vec![info.app_name.clone()],
            kind: kind_name.clone(),
        },
        module: resource::module_name(&kind_name),
        spec_type: format!("{kind_name}Spec"),
        description: format!(
            "{kind_name} is the health view of {}'s custom resources: which are synced, failed or pending, and values computed from them with CEL.",
            info.operator_name
        ),
        spec_description: "Which resources to aggregate, when the aggregate is healthy, and values computed from them with CEL.".to_owned(),
        fields: Vec::new(),
        kind: CrdKind::Aggregate,
    }
}

/// The path of a server URL (`https://h/api/v3` → `/api/v3`, `/v2/` → `/v2`); `None` for `/`, an
/// empty path, or a path with `{variables}` (they have no value to substitute).
fn server_path(url: &str) -> Option<String> {
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    };
    let path = rest.split(['?', '#']).next().unwrap_or("").trim_end_matches('/');
    (path.starts_with('/') && !path.contains('{')).then(|| path.to_owned())
}

fn first_paragraph(text: &str) -> Option<String> {
    let para = text.trim().split("\n\n").next()?.trim();
    (!para.is_empty()).then(|| para.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// One operation of the spec.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint<'a> {
    pub path: &'a str,
    pub method: HttpMethod,
    pub operation_id: Option<&'a str>,
    pub item: &'a PathItem,
}

fn endpoints(api: &OpenAPI) -> Vec<Endpoint<'_>> {
    let mut out = Vec::new();
    for (path, item) in &api.paths.paths {
        // Path-item `$ref`s are rare; they are validated but not followed in this release.
        let ReferenceOr::Item(item) = item else { continue };
        for (method, operation) in operations(item) {
            out.push(Endpoint {
                path,
                method,
                operation_id: operation.operation_id.as_deref(),
                item,
            });
        }
    }
    out
}

pub(crate) fn operations(item: &PathItem) -> impl Iterator<Item = (HttpMethod, &openapiv3::Operation)> {
    [
        (HttpMethod::Get, &item.get),
        (HttpMethod::Put, &item.put),
        (HttpMethod::Post, &item.post),
        (HttpMethod::Delete, &item.delete),
        (HttpMethod::Options, &item.options),
        (HttpMethod::Head, &item.head),
        (HttpMethod::Patch, &item.patch),
        (HttpMethod::Trace, &item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
}

fn default_reason(e: &Endpoint<'_>) -> String {
    let methods: Vec<HttpMethod> = operations(e.item).map(|(m, _)| m).collect();
    let has = |m: HttpMethod| methods.contains(&m);
    if methods.iter().all(|m| *m == HttpMethod::Get) {
        "GET-only endpoint on the root path; set --root-kind to name its Query kind".to_owned()
    } else if !has(HttpMethod::Get)
        && !has(HttpMethod::Delete)
        && !has(HttpMethod::Patch)
        && e.method != HttpMethod::Get
    {
        format!(
            "{}-only endpoint ending in a path parameter; Actions need a named last segment",
            e.method.as_str()
        )
    } else {
        "no collection path with POST and item path `<path>/{id}` with GET matches this endpoint".to_owned()
    }
}

/// The stderr report of endpoints that did not become kinds.
pub fn report(model: &Model) -> String {
    let mut out = String::new();
    for w in &model.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    if model.unclassified.is_empty() {
        return out;
    }
    let rows: Vec<[String; 4]> = model
        .unclassified
        .iter()
        .map(|u| {
            [
                u.method.as_str().to_owned(),
                u.path.clone(),
                u.operation_id.clone().unwrap_or_default(),
                u.reason.clone(),
            ]
        })
        .collect();
    let header = ["METHOD", "PATH", "OPERATION", "REASON"].map(str::to_owned);
    let width = |i: usize| {
        rows.iter()
            .chain([&header])
            .map(|r| r.get(i).map_or(0, String::len))
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    out.push_str(&format!(
        "{} endpoints did not become kinds:\n",
        model.unclassified.len()
    ));
    for row in [&header].into_iter().chain(rows.iter()) {
        let [m, p, o, r] = row;
        out.push_str(&format!(
            "  {m:<w0$}  {p:<w1$}  {o:<w2$}  {r}\n",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SpecSource;
    use crate::model::{CrdKind, TypeDefKind, TypeRef, UpdateMethod};

    fn model(yaml: &str) -> Result<Model> {
        let spec = crate::parse::from_str("test.yaml", yaml)?;
        classify(&spec, &Config::new(SpecSource::Path("test.yaml".into()), "out"))
    }

    const HEAD: &str = "openapi: 3.0.3\ninfo: {title: Shop API, version: '1'}\n";

    fn ops(m: &Model, i: usize) -> &crate::model::ResourceOps {
        let CrdKind::Resource(ops) = &m.crds[i].kind else {
            panic!("{} is not a Resource", m.crds[i].names.kind)
        };
        ops
    }

    #[test]
    fn collection_and_item_paths_form_a_resource_with_patch_update_and_merged_id() {
        let m = model(&format!(
            "{HEAD}paths:
  /widgets:
    post:
      requestBody: {{content: {{application/json: {{schema: {{$ref: '#/components/schemas/Widget'}}}}}}}}
      responses: {{'201': {{description: ok}}}}
  /widgets/{{widgetId}}:
    parameters: [{{name: widgetId, in: path, required: true, schema: {{type: integer}}}}]
    get: {{responses: {{'200': {{description: ok}}}}}}
    put: {{responses: {{'200': {{description: ok}}}}}}
    patch: {{responses: {{'200': {{description: ok}}}}}}
    delete: {{responses: {{'204': {{description: ok}}}}}}
components:
  schemas:
    Widget:
      type: object
      required: [name]
      properties:
        id: {{type: integer, format: int64, readOnly: true}}
        name: {{type: string}}
        size: {{type: number, format: float}}
"
        ))
        .unwrap();
        assert_eq!(m.api.group, "shop.example.com");
        let crd = &m.crds[0];
        assert_eq!(
            (crd.names.kind.as_str(), crd.names.plural.as_str()),
            ("Widget", "widgets")
        );
        assert_eq!(crd.names.categories, vec!["shop"]);
        let o = ops(&m, 0);
        assert_eq!(o.update.as_ref().unwrap().method, UpdateMethod::Patch);
        assert_eq!(o.update.as_ref().unwrap().operation.path, "/widgets/{widgetId}");
        assert_eq!(o.read_only_fields, vec!["id"]);
        assert_eq!(o.body_fields, vec!["name", "size"]);
        // `id` is read-only (not in the spec), so the id param becomes its own optional field.
        assert_eq!(o.id_field.as_deref(), Some("widgetId"));
        let id = crd.fields.iter().find(|f| f.json_name == "widgetId").unwrap();
        assert_eq!((id.ty.clone(), id.required), (TypeRef::I64, false));
        assert_eq!(
            crd.fields.iter().find(|f| f.json_name == "size").unwrap().ty,
            TypeRef::F32
        );
        // PUT on the item path is not used when PATCH exists.
        assert!(
            m.unclassified
                .iter()
                .any(|u| u.method == HttpMethod::Put && u.path == "/widgets/{widgetId}")
        );
    }

    #[test]
    fn post_upsert_query_params_nested_path_params_and_id_extension() {
        let m = model(&format!(
            "{HEAD}paths:
  /teams/{{teamId}}/members:
    post:
      parameters:
        - {{name: teamId, in: path, required: true, schema: {{type: string}}}}
        - {{name: notify, in: query, schema: {{type: boolean}}}}
        - {{name: X-Trace, in: header, schema: {{type: string}}}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                handle: {{type: string}}
                type: {{type: string, enum: [admin, guest]}}
                labels: {{type: object, additionalProperties: {{type: string}}}}
                extra: {{type: object}}
      responses: {{'200': {{description: ok}}}}
  /teams/{{teamId}}/members/{{memberKey}}:
    get:
      parameters:
        - {{name: teamId, in: path, required: true, schema: {{type: string}}}}
        - {{name: memberKey, in: path, required: true, x-k8s-id-field: handle, schema: {{type: string}}}}
        - {{name: tags, in: query, schema: {{type: array, items: {{type: string}}}}}}
      responses: {{'200': {{description: ok}}}}
"
        ))
        .unwrap();
        let crd = &m.crds[0];
        assert_eq!(crd.names.kind, "Member");
        let o = ops(&m, 0);
        assert_eq!(o.id_field.as_deref(), Some("handle"));
        assert_eq!(o.update.as_ref().unwrap().method, UpdateMethod::Post);
        assert_eq!(o.path_params.len(), 1);
        assert_eq!(o.path_params[0].name, "teamId");
        assert_eq!(o.create.as_ref().unwrap().query[0].name, "notify");
        assert_eq!(o.read.query[0].name, "tags");
        let names: Vec<&str> = crd.fields.iter().map(|f| f.rust_name.as_str()).collect();
        assert_eq!(
            names,
            vec!["handle", "r#type", "labels", "extra", "team_id", "notify", "tags"]
        );
        let labels = crd.fields.iter().find(|f| f.json_name == "labels").unwrap();
        assert_eq!(labels.ty, TypeRef::Map(Box::new(TypeRef::String)));
        assert_eq!(
            crd.fields.iter().find(|f| f.json_name == "extra").unwrap().ty,
            TypeRef::Json
        );
        assert_eq!(
            crd.fields.iter().find(|f| f.json_name == "tags").unwrap().ty,
            TypeRef::Array(Box::new(TypeRef::String))
        );
        assert!(m.types.get("MemberType").is_some());
    }

    #[test]
    fn recursive_schemas_are_cut_with_a_warning() {
        let m = model(&format!(
            "{HEAD}paths:
  /nodes:
    post:
      requestBody: {{content: {{application/json: {{schema: {{$ref: '#/components/schemas/Node'}}}}}}}}
      responses: {{'200': {{description: ok}}}}
  /nodes/{{id}}:
    get: {{parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}], responses: {{'200': {{description: ok}}}}}}
components:
  schemas:
    Node:
      type: object
      properties:
        id: {{type: string}}
        child: {{$ref: '#/components/schemas/Child'}}
    Child:
      type: object
      properties:
        parent: {{$ref: '#/components/schemas/Child'}}
        state: {{type: string, enum: [up, down]}}
"
        ))
        .unwrap();
        assert_eq!(ops(&m, 0).id_field.as_deref(), Some("id"));
        let child = m.types.get("Child").unwrap();
        let TypeDefKind::Struct { fields } = &child.kind else {
            panic!("struct")
        };
        assert_eq!(fields[0].ty, TypeRef::Json);
        assert!(m.warnings.iter().any(|w| w.contains("recursive")));
        let names: Vec<&str> = m.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Child", "ChildState"]);
        assert_eq!(m.types.get("ChildState").unwrap().module, None);
    }

    #[test]
    fn a_spec_without_kinds_is_an_error_listing_what_was_found() {
        let err = model(&format!(
            "{HEAD}paths:\n  /status/{{id}}:\n    delete: {{operationId: dropStatus, responses: {{'204': {{description: ok}}}}}}\n"
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("test.yaml#/paths: no kind found"), "{text}");
        assert!(text.contains("DELETE /status/{id} ("), "{text}");
    }

    #[test]
    fn server_paths() {
        assert_eq!(
            server_path("https://petstore3.swagger.io/api/v3").as_deref(),
            Some("/api/v3")
        );
        assert_eq!(server_path("/v2/").as_deref(), Some("/v2"));
        assert_eq!(server_path("http://h:8080"), None);
        assert_eq!(server_path("http://h/"), None);
        assert_eq!(server_path("https://{region}.h/{version}"), None);
    }

    #[test]
    fn get_only_paths_are_queries_and_post_only_paths_are_actions() {
        let m = model(&format!(
            "{HEAD}paths:
  /status:
    get:
      parameters: [{{name: verbose, in: query, schema: {{type: boolean}}}}, {{name: paused, in: query, schema: {{type: boolean}}}}]
      responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{type: array, items: {{$ref: '#/components/schemas/Check'}}}}}}}}}}}}
  /jobs/{{jobId}}/cancel:
    post:
      parameters: [{{name: jobId, in: path, required: true, schema: {{type: integer}}}}, {{name: reason, in: query, schema: {{type: string}}}}]
      responses: {{'202': {{description: ok}}}}
  /files/upload:
    post:
      requestBody:
        content: {{multipart/form-data: {{schema: {{type: object, properties: {{note: {{type: string}}, file: {{type: string, format: binary}}}}}}}}}}
      responses: {{'200': {{description: ok}}}}
  /checks/bulk:
    put:
      requestBody: {{required: true, content: {{application/json: {{schema: {{type: array, items: {{$ref: '#/components/schemas/Check'}}}}}}}}}}
      responses: {{'200': {{description: ok}}}}
components:
  schemas:
    Check: {{type: object, required: [name], properties: {{name: {{type: string}}, ok: {{type: boolean}}}}}}
"
        ))
        .unwrap();
        let kinds: Vec<(&str, &str)> = m
            .crds
            .iter()
            .map(|c| (c.names.kind.as_str(), c.kind.family()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("StatusQuery", "Query"),
                ("JobCancelAction", "Action"),
                ("FileUploadAction", "Action"),
                ("CheckBulkAction", "Action"),
                ("ShopAggregate", "Aggregate"),
            ]
        );
        let CrdKind::Query(q) = &m.crds[0].kind else {
            panic!("query")
        };
        assert_eq!(
            q.results,
            Some(TypeRef::Array(Box::new(TypeRef::Named("Check".into()))))
        );
        // `paused` is an operator control: the parameter is exposed as `pausedParam`.
        let bound: Vec<(&str, &str)> = q
            .operation
            .query
            .iter()
            .map(|b| (b.name.as_str(), b.field.as_str()))
            .collect();
        assert_eq!(bound, [("verbose", "verbose"), ("paused", "pausedParam")]);
        let CrdKind::Action(cancel) = &m.crds[1].kind else {
            panic!("action")
        };
        assert_eq!(cancel.path_params[0].name, "jobId");
        assert_eq!(cancel.operation.query[0].name, "reason");
        assert_eq!(cancel.body, crate::model::ActionBody::None);
        let CrdKind::Action(upload) = &m.crds[2].kind else {
            panic!("action")
        };
        assert_eq!(
            upload.body,
            crate::model::ActionBody::Multipart {
                file_part: "file".into(),
                fields: vec!["note".into()]
            }
        );
        let CrdKind::Action(bulk) = &m.crds[3].kind else {
            panic!("action")
        };
        assert_eq!(bulk.operation.method, HttpMethod::Put);
        assert_eq!(
            bulk.body,
            crate::model::ActionBody::JsonField {
                field: "items".into()
            }
        );
        let items = m.crds[3].fields.iter().find(|f| f.json_name == "items").unwrap();
        assert!(items.required);
        assert!(m.unclassified.is_empty(), "{:?}", m.unclassified);
    }

    #[test]
    fn kinds_get_distinct_names_and_short_names() {
        let m = model(&format!(
            "{HEAD}paths:
  /a/items:
    post: {{responses: {{'200': {{description: ok}}}}}}
  /a/items/{{id}}:
    get: {{responses: {{'200': {{description: ok}}}}}}
  /b/items:
    post: {{responses: {{'200': {{description: ok}}}}}}
  /b/items/{{id}}:
    get: {{responses: {{'200': {{description: ok}}}}}}
  /policies:
    post: {{responses: {{'200': {{description: ok}}}}}}
  /policies/{{policyId}}:
    get: {{responses: {{'200': {{description: ok}}}}}}
"
        ))
        .unwrap();
        let kinds: Vec<(&str, &str, &[String])> = m
            .crds
            .iter()
            .map(|c| {
                (
                    c.names.kind.as_str(),
                    c.names.plural.as_str(),
                    c.names.short_names.as_slice(),
                )
            })
            .collect();
        assert_eq!(kinds[0].0, "Item");
        assert_eq!(kinds[1].0, "Item2");
        assert_eq!(kinds[2].1, "policies");
        assert_eq!(kinds[0].2, ["ite"]);
        assert_eq!(kinds[1].2, ["it"]);
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("no application/json object body"))
        );
    }
}
