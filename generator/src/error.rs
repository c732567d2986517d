//! The generator's one error type: every variant names the input file (or URL) and, where it applies, the JSON pointer.

use std::path::PathBuf;

/// Result alias used throughout the generator.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An endpoint found in the spec that did not become a kind (listed in [`Error::NoResources`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// HTTP method, upper case.
    pub method: String,
    /// Path template.
    pub path: String,
    /// Why it did not become a kind.
    pub reason: String,
}

/// Everything that can go wrong while generating an operator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec file could not be read.
    #[error("{file}: cannot read the spec: {source}")]
    Load {
        /// Path as given on the command line.
        file: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The spec URL could not be fetched.
    #[error("{url}: cannot fetch the spec: {reason}")]
    Fetch {
        /// URL as given.
        url: String,
        /// Cause, as text.
        reason: String,
    },
    /// The spec is not well-formed YAML or JSON.
    #[error("{file}:{line}:{column}: cannot parse the spec: {reason}")]
    Parse {
        /// File or URL.
        file: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// Parser message.
        reason: String,
    },
    /// The document declares an OpenAPI/Swagger version this release does not read.
    #[error(
        "{file}#{pointer}: {found} is not supported (this release reads Swagger 2.0 and OpenAPI 3.0.x/3.1.x)"
    )]
    UnsupportedVersion {
        /// File or URL.
        file: String,
        /// JSON pointer of the version field (`/openapi` or `/swagger`).
        pointer: String,
        /// What the document declares, e.g. `OpenAPI 3.1.0`.
        found: String,
    },
    /// The document is not a valid OpenAPI 3.0 description.
    #[error("{file}#{pointer}: invalid spec: {reason}")]
    SpecInvalid {
        /// File or URL.
        file: String,
        /// JSON pointer of the offending node (`""` = document root).
        pointer: String,
        /// What is wrong.
        reason: String,
    },
    /// A `$ref` points at nothing (or outside the document).
    #[error("{file}#{pointer}: unresolved $ref {reference:?}")]
    UnresolvedRef {
        /// File or URL.
        file: String,
        /// JSON pointer of the `$ref` node.
        pointer: String,
        /// The reference text.
        reference: String,
    },
    /// An external `$ref` (another file or URL) could not be bundled into the document.
    #[error("{file}#{pointer}: cannot resolve external $ref {reference:?}: {reason}")]
    ExternalRef {
        /// The file (or URL) holding the `$ref`.
        file: String,
        /// JSON pointer of the `$ref` node.
        pointer: String,
        /// The reference text.
        reference: String,
        /// Why it failed (missing file, missing fragment, ...).
        reason: String,
    },
    /// No path of the spec forms a kind.
    #[error("{file}#/paths: no kind found (a Resource needs POST on a collection path and GET on `<path>/{{id}}`, a Query a GET-only path, an Action a POST/PUT-only path); found: {}", format_found(.unclassified))]
    NoResources {
        /// File or URL.
        file: String,
        /// What the spec has instead.
        unclassified: Vec<Found>,
    },
    /// A command-line value is invalid.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The option, e.g. `--group`.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the output failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// Path that failed.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A built-in template failed to render (a generator bug).
    #[error("template {name}: {source}")]
    Template {
        /// Template name.
        name: String,
        /// Cause.
        #[source]
        source: Box<tera::Error>,
    },
    /// Emitted Rust did not parse, or a CRD could not be serialized (a generator bug).
    #[error("internal error while emitting {file}: {reason}")]
    Emit {
        /// Output file.
        file: String,
        /// Cause.
        reason: String,
    },
    /// A configuration file is unreadable, malformed or has an invalid value.
    #[error("{}", format_config(.file, *.line, *.column, .key, .reason))]
    Config {
        /// The configuration file as found or given.
        file: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// Dotted key path, e.g. `kinds.Pet.plural` (`""` = the whole file).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Files in the output directory that the generator would overwrite or delete but does not own
    /// (no `@generated` header).
    #[error("{}: refusing to overwrite or delete files without an @generated header (edited by hand?): {}; pass --force to replace them", .output.display(), .paths.join(", "))]
    NotOwned {
        /// Output directory.
        output: PathBuf,
        /// Relative paths, sorted.
        paths: Vec<String>,
    },
}

fn format_config(file: &str, line: u64, column: u64, key: &str, reason: &str) -> String {
    let location = if line == 0 {
        file.to_owned()
    } else {
        format!("{file}:{line}:{column}")
    };
    if key.is_empty() {
        format!("{location}: {reason}")
    } else {
        format!("{location}: {key}: {reason}")
    }
}

fn format_found(found: &[Found]) -> String {
    if found.is_empty() {
        return "no operations".to_owned();
    }
    found
        .iter()
        .map(|f| format!("{} {} ({})", f.method, f.path, f.reason))
        .collect::<Vec<_>>()
        .join("; ")
}
