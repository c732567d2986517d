//! OpenAPI schemas → type IR: scalars, arrays, maps, named structs and enums (shared components once), recursion cut to JSON.

use std::collections::BTreeMap;

use openapiv3::{AdditionalProperties, OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use serde_json::Value;

use crate::model::naming;
use crate::model::types::{EnumVariant, Field, FieldSource, TypeDef, TypeDefKind, TypeRef, TypeSpace};
use crate::parse::resolve;

/// String formats kept in the CRD schema (the API server validates these).
const KEPT_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "uuid",
    "email",
    "uri",
    "hostname",
    "ipv4",
    "ipv6",
    "byte",
];

/// Converts schemas to types, collecting named types into a [`TypeSpace`].
pub(crate) struct SchemaConverter<'a> {
    api: &'a OpenAPI,
    /// The type space being built.
    pub types: TypeSpace,
    /// Names reserved for kinds (`Pet`, `PetSpec`, `PetStatus`, …).
    reserved: Vec<String>,
    /// Component name → Rust type name of shared types already converted.
    components: BTreeMap<String, String>,
    /// Components being converted (recursion guard).
    in_progress: Vec<String>,
    /// Non-fatal findings.
    pub warnings: Vec<String>,
}

/// A converted object schema: its fields plus the `readOnly` properties that were left out.
pub(crate) struct ObjectFields {
    pub fields: Vec<Field>,
    pub read_only: Vec<String>,
    pub description: Option<String>,
}

