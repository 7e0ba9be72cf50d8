//! Composition: the subgraphs' Federation v2 SDL merged into one supergraph.
//!
//! [`compose`] reads each subgraph's `_service { sdl }` ([`subgraph`]), merges types across
//! subgraphs under the Federation v2 rules the gateway supports (`@key` entities extended
//! across subgraphs, `@shareable` fields and value types, `@external`), and refuses the
//! conflicts with a message naming the type, field and subgraphs. The result knows, for the
//! planner, which subgraph can resolve each field and by which keys each entity is reached;
//! it carries the public API schema (validation, introspection, response shaping) and prints
//! the standard supergraph SDL ([`print`], join v0.3) that Hive Gateway and Apollo Router read.

pub mod fieldset;
mod print;
pub mod subgraph;

use apollo_compiler::{
    Name, Node, Schema,
    ast::{self, DirectiveList, EnumValueDefinition, FieldDefinition, InputValueDefinition},
    collections::HashMap,
    schema::Implementers,
    validation::Valid,
};
use indexmap::IndexMap;

pub use fieldset::{FieldSet, KeyField};
pub use subgraph::{Key, SubgraphSchema};

/// Index of a subgraph in [`Supergraph::graphs`].
pub type GraphId = usize;

/// The kind of a named type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An object type.
    Object,
    /// An interface.
    Interface,
    /// A union.
    Union,
    /// An enum.
    Enum,
    /// An input object.
    InputObject,
    /// A custom scalar.
    Scalar,
}

impl Kind {
    /// How errors name the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Object => "an object type",
            Self::Interface => "an interface",
            Self::Union => "a union",
            Self::Enum => "an enum",
            Self::InputObject => "an input object",
            Self::Scalar => "a scalar",
        }
    }
}

/// One subgraph's SDL, where composition starts.
#[derive(Debug, Clone)]
pub struct SubgraphSource {
    /// The subgraph's name (lower case, as in `--subgraph auth=URL`).
    pub name: String,
    /// Where the subgraph answers GraphQL over HTTP (printed in the supergraph).
    pub url: String,
    /// Its `_service { sdl }`.
    pub sdl: String,
}

/// A subgraph as the supergraph knows it.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Its `join__Graph` enum value (`AUTH`).
    pub enum_value: String,
}

/// Where a type is defined.
#[derive(Debug, Clone)]
pub struct TypeIn {
    /// The subgraph.
    pub graph: GraphId,
    /// Its `@key`s there.
    pub keys: Vec<Key>,
    /// Whether it was written as an extension there.
    pub extension: bool,
}

/// A field as the supergraph knows it.
#[derive(Debug, Clone)]
pub struct SuperField {
    /// The merged definition (the least restrictive nullability across subgraphs).
    pub def: Node<FieldDefinition>,
    /// Every subgraph that defines the field.
    pub graphs: Vec<FieldIn>,
}

/// A field in one subgraph.
#[derive(Debug, Clone)]
pub struct FieldIn {
    /// The subgraph.
    pub graph: GraphId,
    /// `@external` there: defined but not resolvable.
    pub external: bool,
    /// `@shareable` (or a key field) there.
    pub shareable: bool,
    /// The field's type there.
    pub ty: ast::Type,
}

/// An input-object field as the supergraph knows it.
#[derive(Debug, Clone)]
pub struct SuperInputField {
    /// The definition.
    pub def: Node<InputValueDefinition>,
    /// Subgraphs that define it.
    pub graphs: Vec<GraphId>,
}

/// A named type of the supergraph.
#[derive(Debug, Clone)]
pub struct SuperType {
    /// Its name.
    pub name: Name,
    /// Object, interface, ...
    pub kind: Kind,
    /// Its description.
    pub description: Option<Node<str>>,
    /// The subgraphs that define it, with their keys.
    pub graphs: Vec<TypeIn>,
    /// Fields (objects, interfaces).
    pub fields: IndexMap<Name, SuperField>,
    /// Fields (input objects).
    pub input_fields: IndexMap<Name, SuperInputField>,
    /// Implemented interfaces, by subgraph.
    pub implements: IndexMap<Name, Vec<GraphId>>,
    /// Union members, by subgraph.
    pub members: IndexMap<Name, Vec<GraphId>>,
    /// Enum values, by subgraph.
    pub values: IndexMap<Name, (Node<EnumValueDefinition>, Vec<GraphId>)>,
    /// Directives kept for the public schema (`@specifiedBy`).
    pub directives: DirectiveList,
}

