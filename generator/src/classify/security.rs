//! `components.securitySchemes` (+ top-level and operation `security`) → [`SecurityScheme`]s in declaration order, for the runtime's backend authentication.
//!
//! Mapping: `http` `bearer` → bearer, `http` `basic` → basic, `apiKey` → its header, query
//! parameter or cookie, `oauth2` and `openIdConnect` → a bearer token read from the auth Secret
//! (with a warning: no flow is run), `mutualTLS` (OpenAPI 3.1, carried through the 3.0
//! down-levelling as `http` scheme `mutualTLS`) → the Secret's client certificate. Other `http`
//! schemes (`digest`, …) and `$ref`s that do not resolve are skipped with a warning, as are
//! security requirements naming undeclared schemes.

use std::collections::BTreeSet;

use openapiv3::{APIKeyLocation, OpenAPI, ReferenceOr, SecurityRequirement};

use crate::model::{ApiKeyLocation, SecurityKind, SecurityScheme};

/// The `http` scheme the 3.1 converter gives `mutualTLS` schemes.
pub(crate) const MUTUAL_TLS_HTTP_SCHEME: &str = "mutualTLS";

/// The API's security schemes in declaration order; findings are pushed to `warnings` as
/// `#/pointer: message`.
pub(crate) fn schemes(api: &OpenAPI, warnings: &mut Vec<String>) -> Vec<SecurityScheme> {
    let referenced = referenced(api);
    let declared = api
        .components
        .as_ref()
        .map(|c| &c.security_schemes)
        .into_iter()
        .flatten();
    let mut out = Vec::new();
    for (name, scheme) in declared {
        let pointer = format!("#/components/securitySchemes/{}", escape(name));
        let scheme = match scheme {
            ReferenceOr::Item(item) => item,
            ReferenceOr::Reference { reference } => {
                let target = reference
                    .strip_prefix("#/components/securitySchemes/")
                    .and_then(|n| api.components.as_ref()?.security_schemes.get(n));
                match target {
                    Some(ReferenceOr::Item(item)) => item,
                    _ => {
                        warnings.push(format!(
                            "{pointer}: $ref {reference} is not a security scheme; skipped"
                        ));
                        continue;
                    }
                }
            }
        };
        let kind = match scheme {
            openapiv3::SecurityScheme::APIKey {
                location, name: key, ..
            } => SecurityKind::ApiKey {
                location: match location {
                    APIKeyLocation::Header => ApiKeyLocation::Header,
                    APIKeyLocation::Query => ApiKeyLocation::Query,
                    APIKeyLocation::Cookie => ApiKeyLocation::Cookie,
                },
                name: key.clone(),
            },
            openapiv3::SecurityScheme::HTTP { scheme, .. } => {
                if scheme.eq_ignore_ascii_case("bearer") {
                    SecurityKind::Bearer
                } else if scheme.eq_ignore_ascii_case("basic") {
                    SecurityKind::Basic
                } else if scheme == MUTUAL_TLS_HTTP_SCHEME {
                    SecurityKind::MutualTls
                } else {
                    warnings.push(format!(
                        "{pointer}: HTTP authentication scheme {scheme:?} is not supported (bearer and basic are); skipped"
                    ));
                    continue;
                }
            }
            openapiv3::SecurityScheme::OAuth2 { .. } => {
                warnings.push(format!(
                    "{pointer}: oauth2 is sent as a bearer token read from the auth Secret's `token` key; the operator runs no OAuth2 flow"
                ));
                SecurityKind::OAuth2
            }
            openapiv3::SecurityScheme::OpenIDConnect { .. } => {
                warnings.push(format!(
                    "{pointer}: openIdConnect is sent as a bearer token read from the auth Secret's `token` key; the operator runs no OpenID Connect flow"
                ));
                SecurityKind::OpenIdConnect
            }
        };
        out.push(SecurityScheme {
            name: name.clone(),
            kind,
            referenced: referenced.contains(name.as_str()),
        });
    }
    for name in referenced {
        if !out.iter().any(|s| s.name == name) {
            warnings.push(format!(
                "#/components/securitySchemes: security requirement names undeclared scheme {name:?}; ignored"
            ));
        }
    }
    out
}

/// Names of the schemes used by the top-level or any operation's `security`.
fn referenced(api: &OpenAPI) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    add_names(&mut out, api.security.as_ref());
    for (_, item) in api.paths.iter() {
        let ReferenceOr::Item(item) = item else { continue };
        for (_, op) in item.iter() {
            add_names(&mut out, op.security.as_ref());
        }
    }
    out
}

fn add_names<'a>(out: &mut BTreeSet<&'a str>, requirements: Option<&'a Vec<SecurityRequirement>>) {
    out.extend(
        requirements
            .into_iter()
            .flatten()
            .flat_map(|r| r.keys().map(String::as_str)),
    );
}

/// JSON-pointer escaping of one token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(yaml: &str) -> OpenAPI {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn schemes_keep_declaration_order_and_map_every_kind() {
        let api = api(r##"
openapi: 3.0.3
info: {title: t, version: "1"}
security: [{bearer_auth: []}]
paths:
  /x:
    get:
      security: [{key_q: []}, {ghost: []}]
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    oauth: {type: oauth2, flows: {implicit: {authorizationUrl: "https://a", scopes: {}}}}
    bearer_auth: {type: http, scheme: Bearer}
    basic_auth: {type: http, scheme: basic}
    key_h: {type: apiKey, in: header, name: X-API-Key}
    key_q: {type: apiKey, in: query, name: api_key}
    key_c: {type: apiKey, in: cookie, name: sid}
    oidc: {type: openIdConnect, openIdConnectUrl: "https://a/.well-known"}
    digest: {type: http, scheme: digest}
    mtls: {type: http, scheme: mutualTLS}
    alias: {$ref: "#/components/securitySchemes/basic_auth"}
"##);
        let mut warnings = Vec::new();
        let got = schemes(&api, &mut warnings);
        let shown: Vec<String> = got
            .iter()
            .map(|s| format!("{}={:?}{}", s.name, s.kind, if s.referenced { "*" } else { "" }))
            .collect();
        assert_eq!(
            shown,
            [
                "oauth=OAuth2",
                "bearer_auth=Bearer*",
                "basic_auth=Basic",
                "key_h=ApiKey { location: Header, name: \"X-API-Key\" }",
                "key_q=ApiKey { location: Query, name: \"api_key\" }*",
                "key_c=ApiKey { location: Cookie, name: \"sid\" }",
                "oidc=OpenIdConnect",
                "mtls=MutualTls",
                "alias=Basic",
            ]
        );
        let joined = warnings.join("\n");
        assert_eq!(warnings.len(), 4, "{joined}");
        assert!(
            joined.contains("#/components/securitySchemes/oauth: oauth2 is sent as a bearer token"),
            "{joined}"
        );
        assert!(joined.contains("openIdConnect"), "{joined}");
        assert!(joined.contains("\"digest\" is not supported"), "{joined}");
        assert!(joined.contains("undeclared scheme \"ghost\""), "{joined}");
    }

    #[test]
    fn no_components_means_no_schemes() {
        let api = api("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n");
        let mut warnings = Vec::new();
        assert!(schemes(&api, &mut warnings).is_empty());
        assert!(warnings.is_empty());
    }
}
