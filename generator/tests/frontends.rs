//! Input front-ends: Swagger 2.0, OpenAPI 3.1 and external-file `$ref`s convert to OpenAPI 3.0 and
//! generate; the converted documents (and the FastAPI IR) are snapshotted under `snapshots/frontends/`.

#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on failure by design"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use openapi_operator_gen::model::Model;
use openapi_operator_gen::{Config, RuntimeDep, SpecSource, WorkspaceMode, parse};

fn config(spec: &str) -> Config {
    let mut config = Config::new(SpecSource::Path(format!("specs/{spec}").into()), "out");
    config.runtime = Some(RuntimeDep::Path("runtime".into()));
    config.workspace = WorkspaceMode::Member;
    config
}

fn generate(spec: &str) -> openapi_operator_gen::Generated {
    std::env::set_current_dir(common::repo_root()).unwrap();
    openapi_operator_gen::generate(&config(spec)).unwrap()
}

fn load(spec: &str) -> parse::Spec {
    std::env::set_current_dir(common::repo_root()).unwrap();
    parse::load(&SpecSource::Path(format!("specs/{spec}").into())).unwrap()
}

fn kinds(model: &Model) -> Vec<String> {
    model.crds.iter().map(|c| c.names.kind.clone()).collect()
}

fn spec_fields(model: &Model, kind: &str) -> Vec<String> {
    let crd = model.crds.iter().find(|c| c.names.kind == kind).unwrap();
    crd.fields.iter().map(|f| f.json_name.clone()).collect()
}

#[test]
fn swagger_petstore_generates_pet_order_user() {
    let generated = generate("petstore-swagger-2.0.yaml");
    assert_eq!(
        kinds(&generated.model),
        [
            "Pet",
            "Order",
            "User",
            "PetUploadimageAction",
            "PetFindbystatusQuery",
            "PetFindbytagsQuery",
            "StoreInventoryQuery",
            "UserCreatewitharrayAction",
            "UserCreatewithlistAction",
            "UserLoginQuery",
            "UserLogoutQuery",
            "PetstoreAggregate"
        ]
    );
    // The body parameter's schema is used as is (not wrapped in a `body` object).
    assert_eq!(
        spec_fields(&generated.model, "Pet"),
        ["id", "category", "name", "photoUrls", "tags", "status"]
    );
    assert_eq!(
        generated.model.api.server_url.as_deref(),
        Some("https://petstore.swagger.io/v2")
    );
}

#[test]
fn swagger_petstore_converted_document() {
    let spec = load("petstore-swagger-2.0.yaml");
    assert!(spec.warnings.is_empty(), "{:?}", spec.warnings);
    common::settings("frontends").bind(|| {
        insta::assert_yaml_snapshot!("petstore-swagger-2.0.converted", spec.raw);
    });
}

#[test]
fn fastapi_3_1_generates_item() {
    let generated = generate("fastapi-3.1.json");
    assert_eq!(kinds(&generated.model), ["Item", "InventoryAggregate"]);
    assert_eq!(
        spec_fields(&generated.model, "Item"),
        ["name", "description", "price", "tax", "tags", "kind", "item_id"]
    );
    common::settings("frontends").bind(|| {
        insta::assert_yaml_snapshot!("fastapi-3.1.ir", generated.model);
    });
}

#[test]
fn oas31_types_converted_document_and_warnings() {
    let spec = load("oas31-types.yaml");
    let warnings: Vec<String> = spec.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "#/components/schemas/Gadget/properties/point/prefixItems: `prefixItems` has no OpenAPI 3.0 equivalent and was dropped",
            "#/components/schemas/Gadget/properties/shape/if: `if` has no OpenAPI 3.0 equivalent and was dropped",
            "#/components/schemas/Gadget/properties/shape/then: `then` has no OpenAPI 3.0 equivalent and was dropped",
            "#/components/schemas/Gadget/properties/shape/unevaluatedProperties: `unevaluatedProperties` has no OpenAPI 3.0 equivalent and was dropped",
        ]
    );
    common::settings("frontends").bind(|| {
        insta::assert_yaml_snapshot!("oas31-types.converted", spec.raw);
    });
    let generated = generate("oas31-types.yaml");
    assert_eq!(kinds(&generated.model), ["Gadget", "OasTypesAggregate"]);
    // Parse warnings reach the model (and so the report), naming file and pointer.
    assert!(
        generated.model.warnings.iter().any(|w| w
            .starts_with("specs/oas31-types.yaml#/components/schemas/Gadget/properties/point/prefixItems:")),
        "{:?}",
        generated.model.warnings
    );
}

#[test]
fn external_refs_are_bundled() {
    let spec = load("external-refs/openapi.yaml");
    let schemas = &spec.raw["components"]["schemas"];
    let names: Vec<&String> = schemas.as_object().unwrap().keys().collect();
    // The local `Error` keeps its name; the external one is renamed; the cycle pet → Owner → pet terminates.
    assert_eq!(names, ["Error", "pet", "tag", "Owner", "Error2"]);
    assert_eq!(
        schemas["pet"]["properties"]["tag"]["$ref"],
        "#/components/schemas/tag"
    );
    assert_eq!(
        schemas["pet"]["properties"]["owner"]["$ref"],
        "#/components/schemas/Owner"
    );
    assert_eq!(
        schemas["Owner"]["properties"]["pets"]["items"]["$ref"],
        "#/components/schemas/pet"
    );
    assert_eq!(spec.raw["components"]["parameters"]["PetId"]["name"], "id");
    let op = &spec.raw["paths"]["/pets/{id}"]["get"];
    assert_eq!(op["parameters"][0]["$ref"], "#/components/parameters/PetId");
    assert_eq!(
        op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error2"
    );
    let generated = generate("external-refs/openapi.yaml");
    assert_eq!(kinds(&generated.model), ["Pet", "ExternalRefsAggregate"]);
    assert_eq!(
        spec_fields(&generated.model, "Pet"),
        ["name", "tag", "owner", "id"]
    );
}

