//! Type IR: named structs/enums in one ordered space, and type references used by fields.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

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
    /// Validation keywords copied into the CRD schema of the field.
    #[serde(default, skip_serializing_if = "Validation::is_empty")]
    pub validation: Validation,
}

/// CRD validation keywords of one schema node. Only keywords that fit the node's type are set
/// (`minLength` on strings, `minimum` on numbers, `minItems` on arrays, `minProperties` on maps).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Validation {
    /// `minLength`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// `maxLength`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// `pattern` (RE2-compatible: patterns with lookaround or backreferences are dropped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `minimum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// `maximum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// `exclusiveMinimum: true` (OpenAPI 3.0 boolean form; 3.1 numbers are down-levelled to it).
    #[serde(skip_serializing_if = "is_false")]
    pub exclusive_minimum: bool,
    /// `exclusiveMaximum: true`.
    #[serde(skip_serializing_if = "is_false")]
    pub exclusive_maximum: bool,
    /// `multipleOf` (positive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiple_of: Option<f64>,
    /// `minItems`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// `maxItems`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// `uniqueItems: true` on scalar items, as `x-kubernetes-list-type: set` (CRDs reject `uniqueItems`).
    #[serde(skip_serializing_if = "is_false")]
    pub list_set: bool,
    /// `minProperties` (maps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_properties: Option<u64>,
    /// `maxProperties` (maps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_properties: Option<u64>,
    /// `enum` of a non-string scalar (integer, number, boolean), in schema order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub enum_values: Vec<Value>,
    /// Validation of the items of an array of scalars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Validation>>,
    /// Validation of the values of a map of scalars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Box<Validation>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Validation {
    /// Whether no keyword is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The node's own keywords exactly as the compiled CRD carries them (k8s-openapi's
    /// `JSONSchemaProps`: bounds and `multipleOf` as `f64`, counts as integers), without
    /// `items`/`additionalProperties`.
    pub fn keywords(&self) -> Map<String, Value> {
        let mut out = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                out.insert(key.to_owned(), v);
            }
        };
        put("minLength", self.min_length.map(|n| json!(n)));
        put("maxLength", self.max_length.map(|n| json!(n)));
        put("pattern", self.pattern.as_ref().map(|p| json!(p)));
        put("minimum", self.minimum.map(|n| json!(n)));
        put("maximum", self.maximum.map(|n| json!(n)));
        put(
            "exclusiveMinimum",
            (self.exclusive_minimum && self.minimum.is_some()).then(|| json!(true)),
        );
        put(
            "exclusiveMaximum",
            (self.exclusive_maximum && self.maximum.is_some()).then(|| json!(true)),
        );
        put("multipleOf", self.multiple_of.map(|n| json!(n)));
        put("minItems", self.min_items.map(|n| json!(n)));
        put("maxItems", self.max_items.map(|n| json!(n)));
        put("x-kubernetes-list-type", self.list_set.then(|| json!("set")));
        put("minProperties", self.min_properties.map(|n| json!(n)));
        put("maxProperties", self.max_properties.map(|n| json!(n)));
        put(
            "enum",
            (!self.enum_values.is_empty()).then(|| Value::Array(self.enum_values.clone())),
        );
        out
    }
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
    /// `oneOf`/`anyOf` with distinguishable variants: an untagged Rust enum (or one dispatched on
    /// a discriminator property) whose CRD schema is the structural `schema`.
    Union {
        /// Variants in deserialization order.
        variants: Vec<UnionVariant>,
        /// Discriminator property (`petType`); variants carry their `tags`.
        #[serde(skip_serializing_if = "Option::is_none")]
        discriminator: Option<String>,
        /// CRD schema.
        schema: UnionSchema,
    },
}

/// All named types, in emission order; names are unique.
///
/// Lookups by name go through an index (a linear scan per lookup made CRD prediction and type
/// emission quadratic in the number of types on large specs).
#[derive(Clone, Default, Serialize)]
pub struct TypeSpace {
    /// The types.
    types: Vec<TypeDef>,
    /// Name → position in `types` (the first type of that name).
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl PartialEq for TypeSpace {
    fn eq(&self, other: &Self) -> bool {
        // The index is derived from `types`.
        self.types == other.types
    }
}

impl std::fmt::Debug for TypeSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeSpace").field("types", &self.types).finish()
    }
}

/// One alternative of a [`TypeDefKind::Union`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnionVariant {
    /// Rust variant identifier.
    pub ident: String,
    /// Payload type.
    pub ty: TypeRef,
    /// Discriminator values selecting this variant (discriminated unions only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// The structural CRD schema of a union (an untagged enum's own `anyOf` is not structural).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnionSchema {
    /// `integer | string`: `x-kubernetes-int-or-string: true`.
    IntOrString,
    /// Only object variants: `type: object` with `x-kubernetes-preserve-unknown-fields: true`.
    Object,
    /// Mixed JSON types: `x-kubernetes-preserve-unknown-fields: true` without a type.
    Any,
}

impl UnionSchema {
    /// The schema keywords (without description) that the generated `JsonSchema` impl returns.
    pub fn keywords(self) -> Map<String, Value> {
        let mut out = Map::new();
        match self {
            Self::IntOrString => {
                out.insert("x-kubernetes-int-or-string".to_owned(), json!(true));
            }
            Self::Object => {
                out.insert("type".to_owned(), json!("object"));
                out.insert("x-kubernetes-preserve-unknown-fields".to_owned(), json!(true));
            }
            Self::Any => {
                out.insert("x-kubernetes-preserve-unknown-fields".to_owned(), json!(true));
            }
        }
        out
    }
}

impl TypeRef {
    /// `type`/`format` of a scalar as schemars emits it (`None` for non-scalars).
    pub fn scalar_schema(&self) -> Option<Map<String, Value>> {
        let (ty, format) = match self {
            Self::String => ("string", None),
            Self::I32 => ("integer", Some("int32")),
            Self::I64 => ("integer", Some("int64")),
            Self::F32 => ("number", Some("float")),
            Self::F64 => ("number", Some("double")),
            Self::Bool => ("boolean", None),
            _ => return None,
        };
        let mut m = Map::new();
        if let Some(f) = format {
            m.insert("format".to_owned(), json!(f));
        }
        m.insert("type".to_owned(), json!(ty));
        Some(m)
    }
}

impl TypeSpace {
    /// Looks a type up by name.
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.index.get(name).and_then(|&i| self.types.get(i))
    }

    /// Every type, in emission order.
    pub fn iter(&self) -> std::slice::Iter<'_, TypeDef> {
        self.types.iter()
    }

    /// Number of types.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether there is no type.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Appends a type; returns its position (for [`Self::set_kind`]).
    pub(crate) fn push(&mut self, def: TypeDef) -> usize {
        let position = self.types.len();
        self.index.entry(def.name.clone()).or_insert(position);
        self.types.push(def);
        position
    }

    /// Removes the last type.
    pub(crate) fn pop(&mut self) -> Option<TypeDef> {
        let def = self.types.pop()?;
        if self.index.get(&def.name) == Some(&self.types.len()) {
            self.index.remove(&def.name);
        }
        Some(def)
    }

    /// Replaces the kind of the type at `position` (a type reserved before its contents were known).
    pub(crate) fn set_kind(&mut self, position: usize, kind: TypeDefKind) {
        if let Some(def) = self.types.get_mut(position) {
            def.kind = kind;
        }
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
