//! OpenAPI schemas → type IR: scalars with their validations, arrays, maps, named structs, enums and
//! unions (shared components once), single-branch wrappers looked through, recursion cut to JSON.
//!
//! `oneOf`/`anyOf` become a [`TypeDefKind::Union`] (an untagged Rust enum, or one dispatched on the
//! discriminator) when the variants are distinguishable: different JSON types, a discriminator over
//! `$ref` variants, or object variants that each require a property no other variant has. Its CRD
//! schema is structural by construction ([`UnionSchema`]): `x-kubernetes-int-or-string` for
//! `integer | string`, an object preserving unknown fields for object-only unions, otherwise a
//! node preserving unknown fields. Variants that cannot be told apart make the field free-form JSON,
//! with the variants listed in its description and a warning naming the schema.

mod pointers;

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::ptr;

use openapiv3::{AdditionalProperties, AnySchema, OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use serde_json::Value;

use crate::model::naming;
// A spec type named like a prelude type (`String`, `Vec<T>`, `Option<T>`) gets the `Value` suffix
// instead of shadowing it.
use crate::model::naming::PRELUDE_TYPES;
use crate::model::types::{
    EnumVariant, Field, FieldSource, TypeDef, TypeDefKind, TypeRef, TypeSpace, UnionSchema, UnionVariant,
    Validation,
};
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

/// Deepest nesting of types converted (wrapper cycles such as `A: anyOf [B, {}]`,
/// `B: anyOf [A, {}]` end here as free-form JSON).
const MAX_NESTING: usize = 96;

/// Single-branch wrappers followed in a row (`allOf: [{$ref}]` chains).
const MAX_WRAPPERS: usize = 16;

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
    /// JSON pointers of the document's schema nodes, built on the first warning that needs one.
    pointers: OnceCell<pointers::Index>,
    /// Nesting of [`Self::type_of`] calls (bounded by [`MAX_NESTING`]).
    nesting: usize,
}

/// A converted object schema: its fields, the `readOnly` properties that were left out and the
/// `writeOnly` ones that were kept (sent, but never returned: drift ignores them).
pub(crate) struct ObjectFields {
    pub fields: Vec<Field>,
    pub read_only: Vec<String>,
    pub write_only: Vec<String>,
    pub description: Option<String>,
}

/// The JSON type of a union variant, for telling variants apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum JsonKind {
    Integer,
    Number,
    String,
    Boolean,
    Array,
    Object,
    /// Anything (`{}`), a nested union, or a `not`.
    Unknown,
}

impl JsonKind {
    fn variant_name(self) -> &'static str {
        match self {
            Self::Integer => "Integer",
            Self::Number => "Number",
            Self::String => "String",
            Self::Boolean => "Boolean",
            Self::Array => "Array",
            Self::Object => "Object",
            Self::Unknown => "Value",
        }
    }
}

