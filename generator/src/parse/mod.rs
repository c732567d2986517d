//! OpenAPI in, validated [`Spec`] out: load (file or URL), detect YAML/JSON, bundle external `$ref`s,
//! convert Swagger 2.0 / OpenAPI 3.1 to 3.0, check `$ref`s, type.

mod bundle;
mod load;
mod oas31;
pub mod resolve;
mod swagger2;
mod validate;
mod walk;

use serde_json::Value;

use crate::config::SpecSource;
use crate::error::{Error, Result};

/// A loaded, validated OpenAPI 3.0 document (Swagger 2.0 and OpenAPI 3.1 inputs are converted).
#[derive(Debug, Clone)]
pub struct Spec {
    /// File path or URL as given (used in messages).
    pub file: String,
    /// The (converted) OpenAPI 3.0 document as JSON (key order preserved), every internal `$ref` checked.
    pub raw: Value,
    /// The typed document.
    pub openapi: openapiv3::OpenAPI,
    /// Non-fatal findings of the conversion (e.g. dropped 3.1 keywords).
    pub warnings: Vec<Warning>,
}

/// A non-fatal finding while reading the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// JSON pointer of the node concerned (in the input document).
    pub pointer: String,
    /// What was done.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}: {}", self.pointer, self.message)
    }
}

/// Loads and validates a spec; external `$ref`s are bundled relative to the spec's file or URL.
pub fn load(source: &SpecSource) -> Result<Spec> {
    let (file, text, format) = load::read(source)?;
    let mut raw = load::parse_text(&file, &text, format)?;
    validate::check_version(&file, &raw)?;
    bundle::bundle(source, &mut raw)?;
    from_value(file, raw)
}

/// Converts (Swagger 2.0, OpenAPI 3.1 → 3.0) and validates an already-parsed document.
pub fn from_value(file: String, raw: Value) -> Result<Spec> {
    let (raw, warnings) = to_openapi_30(&file, raw)?;
    // Both only read the document: the typed deserialization runs on a second thread while the
    // `$ref`s are checked (a `$ref` error is still reported first).
    let openapi = std::thread::scope(|scope| {
        let typed = scope.spawn(|| validate::typed(&file, &raw));
        let refs = validate::check_refs(&file, &raw);
        let typed = typed
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        refs.and(typed)
    })?;
    Ok(Spec {
        file,
        raw,
        openapi,
        warnings,
    })
}

/// The document as OpenAPI 3.0, with the conversion's warnings.
pub fn to_openapi_30(file: &str, raw: Value) -> Result<(Value, Vec<Warning>)> {
    let mut warnings = Vec::new();
    let version = validate::check_version(file, &raw)?;
    let raw = match (version, &raw) {
        (validate::Version::Swagger2, Value::Object(doc)) => swagger2::convert(file, doc, &mut warnings)?,
        (validate::Version::OpenApi31, Value::Object(doc)) => oas31::convert(doc, &mut warnings),
        _ => raw,
    };
    Ok((raw, warnings))
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
