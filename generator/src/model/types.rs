//! Type IR: named structs/enums in one ordered space, and type references used by fields.

use serde::Serialize;
use serde_json::Value;

/// The type of a field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TypeRef {
    /// `String`.
    String,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `bool`.
    Bool,
    /// `Vec<T>`.
    Array(Box<TypeRef>),
    /// `BTreeMap<String, T>` (`additionalProperties`).
    Map(Box<TypeRef>),
    /// A named type of the [`TypeSpace`].
    Named(String),
    /// Free-form JSON (`serde_json::Value`, preserve-unknown-fields).
    Json,
}

/// Where a spec field comes from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldSource {
    /// A property of the body schema.
    Body,
    /// A path parameter (other than a merged id).
    PathParam,
    /// A query parameter.
    QueryParam,
}

/// A struct field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    /// Name on the wire (`photoUrls`).
    pub json_name: String,
    /// Rust identifier (`photo_urls`, `r#type`).
    pub rust_name: String,
    /// Type (without the `Option` of optional fields).
    pub ty: TypeRef,
    /// Listed in `required`: not an `Option`.
    pub required: bool,
    /// Schema description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// String `format` kept in the CRD schema (`date-time`, `uuid`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `example` from the spec (samples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    /// `default` from the spec (samples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Origin.
    pub source: FieldSource,
}

/// An enum variant.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EnumVariant {
    /// Value on the wire.
    pub value: String,
    /// Rust identifier.
    pub ident: String,
}

/// A named type.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeDef {
    /// Rust name (unique in the crate).
    pub name: String,
    /// `None`: shared (`src/models.rs`); `Some(module)`: `src/resources/<module>.rs`.
    pub module: Option<String>,
    /// Schema description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Shape.
    pub kind: TypeDefKind,
}

/// Shape of a named type.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum TypeDefKind {
    /// A struct.
    Struct {
        /// Fields in schema order.
        fields: Vec<Field>,
    },
    /// A string enum.
    Enum {
        /// Variants in schema order.
        variants: Vec<EnumVariant>,
    },
}

/// All named types, in emission order; names are unique.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TypeSpace {
    /// The types.
    pub types: Vec<TypeDef>,
}

impl TypeSpace {
    /// Looks a type up by name.
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.name == name)
    }

    /// Whether a name is taken.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Types emitted into one module (`None` = shared models).
    pub fn in_module<'a>(&'a self, module: Option<&'a str>) -> impl Iterator<Item = &'a TypeDef> + 'a {
        self.types.iter().filter(move |t| t.module.as_deref() == module)
    }
}
