//! One subgraph's SDL, read as Federation v2: which types it defines, which fields it can
//! resolve, its `@key`s and `@shareable` marks. Federation directives are recognised by the
//! names the subgraph's `@link(url: ".../federation/v2.x", import: [...])` gives them.

use std::collections::{HashMap, HashSet};

use apollo_compiler::{
    Name, Node,
    ast::{self, Definition, DirectiveList, FieldDefinition, InputValueDefinition},
};
use indexmap::IndexMap;

use super::{Kind, fieldset::FieldSet};

/// A subgraph's schema as composition needs it.
#[derive(Debug, Clone)]
pub struct SubgraphSchema {
    /// The subgraph's name (`auth`, `brain`, ...).
    pub name: String,
    /// Its types, in SDL order, federation internals left out.
    pub types: IndexMap<Name, SubgraphType>,
}

/// A type as one subgraph defines it.
#[derive(Debug, Clone)]
pub struct SubgraphType {
    /// Object, interface, ...
    pub kind: Kind,
    /// Its description, if the subgraph gave one.
    pub description: Option<Node<str>>,
    /// Fields of objects and interfaces.
    pub fields: IndexMap<Name, SubgraphField>,
    /// Fields of input objects.
    pub input_fields: IndexMap<Name, Node<InputValueDefinition>>,
    /// `@key`s (objects and interfaces).
    pub keys: Vec<Key>,
    /// Interfaces implemented (objects and interfaces).
    pub implements: Vec<Name>,
    /// Members (unions).
    pub members: Vec<Name>,
    /// Values (enums), with their definitions.
    pub values: IndexMap<Name, Node<ast::EnumValueDefinition>>,
    /// Whether the subgraph wrote it as `extend type`.
    pub extension: bool,
    /// `@specifiedBy` and other directives kept for the public schema (scalars).
    pub directives: DirectiveList,
}

/// A `@key` of an entity in one subgraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The field set as written (`"id"`, `"sku org { id }"`).
    pub fields: String,
    /// The field set parsed.
    pub selection: FieldSet,
    /// False for `@key(resolvable: false)`: the subgraph references the entity but cannot
    /// resolve it from a representation.
    pub resolvable: bool,
}

/// A field of an object or interface as one subgraph defines it.
#[derive(Debug, Clone)]
pub struct SubgraphField {
    /// The definition with federation directives stripped.
    pub def: Node<FieldDefinition>,
    /// `@external`: defined here but resolved elsewhere.
    pub external: bool,
    /// `@shareable` on the field or its type, or a key field.
    pub shareable: bool,
}

/// The local names of the federation directives a subgraph uses.
struct FederationNames {
    names: HashMap<String, &'static str>,
}

const FEDERATION_SPEC: &str = "https://specs.apollo.dev/federation/";
const FEDERATION_DIRECTIVES: &[&str] = &[
    "key",
    "shareable",
    "external",
    "requires",
    "provides",
    "override",
    "inaccessible",
    "tag",
    "extends",
    "composeDirective",
    "interfaceObject",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
    "fromContext",
    "cost",
    "listSize",
];
/// Directives the gateway cannot honour yet; a subgraph using one fails composition rather
/// than being served wrongly.
const UNSUPPORTED: &[&str] = &[
    "requires",
    "provides",
    "override",
    "interfaceObject",
    "context",
    "fromContext",
];