impl<'a> SchemaConverter<'a> {
    pub(crate) fn new(api: &'a OpenAPI, reserved: Vec<String>) -> Self {
        Self {
            api,
            types: TypeSpace::default(),
            reserved,
            components: BTreeMap::new(),
            in_progress: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn taken(&self, name: &str) -> bool {
        self.types.contains(name) || self.reserved.iter().any(|r| r == name)
    }

    /// A unique name for a nested type: `<Parent><Field>`, then `…Value`, then a numeric suffix.
    fn nested_name(&self, parent: &str, field: &str) -> String {
        let base = format!("{parent}{}", naming::type_ident(field));
        if !self.taken(&base) {
            return base;
        }
        naming::dedupe(&format!("{base}Value"), &|n| self.taken(n))
    }

    /// Properties of an object schema (following `$ref` and merging `allOf`), as fields.
    /// `drop_read_only` leaves `readOnly` properties out (top-level Resource bodies).
    pub(crate) fn object_fields(
        &mut self,
        schema: &'a Schema,
        parent: &str,
        module: Option<&str>,
        drop_read_only: bool,
    ) -> ObjectFields {
        let mut props: Vec<(&'a String, &'a ReferenceOr<Box<Schema>>)> = Vec::new();
        let mut required: Vec<&'a String> = Vec::new();
        self.collect_properties(schema, &mut props, &mut required, 0);
        let mut fields: Vec<Field> = Vec::new();
        let mut read_only = Vec::new();
        for (name, prop) in props {
            if fields.iter().any(|f| &f.json_name == name) {
                continue;
            }
            let resolved = resolve::boxed_schema(self.api, prop);
            if drop_read_only && resolved.as_ref().is_some_and(|(_, s)| s.schema_data.read_only) {
                read_only.push(name.clone());
                continue;
            }
            let taken: Vec<String> = fields.iter().map(|f| f.rust_name.clone()).collect();
            let rust_name = naming::dedupe(&naming::field_ident(name), &|n| taken.iter().any(|t| t == n));
            let field = match resolved {
                Some((component, s)) => {
                    let ty = self.type_of(component.as_deref(), s, parent, name, module);
                    field_from(
                        name,
                        rust_name,
                        ty,
                        required.contains(&name),
                        s,
                        FieldSource::Body,
                    )
                }
                None => Field {
                    json_name: name.clone(),
                    rust_name,
                    ty: TypeRef::Json,
                    required: required.contains(&name),
                    description: None,
                    format: None,
                    example: None,
                    default: None,
                    source: FieldSource::Body,
                },
            };
            fields.push(field);
        }
        ObjectFields {
            fields,
            read_only,
            description: clean(schema.schema_data.description.as_deref()),
        }
    }

    fn collect_properties(
        &self,
        schema: &'a Schema,
        props: &mut Vec<(&'a String, &'a ReferenceOr<Box<Schema>>)>,
        required: &mut Vec<&'a String>,
        depth: usize,
    ) {
        if depth > 16 {
            return;
        }
        match &schema.schema_kind {
            SchemaKind::Type(Type::Object(obj)) => {
                props.extend(obj.properties.iter());
                required.extend(obj.required.iter());
            }
            SchemaKind::Any(any) => {
                props.extend(any.properties.iter());
                required.extend(any.required.iter());
                for part in &any.all_of {
                    if let Some((_, s)) = resolve::schema(self.api, part) {
                        self.collect_properties(s, props, required, depth + 1);
                    }
                }
            }
            SchemaKind::AllOf { all_of } => {
                for part in all_of {
                    if let Some((_, s)) = resolve::schema(self.api, part) {
                        self.collect_properties(s, props, required, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// The type of a (resolved) schema. `component` is the `#/components/schemas` name it was reached through.
    pub(crate) fn type_of(
        &mut self,
        component: Option<&str>,
        schema: &'a Schema,
        parent: &str,
        field: &str,
        module: Option<&str>,
    ) -> TypeRef {
        match shape(schema) {
            Shape::Scalar(ty) => ty,
            Shape::Json => TypeRef::Json,
            Shape::Array(items) => {
                let item_ty = match items.and_then(|i| resolve::boxed_schema(self.api, i)) {
                    Some((c, s)) => self.type_of(c.as_deref(), s, parent, &format!("{field}Item"), module),
                    None => TypeRef::Json,
                };
                TypeRef::Array(Box::new(item_ty))
            }
            Shape::Map(values) => {
                let value_ty = match resolve::schema(self.api, values) {
                    Some((c, s)) => self.type_of(c.as_deref(), s, parent, &format!("{field}Value"), module),
                    None => TypeRef::Json,
                };
                TypeRef::Map(Box::new(value_ty))
            }
            Shape::Enum(values) => match component {
                Some(c) => self.shared(c, |this, name| this.enum_def(name, None, schema, &values)),
                None => {
                    let name = self.nested_name(parent, field);
                    self.enum_def(name, module, schema, &values)
                }
            },
            Shape::Object => match component {
                Some(c) => self.shared(c, |this, name| this.struct_def(name, None, schema)),
                None => {
                    let name = self.nested_name(parent, field);
                    self.struct_def(name, module, schema)
                }
            },
        }
    }

    fn shared(&mut self, component: &str, build: impl FnOnce(&mut Self, String) -> TypeRef) -> TypeRef {
        if let Some(name) = self.components.get(component) {
            return TypeRef::Named(name.clone());
        }
        if self.in_progress.iter().any(|c| c == component) {
            self.warnings.push(format!(
                "#/components/schemas/{}: schema {component:?} is recursive; the recursive reference is \
                 typed as free-form JSON (x-kubernetes-preserve-unknown-fields)",
                component.replace('~', "~0").replace('/', "~1")
            ));
            return TypeRef::Json;
        }
        // Shared types live in `models`, a namespace of their own: a component may share its name
        // with a kind (`models::Pet` next to the `Pet` CR), never with another named type.
        let base = naming::type_ident(component);
        let name = if self.types.contains(&base) {
            naming::dedupe(&format!("{base}Value"), &|n| self.taken(n))
        } else {
            base
        };
        self.in_progress.push(component.to_owned());
        let ty = build(self, name.clone());
        self.in_progress.pop();
        if matches!(ty, TypeRef::Named(_)) {
            self.components.insert(component.to_owned(), name);
        }
        ty
    }

    fn struct_def(&mut self, name: String, module: Option<&str>, schema: &'a Schema) -> TypeRef {
        // Reserve the name first so that nested types cannot take it.
        let index = self.types.types.len();
        self.types.types.push(TypeDef {
            name: name.clone(),
            module: module.map(str::to_owned),
            description: clean(schema.schema_data.description.as_deref()),
            kind: TypeDefKind::Struct { fields: Vec::new() },
        });
        let object = self.object_fields(schema, &name, module, false);
        if object.fields.is_empty() && self.types.types.len() == index + 1 {
            // No usable properties: free-form JSON instead of an empty struct.
            self.types.types.pop();
            return TypeRef::Json;
        }
        if let Some(def) = self.types.types.get_mut(index) {
            def.kind = TypeDefKind::Struct {
                fields: object.fields,
            };
        }
        TypeRef::Named(name)
    }

    fn enum_def(
        &mut self,
        name: String,
        module: Option<&str>,
        schema: &Schema,
        values: &[String],
    ) -> TypeRef {
        let mut variants: Vec<EnumVariant> = Vec::new();
        for value in values {
            if variants.iter().any(|v| &v.value == value) {
                continue;
            }
            let base = if value.is_empty() {
                "Empty".to_owned()
            } else {
                naming::type_ident(value)
            };
            let ident = naming::dedupe(&base, &|n| variants.iter().any(|v| v.ident == n));
            variants.push(EnumVariant {
                value: value.clone(),
                ident,
            });
        }
        self.types.types.push(TypeDef {
            name: name.clone(),
            module: module.map(str::to_owned),
            description: clean(schema.schema_data.description.as_deref()),
            kind: TypeDefKind::Enum { variants },
        });
        TypeRef::Named(name)
    }

    /// The type of a parameter schema (scalars, arrays; anything else is JSON).
    pub(crate) fn param_type(
        &mut self,
        schema: &'a ReferenceOr<Schema>,
        parent: &str,
        name: &str,
    ) -> TypeRef {
        match resolve::schema(self.api, schema) {
            Some((component, s)) => self.type_of(component.as_deref(), s, parent, name, None),
            None => TypeRef::String,
        }
    }
}

enum Shape<'a> {
    Scalar(TypeRef),
    Array(Option<&'a ReferenceOr<Box<Schema>>>),
    Map(&'a ReferenceOr<Schema>),
    Enum(Vec<String>),
    Object,
    Json,
}

fn shape(schema: &Schema) -> Shape<'_> {
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => {
            let values: Vec<String> = s.enumeration.iter().flatten().cloned().collect();
            if values.is_empty() {
                Shape::Scalar(TypeRef::String)
            } else {
                Shape::Enum(values)
            }
        }
        SchemaKind::Type(Type::Integer(i)) => match format_str(&i.format).as_deref() {
            Some("int32") => Shape::Scalar(TypeRef::I32),
            _ => Shape::Scalar(TypeRef::I64),
        },
        SchemaKind::Type(Type::Number(n)) => match format_str(&n.format).as_deref() {
            Some("float") => Shape::Scalar(TypeRef::F32),
            _ => Shape::Scalar(TypeRef::F64),
        },
        SchemaKind::Type(Type::Boolean(_)) => Shape::Scalar(TypeRef::Bool),
        SchemaKind::Type(Type::Array(a)) => Shape::Array(a.items.as_ref()),
        SchemaKind::Type(Type::Object(o)) => {
            object_shape(!o.properties.is_empty(), o.additional_properties.as_ref())
        }
        SchemaKind::AllOf { all_of } if all_of.is_empty() => Shape::Json,
        SchemaKind::AllOf { .. } => Shape::Object,
        SchemaKind::OneOf { .. } | SchemaKind::AnyOf { .. } | SchemaKind::Not { .. } => Shape::Json,
        SchemaKind::Any(any) => {
            if !any.one_of.is_empty() || !any.any_of.is_empty() || any.not.is_some() {
                return Shape::Json;
            }
            match any.typ.as_deref() {
                Some("string") | None if !any.enumeration.is_empty() => {
                    let values: Vec<String> = any
                        .enumeration
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    if values.len() == any.enumeration.len() {
                        Shape::Enum(values)
                    } else {
                        Shape::Json
                    }
                }
                Some("string") => Shape::Scalar(TypeRef::String),
                Some("integer") if any.format.as_deref() == Some("int32") => Shape::Scalar(TypeRef::I32),
                Some("integer") => Shape::Scalar(TypeRef::I64),
                Some("number") if any.format.as_deref() == Some("float") => Shape::Scalar(TypeRef::F32),
                Some("number") => Shape::Scalar(TypeRef::F64),
                Some("boolean") => Shape::Scalar(TypeRef::Bool),
                Some("array") => Shape::Array(any.items.as_ref()),
                _ if any.items.is_some() => Shape::Array(any.items.as_ref()),
                _ if !any.all_of.is_empty() => Shape::Object,
                _ => object_shape(!any.properties.is_empty(), any.additional_properties.as_ref()),
            }
        }
    }
}

fn object_shape(has_properties: bool, additional: Option<&AdditionalProperties>) -> Shape<'_> {
    if has_properties {
        Shape::Object
    } else if let Some(AdditionalProperties::Schema(values)) = additional {
        Shape::Map(values)
    } else {
        Shape::Json
    }
}

fn format_str<T: serde::Serialize>(format: &openapiv3::VariantOrUnknownOrEmpty<T>) -> Option<String> {
    match format {
        openapiv3::VariantOrUnknownOrEmpty::Empty => None,
        openapiv3::VariantOrUnknownOrEmpty::Unknown(s) => Some(s.clone()),
        openapiv3::VariantOrUnknownOrEmpty::Item(item) => serde_json::to_value(item)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned)),
    }
}

/// The `format` of a string schema, when it is one the CRD keeps.
fn kept_format(schema: &Schema) -> Option<String> {
    let format = match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) if s.enumeration.is_empty() => format_str(&s.format),
        SchemaKind::Any(any) if any.typ.as_deref() == Some("string") && any.enumeration.is_empty() => {
            any.format.clone()
        }
        _ => None,
    }?;
    KEPT_FORMATS.contains(&format.as_str()).then_some(format)
}

/// Trimmed, non-empty description text.
pub(crate) fn clean(text: Option<&str>) -> Option<String> {
    let text = text?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

pub(crate) fn field_from(
    json_name: &str,
    rust_name: String,
    ty: TypeRef,
    required: bool,
    schema: &Schema,
    source: FieldSource,
) -> Field {
    let ty = structural(ty);
    let format = if ty == TypeRef::String {
        kept_format(schema)
    } else {
        None
    };
    Field {
        json_name: json_name.to_owned(),
        rust_name,
        ty,
        required,
        description: clean(schema.schema_data.description.as_deref()),
        format,
        example: schema.schema_data.example.clone().filter(|v| !v.is_null()),
        default: schema
            .schema_data
            .default
            .clone()
            .filter(|v: &Value| !v.is_null()),
        source,
    }
}

impl<'a> SchemaConverter<'a> {
    /// The document being converted.
    pub(crate) fn api(&self) -> &'a OpenAPI {
        self.api
    }
}

/// Free-form JSON nested in an array or map has no structural CRD schema (`items: {}`), so such a
/// field becomes free-form JSON as a whole.
pub(crate) fn structural(ty: TypeRef) -> TypeRef {
    fn has_nested_json(ty: &TypeRef) -> bool {
        match ty {
            TypeRef::Array(inner) | TypeRef::Map(inner) => **inner == TypeRef::Json || has_nested_json(inner),
            _ => false,
        }
    }
    if has_nested_json(&ty) { TypeRef::Json } else { ty }
}