/// Serves the files of `specs/external-refs/` on 127.0.0.1 (404 for anything else) until the test ends.
fn serve_external_refs() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let root = common::repo_root().join("specs/external-refs");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let path = request_line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let body = if path.contains("..") {
                None
            } else {
                std::fs::read(root.join(path)).ok()
            };
            let (status, body) = match &body {
                Some(bytes) => ("200 OK", bytes.as_slice()),
                None => ("404 Not Found", b"no such file".as_slice()),
            };
            write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(body).unwrap();
        }
    });
    format!("http://{addr}")
}

#[test]
fn external_refs_of_a_url_spec_resolve_against_the_url() {
    let base = serve_external_refs();
    let from_url = parse::load(&SpecSource::Url(format!("{base}/openapi.yaml"))).unwrap();
    let from_file = load("external-refs/openapi.yaml");
    assert_eq!(from_url.raw, from_file.raw);
    let err = parse::load(&SpecSource::Url(format!("{base}/broken.yaml")))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{base}/broken.yaml#/components/schemas/Pet/$ref: cannot resolve external $ref \"missing.yaml\": \
             {base}/missing.yaml: cannot fetch the spec: HTTP 404 Not Found"
        )
    );
}

#[test]
fn external_refs_of_a_swagger_2_spec_land_in_components() {
    let spec = load("external-refs/swagger.yaml");
    let schemas = &spec.raw["components"]["schemas"];
    let names: Vec<&String> = schemas.as_object().unwrap().keys().collect();
    assert_eq!(names, ["pet", "tag", "Owner"]);
    assert_eq!(
        schemas["Owner"]["properties"]["pets"]["items"]["$ref"],
        "#/components/schemas/pet"
    );
    let generated = generate("external-refs/swagger.yaml");
    assert_eq!(kinds(&generated.model), ["Pet", "ExternalRefsAggregate"]);
}

#[test]
fn split_layouts_inline_path_items_and_file_parameters_and_responses() {
    let spec = load("external-refs/split.yaml");
    let components = &spec.raw["components"];
    let sections: Vec<(&String, Vec<&String>)> = components
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k, v.as_object().unwrap().keys().collect()))
        .collect();
    assert_eq!(
        format!("{sections:?}"),
        r#"[("schemas", ["pet", "tag", "Owner"]), ("responses", ["created"]), ("parameters", ["id"])]"#
    );
    let item = &spec.raw["paths"]["/pets/{id}"];
    assert_eq!(item["parameters"][0]["$ref"], "#/components/parameters/id");
    assert_eq!(
        spec.raw["paths"]["/pets"]["post"]["responses"]["201"]["$ref"],
        "#/components/responses/created"
    );
    let generated = generate("external-refs/split.yaml");
    assert_eq!(kinds(&generated.model), ["Pet", "SplitLayoutAggregate"]);
    assert_eq!(
        spec_fields(&generated.model, "Pet"),
        ["name", "tag", "owner", "id"]
    );
}

/// Constructs with no faithful CRD/Rust form are approximated with a warning naming the keyword:
/// `not`, a union next to other keywords, `additionalProperties` next to `properties`.
#[test]
fn silent_approximations_are_warned_about() {
    let yaml = r"
openapi: 3.0.3
info: {title: Shapes, version: '1'}
paths:
  /widgets:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Widget'}
      responses: {'201': {description: ok}}
  /widgets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
components:
  schemas:
    Widget:
      type: object
      properties:
        id: {type: string}
        notAdmin: {type: string, not: {enum: [admin]}}
        shape:
          properties: {sides: {type: integer}}
          oneOf:
            - {properties: {radius: {type: number}}, required: [radius]}
            - {properties: {width: {type: number}}, required: [width]}
        labels:
          type: object
          properties: {team: {type: string}}
          additionalProperties: {type: string}
        closed:
          type: object
          properties: {team: {type: string}}
          additionalProperties: false
";
    let spec = parse::from_str("shapes.yaml", yaml).unwrap();
    let generated = openapi_operator_gen::generate_from_spec(&spec, &config("shapes.yaml")).unwrap();
    let warnings = &generated.model.warnings;
    let base = "shapes.yaml#/components/schemas/Widget/properties";
    for expected in [
        format!("{base}/notAdmin/not: `not` has no CRD or Rust equivalent"),
        format!("{base}/shape/oneOf: a union next to other keywords"),
        format!("{base}/labels/additionalProperties: additionalProperties next to properties is dropped"),
    ] {
        assert!(
            warnings.iter().any(|w| w.starts_with(&expected)),
            "no warning starting {expected:?} in {warnings:#?}"
        );
    }
    // `additionalProperties: false` loses nothing: a structural schema prunes unknown keys anyway.
    assert!(!warnings.iter().any(|w| w.contains("/closed/")), "{warnings:#?}");
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
}
