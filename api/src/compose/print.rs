//! Printing the composed types: the public API schema (no federation) and the standard
//! supergraph SDL (`@link` v1.0, `join` v0.3), in which every type and field says which
//! subgraphs define it, with which keys.

use apollo_compiler::{
    Name, Node,
    ast::{self, Argument, Definition, Directive, DirectiveList, Value},
};
use indexmap::IndexMap;

use super::{Graph, Kind, SuperType};

const SUPERGRAPH_HEADER: &str = r#"directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

scalar join__FieldSet

scalar link__Import

enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}
"#;

fn name(s: &str) -> Name {
    Name::new_unchecked(s)
}

fn directive(n: &str, args: Vec<(&str, Value)>) -> Node<Directive> {
    Node::new(Directive {
        name: name(n),
        arguments: args
            .into_iter()
            .map(|(k, v)| {
                Node::new(Argument {
                    name: name(k),
                    value: Node::new(v),
                })
            })
            .collect(),
    })
}

fn graph_arg(graphs: &[Graph], g: usize) -> (&'static str, Value) {
    ("graph", Value::Enum(name(&graphs[g].enum_value)))
}

/// Root types first, then the rest by name: a stable order for diffs.
fn ordered(types: &IndexMap<Name, SuperType>) -> Vec<&SuperType> {
    let mut v: Vec<&SuperType> = types.values().collect();
    let rank = |t: &SuperType| match t.name.as_str() {
        "Query" => 0,
        "Mutation" => 1,
        "Subscription" => 2,
        _ => 3,
    };
    v.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name)));
    v
}

/// The public schema: every composed type without federation.
pub fn api_sdl(types: &IndexMap<Name, SuperType>) -> String {
    let doc = ast::Document {
        sources: Default::default(),
        definitions: ordered(types)
            .into_iter()
            .map(|t| definition(t, None))
            .collect(),
    };
    doc.to_string()
}

/// The supergraph SDL with `join__` directives.
pub fn supergraph_sdl(types: &IndexMap<Name, SuperType>, graphs: &[Graph]) -> String {
    let mut out = String::from(
        "schema\n  @link(url: \"https://specs.apollo.dev/link/v1.0\")\n  @link(url: \"https://specs.apollo.dev/join/v0.3\", for: EXECUTION)\n{\n",
    );
    for (root, field) in [
        ("Query", "query"),
        ("Mutation", "mutation"),
        ("Subscription", "subscription"),
    ] {
        if types.contains_key(root) {
            out.push_str(&format!("  {field}: {root}\n"));
        }
    }
    out.push_str("}\n\n");
    out.push_str(SUPERGRAPH_HEADER);
    out.push_str("\nenum join__Graph {\n");
    for g in graphs {
        out.push_str(&format!(
            "  {} @join__graph(name: {}, url: {})\n",
            g.enum_value,
            Value::String(g.name.clone()),
            Value::String(g.url.clone())
        ));
    }
    out.push_str("}\n\n");
    let doc = ast::Document {
        sources: Default::default(),
        definitions: ordered(types)
            .into_iter()
            .map(|t| definition(t, Some(graphs)))
            .collect(),
    };
    out.push_str(&doc.to_string());
    out
}

