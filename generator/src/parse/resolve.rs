//! `$ref` resolution: JSON-pointer lookup in the raw document and typed look-ups in `openapiv3` components (chains followed, cycles bounded).

use openapiv3::{OpenAPI, Parameter, ReferenceOr, RequestBody, Response, Schema};
use serde_json::Value;

/// Longest `$ref` chain followed before giving up (cycles such as `A → B → A`).
const MAX_CHAIN: usize = 32;

/// Resolves an internal reference (`#/a/b~1c`) against the raw document.
pub fn lookup<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    if !pointer.starts_with('/') {
        return None;
    }
    let mut node = root;
    for token in pointer.split('/').skip(1) {
        let token = if token.contains('~') {
            std::borrow::Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
        } else {
            std::borrow::Cow::Borrowed(token)
        };
        node = match node {
            Value::Object(map) => map.get(token.as_ref())?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The component name of a `#/components/<section>/<Name>` reference.
pub fn component_name<'r>(reference: &'r str, section: &str) -> Option<&'r str> {
    let rest = reference
        .strip_prefix("#/components/")?
        .strip_prefix(section)?
        .strip_prefix('/')?;
    (!rest.contains('/')).then_some(rest)
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// A schema with the component name it was reached through (the last `$ref` of the chain), if any.
pub fn schema<'a>(api: &'a OpenAPI, item: &'a ReferenceOr<Schema>) -> Option<(Option<String>, &'a Schema)> {
    let mut current = item;
    let mut name = None;
    for _ in 0..MAX_CHAIN {
        match current {
            ReferenceOr::Item(schema) => return Some((name, schema)),
            ReferenceOr::Reference { reference } => {
                let component = component_name(reference, "schemas")?;
                let key = unescape(component);
                current = api.components.as_ref()?.schemas.get(&key)?;
                name = Some(key);
            }
        }
    }
    None
}

/// A boxed-schema variant of [`schema`].
pub fn boxed_schema<'a>(
    api: &'a OpenAPI,
    item: &'a ReferenceOr<Box<Schema>>,
) -> Option<(Option<String>, &'a Schema)> {
    match item {
        ReferenceOr::Item(schema) => Some((None, schema)),
        ReferenceOr::Reference { reference } => {
            let component = component_name(reference, "schemas")?;
            let key = unescape(component);
            let next = api.components.as_ref()?.schemas.get(&key)?;
            let (inner, schema) = self::schema(api, next)?;
            Some((inner.or(Some(key)), schema))
        }
    }
}

/// A parameter, following `#/components/parameters/...` chains.
pub fn parameter<'a>(api: &'a OpenAPI, item: &'a ReferenceOr<Parameter>) -> Option<&'a Parameter> {
    let mut current = item;
    for _ in 0..MAX_CHAIN {
        match current {
            ReferenceOr::Item(p) => return Some(p),
            ReferenceOr::Reference { reference } => {
                let key = unescape(component_name(reference, "parameters")?);
                current = api.components.as_ref()?.parameters.get(&key)?;
            }
        }
    }
    None
}

/// A request body, following `#/components/requestBodies/...` chains.
pub fn request_body<'a>(api: &'a OpenAPI, item: &'a ReferenceOr<RequestBody>) -> Option<&'a RequestBody> {
    let mut current = item;
    for _ in 0..MAX_CHAIN {
        match current {
            ReferenceOr::Item(b) => return Some(b),
            ReferenceOr::Reference { reference } => {
                let key = unescape(component_name(reference, "requestBodies")?);
                current = api.components.as_ref()?.request_bodies.get(&key)?;
            }
        }
    }
    None
}

/// A response, following `#/components/responses` references.
pub fn response<'a>(api: &'a OpenAPI, item: &'a ReferenceOr<Response>) -> Option<&'a Response> {
    let mut current = item;
    for _ in 0..MAX_CHAIN {
        match current {
            ReferenceOr::Item(r) => return Some(r),
            ReferenceOr::Reference { reference } => {
                let key = unescape(component_name(reference, "responses")?);
                current = api.components.as_ref()?.responses.get(&key)?;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lookup_unescapes_tokens() {
        let doc = json!({"paths": {"/pet": {"get": 1}}, "a~b": [0, 7]});
        assert_eq!(lookup(&doc, "#/paths/~1pet/get"), Some(&json!(1)));
        assert_eq!(lookup(&doc, "#/a~0b/1"), Some(&json!(7)));
        assert_eq!(lookup(&doc, "#/a~0b/9"), None);
        assert_eq!(lookup(&doc, "other.yaml#/x"), None);
    }

    #[test]
    fn component_names_are_extracted() {
        assert_eq!(component_name("#/components/schemas/Pet", "schemas"), Some("Pet"));
        assert_eq!(
            component_name("#/components/schemas/Pet/properties", "schemas"),
            None
        );
        assert_eq!(component_name("#/components/parameters/P", "schemas"), None);
    }
}