impl SuperType {
    /// Where the type is defined in `graph`, if it is.
    pub fn in_graph(&self, graph: GraphId) -> Option<&TypeIn> {
        self.graphs.iter().find(|t| t.graph == graph)
    }
}

/// Composition failed; each entry names what conflicts where.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the subgraphs do not compose:\n  - {}", .errors.join("\n  - "))]
pub struct ComposeError {
    /// One message per problem.
    pub errors: Vec<String>,
}

/// The composed supergraph.
pub struct Supergraph {
    graphs: Vec<Graph>,
    types: IndexMap<Name, SuperType>,
    api: Valid<Schema>,
    implementers: HashMap<Name, Implementers>,
    sdl: String,
}

impl std::fmt::Debug for Supergraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supergraph")
            .field("graphs", &self.graphs)
            .field("types", &self.types.len())
            .finish_non_exhaustive()
    }
}

/// Composes the subgraphs, in the order given (which is also the planner's preference among
/// subgraphs that can resolve the same field).
pub fn compose(sources: &[SubgraphSource]) -> Result<Supergraph, ComposeError> {
    let mut errors = Vec::new();
    let mut schemas = Vec::new();
    let mut names = std::collections::HashSet::new();
    for s in sources {
        if !names.insert(s.name.clone()) {
            errors.push(format!("subgraph {} is listed twice", s.name));
        }
        match SubgraphSchema::parse(&s.name, &s.sdl) {
            Ok(schema) => schemas.push(schema),
            Err(e) => errors.extend(e),
        }
    }
    if sources.is_empty() {
        errors.push("no subgraphs to compose".into());
    }
    if !errors.is_empty() {
        return Err(ComposeError { errors });
    }
    let graphs = graph_names(sources);
    let types = merge(&schemas, &mut errors);
    if !types.contains_key("Query") {
        errors.push("no subgraph defines a Query type".into());
    }
    check_satisfiable(&types, &graphs, &mut errors);
    if !errors.is_empty() {
        return Err(ComposeError { errors });
    }
    let api_sdl = print::api_sdl(&types);
    let api = Schema::parse_and_validate(&api_sdl, "supergraph-api.graphql").map_err(|e| {
        ComposeError {
            errors: e
                .errors
                .iter()
                .map(|d| format!("the composed schema is invalid: {}", d.error))
                .collect(),
        }
    })?;
    let sdl = print::supergraph_sdl(&types, &graphs);
    // The printed supergraph must itself be a valid schema (join directives defined).
    if let Err(e) = Schema::parse_and_validate(&sdl, "supergraph.graphql") {
        return Err(ComposeError {
            errors: e
                .errors
                .iter()
                .map(|d| format!("printing the supergraph went wrong: {}", d.error))
                .collect(),
        });
    }
    let implementers = api.implementers_map();
    Ok(Supergraph {
        graphs,
        types,
        api,
        implementers,
        sdl,
    })
}

fn graph_names(sources: &[SubgraphSource]) -> Vec<Graph> {
    let mut used = std::collections::HashSet::new();
    sources
        .iter()
        .map(|s| {
            let base: String = s
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let base = if base.starts_with(|c: char| c.is_ascii_digit()) || base.is_empty() {
                format!("G_{base}")
            } else {
                base
            };
            let mut value = base.clone();
            let mut n = 1;
            while !used.insert(value.clone()) {
                n += 1;
                value = format!("{base}_{n}");
            }
            Graph {
                name: s.name.clone(),
                url: s.url.clone(),
                enum_value: value,
            }
        })
        .collect()
}