impl FederationNames {
    fn from_links(directives: &[&Node<ast::Directive>]) -> Result<Self, String> {
        let mut names = HashMap::new();
        let mut linked = false;
        for link in directives.iter().filter(|d| d.name == "link") {
            let Some(url) = link
                .specified_argument_by_name("url")
                .and_then(|v| v.as_str())
            else {
                continue;
            };
            if !url.starts_with(FEDERATION_SPEC) {
                continue;
            }
            let version = url.trim_start_matches(FEDERATION_SPEC);
            if !version.starts_with("v2.") {
                return Err(format!(
                    "links federation {version}; Federation v2 is required"
                ));
            }
            linked = true;
            let prefix = link
                .specified_argument_by_name("as")
                .and_then(|v| v.as_str())
                .unwrap_or("federation")
                .to_string();
            for d in FEDERATION_DIRECTIVES {
                names.insert(format!("{prefix}__{d}"), *d);
            }
            let imports = link
                .specified_argument_by_name("import")
                .and_then(|v| v.as_list())
                .unwrap_or_default();
            for import in imports {
                let (from, to) = match import.as_ref() {
                    ast::Value::String(s) => (s.clone(), s.clone()),
                    ast::Value::Object(fields) => {
                        let get = |k: &str| {
                            fields
                                .iter()
                                .find(|(n, _)| n == k)
                                .and_then(|(_, v)| v.as_str())
                                .map(str::to_string)
                        };
                        let Some(name) = get("name") else { continue };
                        let alias = get("as").unwrap_or_else(|| name.clone());
                        (name, alias)
                    }
                    _ => continue,
                };
                let (Some(from), Some(to)) = (from.strip_prefix('@'), to.strip_prefix('@')) else {
                    continue; // an imported type name, such as FieldSet
                };
                if let Some(d) = FEDERATION_DIRECTIVES.iter().find(|d| **d == from) {
                    names.insert(to.to_string(), *d);
                }
            }
        }
        if !linked {
            return Err(
                "is not a Federation v2 subgraph: its SDL has no `@link` to https://specs.apollo.dev/federation/v2.x"
                    .into(),
            );
        }
        Ok(Self { names })
    }

    fn of(&self, directive: &ast::Directive) -> Option<&'static str> {
        self.names.get(directive.name.as_str()).copied()
    }

    fn has(&self, directives: &DirectiveList, which: &str) -> bool {
        directives.iter().any(|d| self.of(d) == Some(which))
    }
}

/// Types a subgraph SDL may carry that belong to federation or link, not to the API.
fn is_internal_type(name: &str) -> bool {
    matches!(
        name,
        "_Any" | "_Entity" | "_Service" | "FieldSet" | "_FieldSet"
    ) || name.starts_with("federation__")
        || name.starts_with("link__")
        || name.starts_with("join__")
}

fn is_builtin_directive(name: &str) -> bool {
    matches!(
        name,
        "include" | "skip" | "deprecated" | "specifiedBy" | "oneOf" | "defer" | "stream"
    )
}

/// Keeps only the directives that mean something in the public schema.
pub fn public_directives(list: &DirectiveList) -> DirectiveList {
    DirectiveList(
        list.iter()
            .filter(|d| matches!(d.name.as_str(), "deprecated" | "specifiedBy" | "oneOf"))
            .cloned()
            .collect(),
    )
}

fn clean_field(def: &FieldDefinition) -> Node<FieldDefinition> {
    let mut def = def.clone();
    def.directives = public_directives(&def.directives);
    for arg in &mut def.arguments {
        let a = arg.make_mut();
        a.directives = public_directives(&a.directives);
    }
    Node::new(def)
}

fn clean_input_value(def: &InputValueDefinition) -> Node<InputValueDefinition> {
    let mut def = def.clone();
    def.directives = public_directives(&def.directives);
    Node::new(def)
}