/// One type's definition; with `graphs`, annotated with `join__` directives.
fn definition(t: &SuperType, graphs: Option<&[Graph]>) -> Definition {
    let mut directives = t.directives.clone();
    if let Some(graphs) = graphs {
        for presence in &t.graphs {
            let base = |key: Option<&super::Key>| {
                let mut args = vec![graph_arg(graphs, presence.graph)];
                if let Some(k) = key {
                    args.push(("key", Value::String(k.fields.clone())));
                }
                if presence.extension && key.is_some() {
                    args.push(("extension", Value::Boolean(true)));
                }
                if key.is_some_and(|k| !k.resolvable) {
                    args.push(("resolvable", Value::Boolean(false)));
                }
                directive("join__type", args)
            };
            if presence.keys.is_empty() {
                directives.0.push(base(None));
            } else {
                for k in &presence.keys {
                    directives.0.push(base(Some(k)));
                }
            }
        }
        for (interface, in_graphs) in &t.implements {
            for &g in in_graphs {
                directives.0.push(directive(
                    "join__implements",
                    vec![
                        graph_arg(graphs, g),
                        ("interface", Value::String(interface.to_string())),
                    ],
                ));
            }
        }
        for (member, in_graphs) in &t.members {
            for &g in in_graphs {
                directives.0.push(directive(
                    "join__unionMember",
                    vec![
                        graph_arg(graphs, g),
                        ("member", Value::String(member.to_string())),
                    ],
                ));
            }
        }
    }
    let type_graphs: Vec<usize> = t.graphs.iter().map(|p| p.graph).collect();
    let fields = || -> Vec<Node<ast::FieldDefinition>> {
        t.fields
            .values()
            .map(|f| {
                let Some(graphs) = graphs else {
                    return f.def.clone();
                };
                let field_graphs: Vec<usize> = f.graphs.iter().map(|g| g.graph).collect();
                let special = f.graphs.iter().any(|g| g.external || g.ty != f.def.ty);
                if field_graphs == type_graphs && !special {
                    return f.def.clone();
                }
                let mut def = (*f.def).clone();
                for presence in &f.graphs {
                    let mut args = vec![graph_arg(graphs, presence.graph)];
                    if presence.ty != f.def.ty {
                        args.push(("type", Value::String(presence.ty.to_string())));
                    }
                    if presence.external {
                        args.push(("external", Value::Boolean(true)));
                    }
                    def.directives.0.push(directive("join__field", args));
                }
                Node::new(def)
            })
            .collect()
    };
    let description = t.description.clone();
    let name = t.name.clone();
    match t.kind {
        Kind::Object => Definition::ObjectTypeDefinition(Node::new(ast::ObjectTypeDefinition {
            description,
            name,
            implements_interfaces: t.implements.keys().cloned().collect(),
            directives,
            fields: fields(),
        })),
        Kind::Interface => {
            Definition::InterfaceTypeDefinition(Node::new(ast::InterfaceTypeDefinition {
                description,
                name,
                implements_interfaces: t.implements.keys().cloned().collect(),
                directives,
                fields: fields(),
            }))
        }
        Kind::Union => Definition::UnionTypeDefinition(Node::new(ast::UnionTypeDefinition {
            description,
            name,
            directives,
            members: t.members.keys().cloned().collect(),
        })),
        Kind::Enum => Definition::EnumTypeDefinition(Node::new(ast::EnumTypeDefinition {
            description,
            name,
            directives,
            values: t
                .values
                .values()
                .map(|(def, in_graphs)| {
                    let Some(graphs) = graphs else {
                        return def.clone();
                    };
                    let mut def = (**def).clone();
                    for &g in in_graphs {
                        def.directives
                            .0
                            .push(directive("join__enumValue", vec![graph_arg(graphs, g)]));
                    }
                    Node::new(def)
                })
                .collect(),
        })),
        Kind::InputObject => {
            Definition::InputObjectTypeDefinition(Node::new(ast::InputObjectTypeDefinition {
                description,
                name,
                directives,
                fields: t
                    .input_fields
                    .values()
                    .map(|f| {
                        let Some(graphs) = graphs else {
                            return f.def.clone();
                        };
                        if f.graphs == type_graphs {
                            return f.def.clone();
                        }
                        let mut def = (*f.def).clone();
                        for &g in &f.graphs {
                            def.directives
                                .0
                                .push(directive("join__field", vec![graph_arg(graphs, g)]));
                        }
                        Node::new(def)
                    })
                    .collect(),
            }))
        }
        Kind::Scalar => Definition::ScalarTypeDefinition(Node::new(ast::ScalarTypeDefinition {
            description,
            name,
            directives: if graphs.is_some() {
                directives
            } else {
                DirectiveList(
                    t.directives
                        .iter()
                        .filter(|d| d.name == "specifiedBy")
                        .cloned()
                        .collect(),
                )
            },
        })),
    }
}