/// Two output types agree when they name the same type with the same list structure;
/// nullability may differ (the supergraph takes the nullable one).
fn merge_output_type(a: &ast::Type, b: &ast::Type) -> Option<ast::Type> {
    use ast::Type::*;
    match (a, b) {
        (Named(x) | NonNullNamed(x), Named(y) | NonNullNamed(y)) if x == y => {
            if a.is_non_null() && b.is_non_null() {
                Some(NonNullNamed(x.clone()))
            } else {
                Some(Named(x.clone()))
            }
        }
        (List(x) | NonNullList(x), List(y) | NonNullList(y)) => {
            let inner = merge_output_type(x, y)?;
            if a.is_non_null() && b.is_non_null() {
                Some(NonNullList(Box::new(inner)))
            } else {
                Some(List(Box::new(inner)))
            }
        }
        _ => None,
    }
}

fn same_arguments(a: &FieldDefinition, b: &FieldDefinition) -> bool {
    a.arguments.len() == b.arguments.len()
        && a.arguments.iter().all(|x| {
            b.arguments
                .iter()
                .any(|y| y.name == x.name && y.ty == x.ty && y.default_value == x.default_value)
        })
}

fn merge(schemas: &[SubgraphSchema], errors: &mut Vec<String>) -> IndexMap<Name, SuperType> {
    let mut types: IndexMap<Name, SuperType> = IndexMap::new();
    for (graph, schema) in schemas.iter().enumerate() {
        for (name, t) in &schema.types {
            let entry = types.entry(name.clone()).or_insert_with(|| SuperType {
                name: name.clone(),
                kind: t.kind,
                description: None,
                graphs: Vec::new(),
                fields: IndexMap::new(),
                input_fields: IndexMap::new(),
                implements: IndexMap::new(),
                members: IndexMap::new(),
                values: IndexMap::new(),
                directives: DirectiveList::default(),
            });
            if entry.kind != t.kind {
                errors.push(format!(
                    "{name} is {} in subgraph {} but {} elsewhere",
                    t.kind.as_str(),
                    schema.name,
                    entry.kind.as_str()
                ));
                continue;
            }
            if entry.description.is_none() {
                entry.description = t.description.clone();
            }
            for d in t.directives.iter() {
                if !entry.directives.iter().any(|e| e.name == d.name) {
                    entry.directives.0.push(d.clone());
                }
            }
            entry.graphs.push(TypeIn {
                graph,
                keys: t.keys.clone(),
                extension: t.extension,
            });
            for (fname, f) in &t.fields {
                let presence = FieldIn {
                    graph,
                    external: f.external,
                    shareable: f.shareable,
                    ty: f.def.ty.clone(),
                };
                match entry.fields.get_mut(fname) {
                    None => {
                        entry.fields.insert(
                            fname.clone(),
                            SuperField {
                                def: f.def.clone(),
                                graphs: vec![presence],
                            },
                        );
                    }
                    Some(existing) => {
                        match merge_output_type(&existing.def.ty, &f.def.ty) {
                            Some(ty) => existing.def.make_mut().ty = ty,
                            None => errors.push(format!(
                                "field {name}.{fname} has type {} in subgraph {} but {} elsewhere",
                                f.def.ty, schema.name, existing.def.ty
                            )),
                        }
                        if !same_arguments(&existing.def, &f.def) {
                            errors.push(format!(
                                "field {name}.{fname} takes different arguments in subgraph {} than elsewhere",
                                schema.name
                            ));
                        }
                        if existing.def.description.is_none() && f.def.description.is_some() {
                            existing.def.make_mut().description = f.def.description.clone();
                        }
                        existing.graphs.push(presence);
                    }
                }
            }
            for i in &t.implements {
                entry.implements.entry(i.clone()).or_default().push(graph);
            }
            for m in &t.members {
                entry.members.entry(m.clone()).or_default().push(graph);
            }
            for (v, def) in &t.values {
                entry
                    .values
                    .entry(v.clone())
                    .or_insert_with(|| (def.clone(), Vec::new()))
                    .1
                    .push(graph);
            }
            merge_input_fields(entry, graph, t, &schema.name, errors);
        }
    }
    // Input objects keep only the fields every defining subgraph accepts.
    for t in types.values_mut().filter(|t| t.kind == Kind::InputObject) {
        let defined_in = t.graphs.len();
        let mut dropped = Vec::new();
        for (fname, f) in &t.input_fields {
            if f.graphs.len() < defined_in {
                if f.def.ty.is_non_null() && f.def.default_value.is_none() {
                    errors.push(format!(
                        "input field {}.{fname} is required in some subgraphs but missing in others",
                        t.name
                    ));
                }
                dropped.push(fname.clone());
            }
        }
        for d in dropped {
            t.input_fields.shift_remove(&d);
        }
    }
    check_sharing(&types, schemas, errors);
    types
}