impl SubgraphSchema {
    /// Reads a subgraph's `_service { sdl }`. Errors name the subgraph's fault.
    pub fn parse(name: &str, sdl: &str) -> Result<Self, Vec<String>> {
        let doc = ast::Document::parse(sdl, format!("{name}.graphql")).map_err(|e| {
            e.errors
                .iter()
                .map(|d| format!("subgraph {name}: {}", d.error))
                .collect::<Vec<_>>()
        })?;
        let schema_directives: Vec<&Node<ast::Directive>> = doc
            .definitions
            .iter()
            .flat_map(|d| match d {
                Definition::SchemaDefinition(s) => s.directives.iter().collect::<Vec<_>>(),
                Definition::SchemaExtension(s) => s.directives.iter().collect(),
                _ => Vec::new(),
            })
            .collect();
        let fed = FederationNames::from_links(&schema_directives)
            .map_err(|e| vec![format!("subgraph {name} {e}")])?;

        let mut errors = Vec::new();
        let mut roots: HashMap<ast::OperationType, Name> = HashMap::new();
        for d in &doc.definitions {
            let ops = match d {
                Definition::SchemaDefinition(s) => &s.root_operations,
                Definition::SchemaExtension(s) => &s.root_operations,
                _ => continue,
            };
            for op in ops {
                roots.insert(op.0, op.1.clone());
            }
        }
        for (op, type_name) in &roots {
            let expected = match op {
                ast::OperationType::Query => "Query",
                ast::OperationType::Mutation => "Mutation",
                ast::OperationType::Subscription => "Subscription",
            };
            if type_name != expected {
                errors.push(format!(
                    "subgraph {name}: root type {type_name} must be named {expected}"
                ));
            }
        }

        let mut types: IndexMap<Name, SubgraphType> = IndexMap::new();
        let mut used_unsupported = HashSet::new();
        for d in &doc.definitions {
            let (type_name, kind, extension) = match d {
                Definition::ObjectTypeDefinition(t) => (&t.name, Kind::Object, false),
                Definition::ObjectTypeExtension(t) => (&t.name, Kind::Object, true),
                Definition::InterfaceTypeDefinition(t) => (&t.name, Kind::Interface, false),
                Definition::InterfaceTypeExtension(t) => (&t.name, Kind::Interface, true),
                Definition::UnionTypeDefinition(t) => (&t.name, Kind::Union, false),
                Definition::UnionTypeExtension(t) => (&t.name, Kind::Union, true),
                Definition::EnumTypeDefinition(t) => (&t.name, Kind::Enum, false),
                Definition::EnumTypeExtension(t) => (&t.name, Kind::Enum, true),
                Definition::InputObjectTypeDefinition(t) => (&t.name, Kind::InputObject, false),
                Definition::InputObjectTypeExtension(t) => (&t.name, Kind::InputObject, true),
                Definition::ScalarTypeDefinition(t) => (&t.name, Kind::Scalar, false),
                Definition::ScalarTypeExtension(t) => (&t.name, Kind::Scalar, true),
                Definition::DirectiveDefinition(def) => {
                    let n = def.name.as_str();
                    if !is_builtin_directive(n) && !fed.names.contains_key(n) && n != "link" {
                        tracing::debug!(
                            subgraph = name,
                            directive = n,
                            "custom directive not composed"
                        );
                    }
                    continue;
                }
                _ => continue,
            };
            if is_internal_type(type_name) {
                continue;
            }
            let entry = types
                .entry(type_name.clone())
                .or_insert_with(|| SubgraphType {
                    kind,
                    description: None,
                    fields: IndexMap::new(),
                    input_fields: IndexMap::new(),
                    keys: Vec::new(),
                    implements: Vec::new(),
                    members: Vec::new(),
                    values: IndexMap::new(),
                    extension,
                    directives: DirectiveList::default(),
                });
            if entry.kind != kind {
                errors.push(format!(
                    "subgraph {name}: {type_name} is defined both as {} and as {}",
                    entry.kind.as_str(),
                    kind.as_str()
                ));
                continue;
            }
            entry.extension &= extension;
            let (description, directives) = match d {
                Definition::ObjectTypeDefinition(t) => (t.description.clone(), &t.directives),
                Definition::ObjectTypeExtension(t) => (None, &t.directives),
                Definition::InterfaceTypeDefinition(t) => (t.description.clone(), &t.directives),
                Definition::InterfaceTypeExtension(t) => (None, &t.directives),
                Definition::UnionTypeDefinition(t) => (t.description.clone(), &t.directives),
                Definition::UnionTypeExtension(t) => (None, &t.directives),
                Definition::EnumTypeDefinition(t) => (t.description.clone(), &t.directives),
                Definition::EnumTypeExtension(t) => (None, &t.directives),
                Definition::InputObjectTypeDefinition(t) => (t.description.clone(), &t.directives),
                Definition::InputObjectTypeExtension(t) => (None, &t.directives),
                Definition::ScalarTypeDefinition(t) => (t.description.clone(), &t.directives),
                Definition::ScalarTypeExtension(t) => (None, &t.directives),
                _ => continue,
            };
            if entry.description.is_none() {
                entry.description = description;
            }
            if fed.has(directives, "extends") {
                entry.extension = true;
            }
            for dir in directives.iter() {
                match fed.of(dir) {
                    Some(u) if UNSUPPORTED.contains(&u) => {
                        used_unsupported.insert(u);
                    }
                    Some("key") => {
                        let fields = dir
                            .specified_argument_by_name("fields")
                            .and_then(|v| v.as_str())
                            .unwrap_or_default()
                            .to_string();
                        let resolvable = dir
                            .specified_argument_by_name("resolvable")
                            .and_then(|v| v.to_bool())
                            .unwrap_or(true);
                        match FieldSet::parse(&fields) {
                            Ok(selection) => entry.keys.push(Key {
                                fields,
                                selection,
                                resolvable,
                            }),
                            Err(e) => errors.push(format!(
                                "subgraph {name}: @key(fields: {fields:?}) on {type_name}: {e}"
                            )),
                        }
                    }
                    _ => {}
                }
            }
            entry.directives.0.extend(public_directives(directives).0);
            let type_shareable = fed.has(directives, "shareable");
            let fields: &[Node<FieldDefinition>] = match d {
                Definition::ObjectTypeDefinition(t) => &t.fields,
                Definition::ObjectTypeExtension(t) => &t.fields,
                Definition::InterfaceTypeDefinition(t) => &t.fields,
                Definition::InterfaceTypeExtension(t) => &t.fields,
                _ => &[],
            };
            for f in fields {
                if type_name == "Query" && matches!(f.name.as_str(), "_service" | "_entities") {
                    continue;
                }
                for dir in f.directives.iter() {
                    if let Some(u) = fed.of(dir).filter(|u| UNSUPPORTED.contains(u)) {
                        used_unsupported.insert(u);
                    }
                }
                if fed.has(&f.directives, "inaccessible") {
                    used_unsupported.insert("inaccessible");
                }
                entry.fields.insert(
                    f.name.clone(),
                    SubgraphField {
                        def: clean_field(f),
                        external: fed.has(&f.directives, "external"),
                        shareable: type_shareable || fed.has(&f.directives, "shareable"),
                    },
                );
            }
            match d {
                Definition::ObjectTypeDefinition(t) => entry
                    .implements
                    .extend(t.implements_interfaces.iter().cloned()),
                Definition::ObjectTypeExtension(t) => entry
                    .implements
                    .extend(t.implements_interfaces.iter().cloned()),
                Definition::InterfaceTypeDefinition(t) => entry
                    .implements
                    .extend(t.implements_interfaces.iter().cloned()),
                Definition::InterfaceTypeExtension(t) => entry
                    .implements
                    .extend(t.implements_interfaces.iter().cloned()),
                Definition::UnionTypeDefinition(t) => {
                    entry.members.extend(t.members.iter().cloned())
                }
                Definition::UnionTypeExtension(t) => {
                    entry.members.extend(t.members.iter().cloned())
                }
                Definition::EnumTypeDefinition(t) => {
                    for v in &t.values {
                        let mut v2 = (**v).clone();
                        v2.directives = public_directives(&v.directives);
                        entry.values.insert(v.value.clone(), Node::new(v2));
                    }
                }
                Definition::EnumTypeExtension(t) => {
                    for v in &t.values {
                        let mut v2 = (**v).clone();
                        v2.directives = public_directives(&v.directives);
                        entry.values.insert(v.value.clone(), Node::new(v2));
                    }
                }
                Definition::InputObjectTypeDefinition(t) => {
                    for f in &t.fields {
                        entry
                            .input_fields
                            .insert(f.name.clone(), clean_input_value(f));
                    }
                }
                Definition::InputObjectTypeExtension(t) => {
                    for f in &t.fields {
                        entry
                            .input_fields
                            .insert(f.name.clone(), clean_input_value(f));
                    }
                }
                _ => {}
            }
        }
        let mut unsupported: Vec<_> = used_unsupported.into_iter().collect();
        unsupported.sort();
        for u in unsupported {
            errors.push(format!(
                "subgraph {name}: @{u} is not supported by this gateway (supported: @key, @shareable, @external)"
            ));
        }

        // Key fields are shareable by definition; check they exist.
        for (type_name, t) in &mut types {
            let key_fields: Vec<Name> = t
                .keys
                .iter()
                .flat_map(|k| k.selection.fields.iter().map(|f| f.name.clone()))
                .collect();
            for k in &key_fields {
                match t.fields.get_mut(k) {
                    Some(f) => f.shareable = true,
                    None => errors.push(format!(
                        "subgraph {name}: @key on {type_name} names field {k}, which {type_name} does not have"
                    )),
                }
            }
        }
        if errors.is_empty() {
            Ok(Self {
                name: name.to_string(),
                types,
            })
        } else {
            Err(errors)
        }
    }
}