/// One resolved `oneOf`/`anyOf` branch.
struct Branch<'a> {
    reference: Option<&'a str>,
    component: Option<String>,
    schema: &'a Schema,
    kind: JsonKind,
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
            pointers: OnceCell::new(),
            nesting: 0,
        }
    }

    /// The document being converted.
    pub(crate) fn api(&self) -> &'a OpenAPI {
        self.api
    }

    fn taken(&self, name: &str) -> bool {
        self.types.contains(name) || self.reserved.iter().any(|r| r == name) || PRELUDE_TYPES.contains(&name)
    }

    /// The JSON pointer of a schema node of the document (`#` when it is not part of it).
    fn pointer(&self, schema: &Schema) -> String {
        self.pointers
            .get_or_init(|| pointers::index(self.api))
            .get(&ptr::from_ref(schema))
            .cloned()
            .unwrap_or_else(|| "#".to_owned())
    }

    /// Records a warning once.
    fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// A unique name for a nested type: `<Parent><Field>`, then `…Value`, then a numeric suffix.
    fn nested_name(&self, parent: &str, field: &str) -> String {
        let base = format!("{parent}{}", naming::type_ident(field));
        if !self.taken(&base) {
            return base;
        }
        naming::dedupe(&format!("{base}Value"), &|n| self.taken(n))
    }

    /// Follows wrappers that only annotate another schema (`allOf`/`oneOf`/`anyOf` with a single
    /// branch next to `description`, `nullable`, …) and returns the wrapped schema with the
    /// component it was reached through (the wrapper's own component when the target is inline).
    fn effective(&self, component: Option<String>, schema: &'a Schema) -> (Option<String>, &'a Schema) {
        let mut current = (component, schema);
        for _ in 0..MAX_WRAPPERS {
            let Some(only) = single_branch(current.1) else {
                break;
            };
            match resolve::schema(self.api, only) {
                Some((c, s)) if !ptr::eq(s, current.1) => current = (c.or(current.0), s),
                _ => break,
            }
        }
        current
    }

    /// Properties of an object schema (following `$ref` and merging `allOf`), as fields.
    /// `drop_read_only` marks a kind's spec body: `readOnly` properties are left out and the Rust
    /// name `controls` is kept for the flattened runtime controls.
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
        let mut write_only = Vec::new();
        for (name, prop) in props {
            if fields.iter().any(|f| &f.json_name == name) {
                continue;
            }
            let resolved = resolve::boxed_schema(self.api, prop);
            if drop_read_only
                && resolved.as_ref().is_some_and(|(c, s)| {
                    s.schema_data.read_only || self.effective(c.clone(), s).1.schema_data.read_only
                })
            {
                read_only.push(name.clone());
                continue;
            }
            if resolved.as_ref().is_some_and(|(c, s)| {
                s.schema_data.write_only || self.effective(c.clone(), s).1.schema_data.write_only
            }) {
                write_only.push(name.clone());
            }
            let taken: Vec<String> = fields.iter().map(|f| f.rust_name.clone()).collect();
            // A spec body (the only caller dropping readOnly) shares its struct with the flattened
            // `controls` field of the runtime.
            let rust_name = naming::dedupe(&naming::field_ident(name), &|n| {
                taken.iter().any(|t| t == n) || (drop_read_only && n == "controls")
            });
            let field = match resolved {
                Some((component, s)) => {
                    let ty = self.type_of(component.as_deref(), s, parent, name, module);
                    self.field_from(
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
                    validation: Validation::default(),
                },
            };
            fields.push(field);
        }
        ObjectFields {
            fields,
            read_only,
            write_only,
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
        if self.nesting >= MAX_NESTING {
            let at = self.pointer(schema);
            self.warn(format!(
                "{at}: schema nesting deeper than {MAX_NESTING} levels (a cycle of wrappers?); typed as \
                 free-form JSON (x-kubernetes-preserve-unknown-fields)"
            ));
            return TypeRef::Json;
        }
        self.nesting += 1;
        let ty = self.type_of_inner(component, schema, parent, field, module);
        self.nesting -= 1;
        ty
    }

    fn type_of_inner(
        &mut self,
        component: Option<&str>,
        schema: &'a Schema,
        parent: &str,
        field: &str,
        module: Option<&str>,
    ) -> TypeRef {
        let (component, schema) = self.effective(component.map(str::to_owned), schema);
        let component = component.as_deref();
        if let Some((keyword, what)) = approximation(schema) {
            let at = self.pointer(schema);
            self.warn(format!("{at}/{keyword}: {what}"));
        }
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
            Shape::Union(keyword, branches) => {
                self.union_type(component, schema, keyword, branches, parent, field, module)
            }
        }
    }

    fn shared(&mut self, component: &str, build: impl FnOnce(&mut Self, String) -> TypeRef) -> TypeRef {
        if let Some(name) = self.components.get(component) {
            return TypeRef::Named(name.clone());
        }
        if self.in_progress.iter().any(|c| c == component) {
            self.warn(format!(
                "#/components/schemas/{}: schema {component:?} is recursive; the recursive reference is \
                 typed as free-form JSON (x-kubernetes-preserve-unknown-fields)",
                pointers::escape(component)
            ));
            return TypeRef::Json;
        }
        // Shared types live in `models`, a namespace of their own: a component may share its name
        // with a kind (`models::Pet` next to the `Pet` CR), never with another named type.
        let base = naming::type_ident(component);
        let name = if self.types.contains(&base) || PRELUDE_TYPES.contains(&base.as_str()) {
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
        let index = self.types.push(TypeDef {
            name: name.clone(),
            module: module.map(str::to_owned),
            description: clean(schema.schema_data.description.as_deref()),
            kind: TypeDefKind::Struct { fields: Vec::new() },
        });
        let object = self.object_fields(schema, &name, module, false);
        if object.fields.is_empty() && self.types.len() == index + 1 {
            // No usable properties: free-form JSON instead of an empty struct.
            self.types.pop();
            return TypeRef::Json;
        }
        self.types.set_kind(
            index,
            TypeDefKind::Struct {
                fields: object.fields,
            },
        );
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
        self.types.push(TypeDef {
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

    /// `oneOf`/`anyOf`: one branch → its type; branches of one scalar type → that scalar;
    /// distinguishable branches → a [`TypeDefKind::Union`]; otherwise free-form JSON with a warning.
    #[allow(
        clippy::too_many_arguments,
        reason = "the type_of context plus the union's parts"
    )]
    fn union_type(
        &mut self,
        component: Option<&str>,
        schema: &'a Schema,
        keyword: &'static str,
        branches: &'a [ReferenceOr<Schema>],
        parent: &str,
        field: &str,
        module: Option<&str>,
    ) -> TypeRef {
        let mut resolved: Vec<Branch<'a>> = Vec::new();
        for b in branches.iter().filter(|b| !is_annotation_only(b)) {
            // Unresolvable references were reported by the parser.
            let Some((c, s)) = resolve::schema(self.api, b) else {
                return TypeRef::Json;
            };
            let (c, s) = self.effective(c, s);
            resolved.push(Branch {
                reference: match b {
                    ReferenceOr::Reference { reference } => Some(reference.as_str()),
                    ReferenceOr::Item(_) => None,
                },
                component: c,
                schema: s,
                kind: json_kind(s),
            });
        }
        match resolved.as_slice() {
            [] => return TypeRef::Json,
            [only] => {
                let (c, s) = (only.component.clone(), only.schema);
                return self.type_of(c.as_deref(), s, parent, field, module);
            }
            _ => {}
        }
        if let Some(ty) = common_scalar(&resolved) {
            return ty;
        }
        let discriminator = schema.schema_data.discriminator.as_ref();
        let Some(tags) = distinguish(self, &resolved, discriminator) else {
            let names = variant_names(branches).join(", ");
            let at = self.pointer(schema);
            self.warn(format!(
                "{at}/{keyword}: the variants ({names}) are not distinguishable by JSON type, discriminator or \
                 required properties; typed as free-form JSON (x-kubernetes-preserve-unknown-fields) with the \
                 variants listed in the description"
            ));
            return TypeRef::Json;
        };
        let discriminator = discriminator
            .filter(|_| tags.iter().all(|t| !t.is_empty()))
            .map(|d| d.property_name.clone());
        let build = |this: &mut Self, name: String, module: Option<&str>| {
            this.union_def(name, module, schema, resolved, tags, discriminator)
        };
        match component {
            Some(c) => self.shared(c, |this, name| build(this, name, None)),
            None => {
                let name = self.nested_name(parent, field);
                build(self, name, module)
            }
        }
    }

    fn union_def(
        &mut self,
        name: String,
        module: Option<&str>,
        schema: &'a Schema,
        branches: Vec<Branch<'a>>,
        tags: Vec<Vec<String>>,
        discriminator: Option<String>,
    ) -> TypeRef {
        // Reserve the name first so that nested variant types cannot take it.
        let kinds: Vec<JsonKind> = branches.iter().map(|b| b.kind).collect();
        let union_schema = if kinds.iter().all(|k| *k == JsonKind::Object) {
            UnionSchema::Object
        } else if kinds.len() == 2 && kinds.contains(&JsonKind::Integer) && kinds.contains(&JsonKind::String)
        {
            UnionSchema::IntOrString
        } else {
            UnionSchema::Any
        };
        let index = self.types.push(TypeDef {
            name: name.clone(),
            module: module.map(str::to_owned),
            description: clean(schema.schema_data.description.as_deref()),
            kind: TypeDefKind::Union {
                variants: Vec::new(),
                discriminator: discriminator.clone(),
                schema: union_schema,
            },
        });
        let mut variants: Vec<(JsonKind, UnionVariant)> = Vec::new();
        for (branch, tags) in branches.into_iter().zip(tags) {
            let base = match (&branch.component, branch.schema.schema_data.title.as_deref()) {
                (Some(c), _) if branch.reference.is_some() => naming::type_ident(c),
                (_, Some(title)) if !title.trim().is_empty() => naming::type_ident(title),
                _ => branch.kind.variant_name().to_owned(),
            };
            let ident = naming::dedupe(&base, &|n| variants.iter().any(|(_, v)| v.ident == n));
            let ty = self.type_of(branch.component.as_deref(), branch.schema, &name, &ident, module);
            variants.push((branch.kind, UnionVariant { ident, ty, tags }));
        }
        // Untagged deserialization tries variants in order: integers before numbers, free-form last.
        variants.sort_by_key(|(kind, v)| match (kind, &v.ty) {
            (_, TypeRef::Json) => 2,
            (JsonKind::Number, _) => 1,
            _ => 0,
        });
        self.types.set_kind(
            index,
            TypeDefKind::Union {
                variants: variants.into_iter().map(|(_, v)| v).collect(),
                discriminator,
                schema: union_schema,
            },
        );
        TypeRef::Named(name)
    }

    /// A field from a property or parameter schema: the description (the wrapper's, else the
    /// wrapped schema's), `nullable` → optional, the kept string format, examples and validations.
    pub(crate) fn field_from(
        &mut self,
        json_name: &str,
        rust_name: String,
        ty: TypeRef,
        required: bool,
        schema: &'a Schema,
        source: FieldSource,
    ) -> Field {
        let ty = structural(ty);
        let (_, effective) = self.effective(None, schema);
        let nullable = schema.schema_data.nullable || effective.schema_data.nullable;
        let mut description = clean(schema.schema_data.description.as_deref())
            .or_else(|| clean(effective.schema_data.description.as_deref()));
        if ty == TypeRef::Json
            && let Some((keyword, branches)) = union_branches(effective)
            && branches.iter().filter(|b| !is_annotation_only(b)).count() > 1
        {
            let lead = if keyword == "oneOf" { "One of" } else { "Any of" };
            let names = variant_names(branches)
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let note = format!("{lead}: {names}.");
            description = Some(match description {
                Some(d) => format!("{d}\n\n{note}"),
                None => note,
            });
        }
        let format = if ty == TypeRef::String {
            kept_format(effective)
        } else {
            None
        };
        let not_null = |v: &Option<Value>| v.clone().filter(|v| !v.is_null());
        let validation = self.validation(effective, &ty);
        Field {
            json_name: json_name.to_owned(),
            rust_name,
            required: required && !nullable,
            description,
            format,
            example: not_null(&schema.schema_data.example)
                .or_else(|| not_null(&effective.schema_data.example)),
            default: not_null(&schema.schema_data.default)
                .or_else(|| not_null(&effective.schema_data.default)),
            source,
            validation,
            ty,
        }
    }

    /// The validation keywords of `schema` that fit `ty`; unsupported ones are dropped with a warning.
    fn validation(&mut self, schema: &'a Schema, ty: &TypeRef) -> Validation {
        let k = Keywords::of(schema);
        let mut v = Validation::default();
        match ty {
            TypeRef::String => {
                v.min_length = k.min_length;
                v.max_length = k.max_length;
                if let Some(p) = k.pattern {
                    match re2_pattern(p) {
                        Some(p) => v.pattern = Some(p),
                        None => {
                            let w = format!(
                                "{}/pattern: pattern {p:?} uses lookaround or backreferences, which Kubernetes \
                                 (RE2) rejects; dropped from the CRD",
                                self.pointer(schema)
                            );
                            self.warn(w);
                        }
                    }
                }
            }
            TypeRef::I32 | TypeRef::I64 | TypeRef::F32 | TypeRef::F64 | TypeRef::Bool => {
                if *ty != TypeRef::Bool {
                    v.minimum = k.minimum;
                    v.maximum = k.maximum;
                    v.exclusive_minimum = k.exclusive_minimum && k.minimum.is_some();
                    v.exclusive_maximum = k.exclusive_maximum && k.maximum.is_some();
                    match k.multiple_of {
                        Some(m) if m > 0.0 && m.is_finite() => v.multiple_of = Some(m),
                        Some(m) => {
                            let w = format!(
                                "{}/multipleOf: multipleOf {m} is not positive; dropped from the CRD",
                                self.pointer(schema)
                            );
                            self.warn(w);
                        }
                        None => {}
                    }
                }
                let fits = |value: &Value| match ty {
                    TypeRef::Bool => value.is_boolean(),
                    TypeRef::I32 | TypeRef::I64 => value.is_i64() || value.is_u64(),
                    _ => value.is_number(),
                };
                let values: Vec<Value> = k.enum_values.into_iter().filter(|e| !e.is_null()).collect();
                if !values.is_empty() && values.iter().all(fits) {
                    v.enum_values = values;
                }
            }
            TypeRef::Array(inner) => {
                v.min_items = k.min_items;
                v.max_items = k.max_items;
                if k.unique_items {
                    if is_scalar(inner) || self.is_enum(inner) {
                        v.list_set = true;
                    } else {
                        let w = format!(
                            "{}/uniqueItems: uniqueItems on an array of non-scalar items has no CRD equivalent \
                             (Kubernetes rejects uniqueItems: true); dropped",
                            self.pointer(schema)
                        );
                        self.warn(w);
                    }
                }
                if let (true, Shape::Array(Some(items))) = (is_scalar(inner), shape(schema))
                    && let Some((c, s)) = resolve::boxed_schema(self.api, items)
                {
                    let (_, s) = self.effective(c, s);
                    let items = self.validation(s, inner);
                    v.items = (!items.is_empty()).then(|| Box::new(items));
                }
            }
            TypeRef::Map(inner) => {
                v.min_properties = k.min_properties;
                v.max_properties = k.max_properties;
                if let (true, Shape::Map(values)) = (is_scalar(inner), shape(schema))
                    && let Some((c, s)) = resolve::schema(self.api, values)
                {
                    let (_, s) = self.effective(c, s);
                    let values = self.validation(s, inner);
                    v.values = (!values.is_empty()).then(|| Box::new(values));
                }
            }
            TypeRef::Named(_) | TypeRef::Json => {}
        }
        v
    }

    fn is_enum(&self, ty: &TypeRef) -> bool {
        matches!(ty, TypeRef::Named(n) if matches!(self.types.get(n).map(|t| &t.kind), Some(TypeDefKind::Enum { .. })))
    }
}

/// Whether variants can be told apart when deserializing; returns the discriminator values of
/// each variant (all empty for untagged unions).
fn distinguish(
    conv: &SchemaConverter<'_>,
    branches: &[Branch<'_>],
    discriminator: Option<&openapiv3::Discriminator>,
) -> Option<Vec<Vec<String>>> {
    let untagged = vec![Vec::new(); branches.len()];
    if branches.iter().any(|b| b.kind == JsonKind::Unknown) {
        return None;
    }
    let mut seen: Vec<JsonKind> = Vec::new();
    for b in branches.iter().filter(|b| b.kind != JsonKind::Object) {
        if seen.contains(&b.kind) {
            return None;
        }
        seen.push(b.kind);
    }
    let objects: Vec<&Branch<'_>> = branches.iter().filter(|b| b.kind == JsonKind::Object).collect();
    if objects.len() < 2 {
        return Some(untagged);
    }
    // A discriminator over `$ref` variants only (mapping values, else the component names).
    if let Some(d) = discriminator
        && objects.len() == branches.len()
    {
        let tags: Vec<Vec<String>> = branches
            .iter()
            .map(|b| {
                let (Some(reference), Some(component)) = (b.reference, b.component.as_deref()) else {
                    return Vec::new();
                };
                let mapped: Vec<String> = d
                    .mapping
                    .iter()
                    .filter(|(_, target)| target.as_str() == reference || target.as_str() == component)
                    .map(|(value, _)| value.clone())
                    .collect();
                if mapped.is_empty() {
                    vec![component.to_owned()]
                } else {
                    mapped
                }
            })
            .collect();
        let distinct = tags.iter().flatten().count()
            == tags
                .iter()
                .flatten()
                .collect::<std::collections::BTreeSet<_>>()
                .len();
        if tags.iter().all(|t| !t.is_empty()) && distinct {
            return Some(tags);
        }
    }
    // Each object variant requires a property that no other object variant has.
    let properties: Vec<(Vec<&String>, Vec<&String>)> = objects
        .iter()
        .map(|b| {
            let mut props = Vec::new();
            let mut required = Vec::new();
            conv.collect_properties(b.schema, &mut props, &mut required, 0);
            (props.into_iter().map(|(n, _)| n).collect(), required)
        })
        .collect();
    let disjoint = properties.iter().enumerate().all(|(i, (_, required))| {
        required.iter().any(|r| {
            properties
                .iter()
                .enumerate()
                .all(|(j, (props, _))| i == j || !props.contains(r))
        })
    });
    disjoint.then_some(untagged)
}

/// All branches are the same non-enum scalar type (`string | string(date)`): that scalar.
fn common_scalar(branches: &[Branch<'_>]) -> Option<TypeRef> {
    let types: Vec<TypeRef> = branches
        .iter()
        .map(|b| match shape(b.schema) {
            Shape::Scalar(ty) => Some(ty),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let first = types.first()?;
    let widened = |t: &TypeRef| match t {
        TypeRef::I32 => TypeRef::I64,
        TypeRef::F32 => TypeRef::F64,
        other => other.clone(),
    };
    if types.iter().all(|t| t == first) {
        Some(first.clone())
    } else if types.iter().all(|t| widened(t) == widened(first)) {
        Some(widened(first))
    } else {
        None
    }
}

/// Names of union branches for messages: component names, titles, else JSON types.
fn variant_names(branches: &[ReferenceOr<Schema>]) -> Vec<String> {
    branches
        .iter()
        .filter(|b| !is_annotation_only(b))
        .map(|b| match b {
            ReferenceOr::Reference { reference } => {
                reference.rsplit('/').next().unwrap_or(reference).to_owned()
            }
            ReferenceOr::Item(s) => match s.schema_data.title.as_deref().map(str::trim) {
                Some(t) if !t.is_empty() => t.to_owned(),
                _ => json_kind(s).variant_name().to_lowercase(),
            },
        })
        .collect()
}

fn union_branches(schema: &Schema) -> Option<(&'static str, &[ReferenceOr<Schema>])> {
    match &schema.schema_kind {
        SchemaKind::OneOf { one_of } => Some(("oneOf", one_of)),
        SchemaKind::AnyOf { any_of } => Some(("anyOf", any_of)),
        SchemaKind::Any(any) if !any.one_of.is_empty() => Some(("oneOf", &any.one_of)),
        SchemaKind::Any(any) if !any.any_of.is_empty() => Some(("anyOf", &any.any_of)),
        _ => None,
    }
}

/// A schema with no keyword at all (`{}` or only annotations such as `description`).
fn is_annotation_only(branch: &ReferenceOr<Schema>) -> bool {
    matches!(branch, ReferenceOr::Item(Schema { schema_kind: SchemaKind::Any(any), .. }) if *any == AnySchema::default())
}

/// The single branch of a wrapper schema: `allOf`/`oneOf`/`anyOf` with exactly one branch that is
/// not annotation-only, and no other structural keyword.
fn single_branch(schema: &Schema) -> Option<&ReferenceOr<Schema>> {
    let branches: &[ReferenceOr<Schema>] = match &schema.schema_kind {
        SchemaKind::AllOf { all_of } => all_of,
        SchemaKind::OneOf { one_of } => one_of,
        SchemaKind::AnyOf { any_of } => any_of,
        SchemaKind::Any(any) => {
            let lists = [&any.all_of, &any.one_of, &any.any_of];
            let bare = AnySchema {
                typ: any.typ.clone().filter(|t| t == "object"),
                all_of: any.all_of.clone(),
                one_of: any.one_of.clone(),
                any_of: any.any_of.clone(),
                ..AnySchema::default()
            };
            if *any != bare || lists.iter().filter(|l| !l.is_empty()).count() != 1 {
                return None;
            }
            lists.into_iter().find(|l| !l.is_empty())?
        }
        _ => return None,
    };
    let mut meaningful = branches.iter().filter(|b| !is_annotation_only(b));
    let only = meaningful.next()?;
    meaningful.next().is_none().then_some(only)
}

fn json_kind(schema: &Schema) -> JsonKind {
    match shape(schema) {
        Shape::Scalar(TypeRef::String) | Shape::Enum(_) => JsonKind::String,
        Shape::Scalar(TypeRef::I32 | TypeRef::I64) => JsonKind::Integer,
        Shape::Scalar(TypeRef::F32 | TypeRef::F64) => JsonKind::Number,
        Shape::Scalar(TypeRef::Bool) => JsonKind::Boolean,
        Shape::Scalar(_) | Shape::Union(..) => JsonKind::Unknown,
        Shape::Array(_) => JsonKind::Array,
        Shape::Map(_) | Shape::Object => JsonKind::Object,
        Shape::Json => match &schema.schema_kind {
            SchemaKind::Type(Type::Object(_)) => JsonKind::Object,
            SchemaKind::Any(any)
                if any.typ.as_deref() == Some("object")
                    || (any.typ.is_none()
                        && (!any.properties.is_empty() || any.additional_properties.is_some())) =>
            {
                JsonKind::Object
            }
            _ => JsonKind::Unknown,
        },
    }
}

fn is_scalar(ty: &TypeRef) -> bool {
    ty.scalar_schema().is_some()
}

/// A pattern the API server (Go RE2) accepts: JavaScript `\uXXXX` escapes become `\x{XXXX}`;
/// lookaround and backreferences have no RE2 equivalent (`None`).
fn re2_pattern(pattern: &str) -> Option<String> {
    for lookaround in ["(?=", "(?!", "(?<=", "(?<!", "(?>"] {
        if pattern.contains(lookaround) {
            return None;
        }
    }
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('1'..='9' | 'k') => return None,
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                if hex.len() == 4 && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                    out.push_str(&format!("\\x{{{hex}}}"));
                    for _ in 0..4 {
                        chars.next();
                    }
                } else {
                    out.push_str("\\u");
                }
            }
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// Validation keywords of a schema node, from its typed form or the catch-all form.
#[derive(Default)]
struct Keywords<'s> {
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<&'s str>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: bool,
    exclusive_maximum: bool,
    multiple_of: Option<f64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    enum_values: Vec<Value>,
}

impl<'s> Keywords<'s> {
    #[allow(clippy::cast_precision_loss, reason = "JSONSchemaProps carries bounds as f64")]
    fn of(schema: &'s Schema) -> Self {
        let count = |n: Option<usize>| n.and_then(|n| u64::try_from(n).ok());
        match &schema.schema_kind {
            SchemaKind::Type(Type::String(s)) => Self {
                min_length: count(s.min_length),
                max_length: count(s.max_length),
                pattern: s.pattern.as_deref(),
                ..Self::default()
            },
            SchemaKind::Type(Type::Integer(i)) => Self {
                minimum: i.minimum.map(|n| n as f64),
                maximum: i.maximum.map(|n| n as f64),
                exclusive_minimum: i.exclusive_minimum,
                exclusive_maximum: i.exclusive_maximum,
                multiple_of: i.multiple_of.map(|n| n as f64),
                enum_values: i.enumeration.iter().flatten().map(|n| Value::from(*n)).collect(),
                ..Self::default()
            },
            SchemaKind::Type(Type::Number(n)) => Self {
                minimum: n.minimum,
                maximum: n.maximum,
                exclusive_minimum: n.exclusive_minimum,
                exclusive_maximum: n.exclusive_maximum,
                multiple_of: n.multiple_of,
                enum_values: n.enumeration.iter().flatten().map(|n| Value::from(*n)).collect(),
                ..Self::default()
            },
            SchemaKind::Type(Type::Boolean(b)) => Self {
                enum_values: b.enumeration.iter().flatten().map(|b| Value::from(*b)).collect(),
                ..Self::default()
            },
            SchemaKind::Type(Type::Array(a)) => Self {
                min_items: count(a.min_items),
                max_items: count(a.max_items),
                unique_items: a.unique_items,
                ..Self::default()
            },
            SchemaKind::Type(Type::Object(o)) => Self {
                min_properties: count(o.min_properties),
                max_properties: count(o.max_properties),
                ..Self::default()
            },
            SchemaKind::Any(any) => Self {
                min_length: count(any.min_length),
                max_length: count(any.max_length),
                pattern: any.pattern.as_deref(),
                minimum: any.minimum,
                maximum: any.maximum,
                exclusive_minimum: any.exclusive_minimum == Some(true),
                exclusive_maximum: any.exclusive_maximum == Some(true),
                multiple_of: any.multiple_of,
                min_items: count(any.min_items),
                max_items: count(any.max_items),
                unique_items: any.unique_items == Some(true),
                min_properties: count(any.min_properties),
                max_properties: count(any.max_properties),
                enum_values: any.enumeration.clone(),
            },
            _ => Self::default(),
        }
    }
}

enum Shape<'a> {
    Scalar(TypeRef),
    Array(Option<&'a ReferenceOr<Box<Schema>>>),
    Map(&'a ReferenceOr<Schema>),
    Enum(Vec<String>),
    Object,
    Union(&'static str, &'a [ReferenceOr<Schema>]),
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
        SchemaKind::OneOf { one_of } => Shape::Union("oneOf", one_of),
        SchemaKind::AnyOf { any_of } => Shape::Union("anyOf", any_of),
        SchemaKind::Not { .. } => Shape::Json,
        SchemaKind::Any(any) => {
            if any.not.is_some() {
                return Shape::Json;
            }
            if !any.one_of.is_empty() || !any.any_of.is_empty() {
                // A union with properties or other keywords next to it has no faithful type.
                return match lone_union(any) {
                    Some("oneOf") => Shape::Union("oneOf", &any.one_of),
                    Some(_) => Shape::Union("anyOf", &any.any_of),
                    None => Shape::Json,
                };
            }
            if !any.enumeration.is_empty() {
                return enum_shape(any.typ.as_deref(), any.format.as_deref(), &any.enumeration);
            }
            match any.typ.as_deref() {
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

/// `enum` in the catch-all form: strings → a Rust enum; integers, numbers or booleans → the scalar
/// (the values go into the CRD as an `enum` validation); anything mixed → JSON.
fn enum_shape<'a>(typ: Option<&str>, format: Option<&str>, values: &[Value]) -> Shape<'a> {
    let values: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
    let all = |f: fn(&Value) -> bool| !values.is_empty() && values.iter().all(|v| f(v));
    match typ {
        Some("string") | None if all(Value::is_string) => Shape::Enum(
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        Some("integer") | None if all(|v| v.is_i64() || v.is_u64()) => match format {
            Some("int32") => Shape::Scalar(TypeRef::I32),
            _ => Shape::Scalar(TypeRef::I64),
        },
        Some("number") | None if all(Value::is_number) => match format {
            Some("float") => Shape::Scalar(TypeRef::F32),
            _ => Shape::Scalar(TypeRef::F64),
        },
        Some("boolean") | None if all(Value::is_boolean) => Shape::Scalar(TypeRef::Bool),
        _ => Shape::Json,
    }
}

/// `oneOf` or `anyOf` when `any` is that one union and nothing else but a `type`; `None` when other
/// keywords (properties, required, the other union, …) stand next to it.
fn lone_union(any: &AnySchema) -> Option<&'static str> {
    let bare = AnySchema {
        typ: any.typ.clone(),
        one_of: any.one_of.clone(),
        any_of: any.any_of.clone(),
        ..AnySchema::default()
    };
    match (any == &bare, any.one_of.is_empty(), any.any_of.is_empty()) {
        (true, false, true) => Some("oneOf"),
        (true, true, false) => Some("anyOf"),
        _ => None,
    }
}

/// The keyword of `schema` that [`shape`] cannot represent faithfully, and what becomes of it (the
/// text of the warning). `None` when the schema converts without loss.
fn approximation(schema: &Schema) -> Option<(&'static str, &'static str)> {
    const NOT: &str = "`not` has no CRD or Rust equivalent; the schema is typed as free-form JSON \
                       (x-kubernetes-preserve-unknown-fields)";
    const UNION_WITH: &str = "a union next to other keywords (properties, required, another union) has \
                              no faithful type; typed as free-form JSON (x-kubernetes-preserve-unknown-fields) \
                              (move the shared keywords into each variant, or into an allOf)";
    const BOTH: &str = "additionalProperties next to properties is dropped (a structural CRD schema \
                        cannot have both): keys other than the properties are pruned by the API server";
    let open = |additional: Option<&AdditionalProperties>| {
        matches!(
            additional,
            Some(AdditionalProperties::Schema(_) | AdditionalProperties::Any(true))
        )
    };
    match &schema.schema_kind {
        SchemaKind::Not { .. } => Some(("not", NOT)),
        SchemaKind::Type(Type::Object(o))
            if !o.properties.is_empty() && open(o.additional_properties.as_ref()) =>
        {
            Some(("additionalProperties", BOTH))
        }
        SchemaKind::Any(any) => {
            if any.not.is_some() {
                return Some(("not", NOT));
            }
            if !any.one_of.is_empty() || !any.any_of.is_empty() {
                let keyword = if any.one_of.is_empty() { "anyOf" } else { "oneOf" };
                return lone_union(any).is_none().then_some((keyword, UNION_WITH));
            }
            let is_object = matches!(any.typ.as_deref(), None | Some("object"))
                && any.items.is_none()
                && any.all_of.is_empty()
                && any.enumeration.is_empty();
            (is_object && !any.properties.is_empty() && open(any.additional_properties.as_ref()))
                .then_some(("additionalProperties", BOTH))
        }
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn converter_for(yaml: &str) -> OpenAPI {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const DOC: &str = r##"
openapi: 3.0.3
info: {title: t, version: '1'}
paths: {}
components:
  schemas:
    Thing:
      type: object
      required: [alias]
      properties:
        limit: {type: integer, minimum: 1, maximum: 10, exclusiveMaximum: true}
        code: {type: integer, enum: [200, 404]}
        tags: {type: array, uniqueItems: true, items: {type: string, maxLength: 8}}
        refs: {type: array, uniqueItems: true, items: {type: object, properties: {a: {type: string}}}}
        port: {oneOf: [{type: integer}, {type: string}]}
        same: {anyOf: [{type: object, properties: {a: {type: string}}}, {type: object, properties: {a: {type: string}}}]}
        alias:
          allOf: [{$ref: '#/components/schemas/Mode'}]
          nullable: true
    Mode: {type: string, enum: [fast, slow]}
"##;

    fn thing_fields(api: &OpenAPI) -> (Vec<Field>, Vec<String>, TypeSpace) {
        let mut c = SchemaConverter::new(api, Vec::new());
        let schema = match api.components.as_ref().unwrap().schemas.get("Thing").unwrap() {
            ReferenceOr::Item(s) => s,
            ReferenceOr::Reference { .. } => unreachable!(),
        };
        let fields = c.object_fields(schema, "Thing", Some("thing"), true).fields;
        (fields, c.warnings, c.types)
    }

    #[test]
    fn validations_enums_unions_and_wrappers() {
        let api = converter_for(DOC);
        let (fields, warnings, types) = thing_fields(&api);
        let by = |n: &str| fields.iter().find(|f| f.json_name == n).unwrap();
        let limit = &by("limit").validation;
        assert_eq!(
            (limit.minimum, limit.maximum, limit.exclusive_maximum),
            (Some(1.0), Some(10.0), true)
        );
        assert_eq!(
            by("code").validation.enum_values,
            vec![Value::from(200), Value::from(404)]
        );
        let tags = &by("tags").validation;
        assert!(tags.list_set);
        assert_eq!(tags.items.as_ref().unwrap().max_length, Some(8));
        assert!(!by("refs").validation.list_set);
        assert!(warnings.iter().any(|w| w.starts_with(
            "#/components/schemas/Thing/properties/refs/uniqueItems: uniqueItems on an array of non-scalar items"
        )));
        let TypeRef::Named(port) = &by("port").ty else {
            panic!("{:?}", by("port").ty)
        };
        assert!(matches!(
            types.get(port).unwrap().kind,
            TypeDefKind::Union {
                schema: UnionSchema::IntOrString,
                ..
            }
        ));
        assert_eq!(by("same").ty, TypeRef::Json);
        assert_eq!(
            by("same").description.as_deref(),
            Some("Any of: `object`, `object`.")
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("#/components/schemas/Thing/properties/same/anyOf: the variants"))
        );
        assert_eq!(by("alias").ty, TypeRef::Named("Mode".to_owned()));
        assert!(!by("alias").required);
    }

    #[test]
    fn wrapper_cycles_end_as_json() {
        let api = converter_for(
            r##"
openapi: 3.0.3
info: {title: t, version: '1'}
paths: {}
components:
  schemas:
    A: {anyOf: [{$ref: '#/components/schemas/B'}, {}]}
    B: {anyOf: [{$ref: '#/components/schemas/A'}, {}]}
"##,
        );
        let mut c = SchemaConverter::new(&api, Vec::new());
        let Some(ReferenceOr::Item(a)) = api.components.as_ref().and_then(|c| c.schemas.get("A")) else {
            panic!("no A");
        };
        assert_eq!(c.type_of(Some("A"), a, "X", "a", None), TypeRef::Json);
        assert!(
            c.warnings.iter().any(|w| w.contains("nesting deeper")),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn patterns_become_re2() {
        assert_eq!(re2_pattern(r"^[a-z]+$").as_deref(), Some(r"^[a-z]+$"));
        assert_eq!(
            re2_pattern(r"^[\u0041-\u005A]$").as_deref(),
            Some(r"^[\x{0041}-\x{005A}]$")
        );
        assert_eq!(re2_pattern(r"\\1").as_deref(), Some(r"\\1"));
        assert_eq!(re2_pattern(r"^(?!admin)"), None);
        assert_eq!(re2_pattern(r"(a)\1"), None);
    }
}
