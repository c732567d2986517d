//! OpenAPI in, validated [`Spec`] out: load (file or URL), detect YAML/JSON, check version and `$ref`s, type.

mod load;
pub mod resolve;
mod validate;

use serde_json::Value;

use crate::config::SpecSource;
use crate::error::{Error, Result};

/// A loaded, validated OpenAPI 3.0 document.
#[derive(Debug, Clone)]
pub struct Spec {
    /// File path or URL as given (used in messages).
    pub file: String,
    /// The document as JSON (key order preserved), every internal `$ref` checked.
    pub raw: Value,
    /// The typed document.
    pub openapi: openapiv3::OpenAPI,
}

/// Loads and validates a spec.
pub fn load(source: &SpecSource) -> Result<Spec> {
    let (file, text, format) = load::read(source)?;
    let raw = load::parse_text(&file, &text, format)?;
    from_value(file, raw)
}

/// Validates an already-parsed document (used by [`load`] and by tests).
pub fn from_value(file: String, raw: Value) -> Result<Spec> {
    validate::check_version(&file, &raw)?;
    validate::check_refs(&file, &raw)?;
    let openapi = validate::typed(&file, &raw)?;
    Ok(Spec { file, raw, openapi })
}

/// Parses spec text whose format is guessed from its content (tests and benches).
pub fn from_str(file: &str, text: &str) -> Result<Spec> {
    let raw = load::parse_text(file, text, load::Format::detect(file, text))?;
    from_value(file.to_owned(), raw)
}

/// Escapes one JSON-pointer token (`~` → `~0`, `/` → `~1`).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn invalid(file: &str, pointer: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::SpecInvalid {
        file: file.to_owned(),
        pointer: pointer.into(),
        reason: reason.into(),
    }
}