fn merge_input_fields(
    entry: &mut SuperType,
    graph: GraphId,
    t: &subgraph::SubgraphType,
    subgraph: &str,
    errors: &mut Vec<String>,
) {
    for (fname, f) in &t.input_fields {
        match entry.input_fields.get_mut(fname) {
            None => {
                entry.input_fields.insert(
                    fname.clone(),
                    SuperInputField {
                        def: f.clone(),
                        graphs: vec![graph],
                    },
                );
            }
            Some(existing) => {
                if existing.def.ty.inner_named_type() != f.ty.inner_named_type()
                    || existing.def.ty.is_list() != f.ty.is_list()
                {
                    errors.push(format!(
                        "input field {}.{fname} has type {} in subgraph {subgraph} but {} elsewhere",
                        entry.name, f.ty, existing.def.ty
                    ));
                } else if f.ty.is_non_null() && !existing.def.ty.is_non_null() {
                    // Inputs take the most restrictive type.
                    existing.def.make_mut().ty = f.ty.clone();
                }
                existing.graphs.push(graph);
            }
        }
    }
}

/// A field resolved by several subgraphs must be `@shareable` in each of them.
fn check_sharing(
    types: &IndexMap<Name, SuperType>,
    schemas: &[SubgraphSchema],
    errors: &mut Vec<String>,
) {
    for t in types.values().filter(|t| t.kind == Kind::Object) {
        for (fname, f) in &t.fields {
            let resolving: Vec<&FieldIn> = f.graphs.iter().filter(|g| !g.external).collect();
            if resolving.is_empty() {
                errors.push(format!(
                    "field {}.{fname} is @external in every subgraph that defines it",
                    t.name
                ));
                continue;
            }
            if resolving.len() > 1 {
                let not_shared: Vec<&str> = resolving
                    .iter()
                    .filter(|g| !g.shareable)
                    .map(|g| schemas[g.graph].name.as_str())
                    .collect();
                if !not_shared.is_empty() {
                    let all: Vec<String> = resolving
                        .iter()
                        .map(|g| format!("\"{}\"", schemas[g.graph].name))
                        .collect();
                    errors.push(format!(
                        "non-shareable field \"{}.{fname}\" is resolved from multiple subgraphs: it is resolved from subgraphs {} and defined as non-shareable in subgraph(s) \"{}\"",
                        t.name,
                        all.join(" and "),
                        not_shared.join("\", \"")
                    ));
                }
            }
        }
    }
}

/// Every field of an entity must be reachable from every subgraph that returns the entity:
/// some subgraph resolving the field must accept a key the other can provide.
fn check_satisfiable(
    types: &IndexMap<Name, SuperType>,
    graphs: &[Graph],
    errors: &mut Vec<String>,
) {
    for t in types.values().filter(|t| t.kind == Kind::Object) {
        if matches!(t.name.as_str(), "Query" | "Mutation" | "Subscription") || t.graphs.len() < 2 {
            continue;
        }
        for (fname, f) in &t.fields {
            let resolvers: Vec<GraphId> = f
                .graphs
                .iter()
                .filter(|g| !g.external)
                .map(|g| g.graph)
                .collect();
            for from in &t.graphs {
                if resolvers.contains(&from.graph) {
                    continue;
                }
                let reachable = resolvers.iter().any(|&to| {
                    t.in_graph(to).is_some_and(|there| {
                        there.keys.iter().any(|k| {
                            k.resolvable && provides_key(types, &t.name, &k.selection, from.graph)
                        })
                    })
                });
                if !reachable {
                    errors.push(format!(
                        "field {}.{fname} cannot be reached from subgraph {}: no subgraph resolving it has a resolvable @key that {} can provide",
                        t.name, graphs[from.graph].name, graphs[from.graph].name
                    ));
                }
            }
        }
    }
}

/// Whether `graph` resolves every field of `key` on `type_name` (recursively).
pub(crate) fn provides_key(
    types: &IndexMap<Name, SuperType>,
    type_name: &str,
    key: &FieldSet,
    graph: GraphId,
) -> bool {
    let Some(t) = types.get(type_name) else {
        return false;
    };
    key.fields.iter().all(|kf| {
        t.fields.get(&kf.name).is_some_and(|f| {
            f.graphs.iter().any(|g| g.graph == graph && !g.external)
                && (kf.selection.fields.is_empty()
                    || provides_key(types, f.def.ty.inner_named_type(), &kf.selection, graph))
        })
    })
}

impl Supergraph {
    /// The subgraphs, in composition order.
    pub fn graphs(&self) -> &[Graph] {
        &self.graphs
    }

    /// The subgraph with this name.
    pub fn graph_id(&self, name: &str) -> Option<GraphId> {
        self.graphs.iter().position(|g| g.name == name)
    }

    /// A named type.
    pub fn type_(&self, name: &str) -> Option<&SuperType> {
        self.types.get(name)
    }

    /// Every named type.
    pub fn types(&self) -> impl Iterator<Item = &SuperType> {
        self.types.values()
    }

    /// The public API schema: what clients validate against and introspect.
    pub fn api_schema(&self) -> &Valid<Schema> {
        &self.api
    }

    /// The API schema's implementers (computed once).
    pub fn implementers(&self) -> &HashMap<Name, Implementers> {
        &self.implementers
    }

    /// The supergraph SDL (join v0.3), as `rialto supergraph` prints it.
    pub fn sdl(&self) -> &str {
        &self.sdl
    }

    /// Whether `graph` can resolve `type_name.field` itself.
    pub fn resolves(&self, type_name: &str, field: &str, graph: GraphId) -> bool {
        self.types
            .get(type_name)
            .and_then(|t| t.fields.get(field))
            .is_some_and(|f| f.graphs.iter().any(|g| g.graph == graph && !g.external))
    }

    /// The subgraphs that can resolve `type_name.field`, in composition order.
    pub fn resolvers(&self, type_name: &str, field: &str) -> Vec<GraphId> {
        self.types
            .get(type_name)
            .and_then(|t| t.fields.get(field))
            .map(|f| {
                f.graphs
                    .iter()
                    .filter(|g| !g.external)
                    .map(|g| g.graph)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a type is an interface or union (its objects need `__typename`).
    pub fn is_abstract(&self, type_name: &str) -> bool {
        self.types
            .get(type_name)
            .is_some_and(|t| matches!(t.kind, Kind::Interface | Kind::Union))
    }

    /// Whether a type has fields (object or interface) or members (union).
    pub fn is_composite(&self, type_name: &str) -> bool {
        self.types
            .get(type_name)
            .is_some_and(|t| matches!(t.kind, Kind::Object | Kind::Interface | Kind::Union))
    }

    /// Whether `graph` defines `type_name`.
    pub fn defines(&self, type_name: &str, graph: GraphId) -> bool {
        self.types
            .get(type_name)
            .is_some_and(|t| t.in_graph(graph).is_some())
    }

    /// The object types a value of `type_name` can be (itself for an object type).
    pub fn possible_types(&self, type_name: &str) -> Vec<Name> {
        let Some(t) = self.types.get(type_name) else {
            return Vec::new();
        };
        match t.kind {
            Kind::Object => vec![t.name.clone()],
            Kind::Union => t.members.keys().cloned().collect(),
            Kind::Interface => self
                .implementers
                .get(type_name)
                .map(|i| {
                    let mut v: Vec<Name> = i.objects.iter().cloned().collect();
                    v.sort();
                    v
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// A key of `type_name` that `target` resolves entities by and that `from` can provide.
    pub fn entity_key(&self, type_name: &str, from: GraphId, target: GraphId) -> Option<&Key> {
        let t = self.types.get(type_name)?;
        t.in_graph(target)?
            .keys
            .iter()
            .find(|k| k.resolvable && provides_key(&self.types, type_name, &k.selection, from))
    }

    /// The type `type_name.field` returns.
    pub fn field_type(&self, type_name: &str, field: &str) -> Option<&ast::Type> {
        self.types
            .get(type_name)
            .and_then(|t| t.fields.get(field))
            .map(|f| &f.def.ty)
    }
}

#[cfg(test)]
mod tests;
