//! Printing pieces of subgraph operations from the client's validated operation. Values are
//! printed by apollo-compiler, so strings are escaped exactly as GraphQL wants.

use apollo_compiler::{
    Name, Node,
    ast::{Value, VariableDefinition},
    executable::{DirectiveList, Field},
};

/// `alias: name(arg: value) @dir(...)`, without the selection set.
pub fn field_head(f: &Field) -> String {
    let mut s = String::new();
    if let Some(alias) = &f.alias {
        s.push_str(alias);
        s.push_str(": ");
    }
    s.push_str(&f.name);
    if !f.arguments.is_empty() {
        s.push('(');
        for (i, a) in f.arguments.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&format!("{}: {}", a.name, a.value));
        }
        s.push(')');
    }
    s.push_str(&directives(&f.directives));
    s
}

/// ` @skip(if: $x) @include(if: true)`, each with a leading space; empty when none.
pub fn directives(list: &DirectiveList) -> String {
    let mut s = String::new();
    for d in list.iter() {
        s.push_str(" @");
        s.push_str(&d.name);
        if !d.arguments.is_empty() {
            s.push('(');
            for (i, a) in d.arguments.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&format!("{}: {}", a.name, a.value));
            }
            s.push(')');
        }
    }
    s
}

/// Variables a field's arguments and directives use (not its sub-selection).
pub fn field_variables(f: &Field) -> Vec<Name> {
    let mut out = Vec::new();
    for a in &f.arguments {
        value_variables(&a.value, &mut out);
    }
    out.extend(directive_variables(&f.directives));
    out
}

/// Variables a directive list uses.
pub fn directive_variables(list: &DirectiveList) -> Vec<Name> {
    let mut out = Vec::new();
    for d in list.iter() {
        for a in &d.arguments {
            value_variables(&a.value, &mut out);
        }
    }
    out
}

fn value_variables(v: &Node<Value>, out: &mut Vec<Name>) {
    match v.as_ref() {
        Value::Variable(n) => out.push(n.clone()),
        Value::List(items) => items.iter().for_each(|i| value_variables(i, out)),
        Value::Object(fields) => fields.iter().for_each(|(_, i)| value_variables(i, out)),
        _ => {}
    }
}

/// Wraps a selection in `... @dir { }` for each condition, innermost last.
pub fn wrap(selection: &str, conds: &[String]) -> String {
    let mut s = selection.to_string();
    for c in conds.iter().rev() {
        s = format!("...{c} {{ {s}}}");
    }
    s
}

/// ` Name__graph` so subgraph logs show which client operation a fetch serves; empty for an
/// anonymous operation.
pub fn operation_name(op: Option<&str>, graph: &str) -> String {
    match op {
        Some(n) => {
            let g: String = graph
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!(" {n}__{g}")
        }
        None => String::new(),
    }
}

/// `$name: Type = default`.
pub fn variable_definition(v: &VariableDefinition) -> String {
    match &v.default_value {
        Some(d) => format!("${}: {} = {}", v.name, v.ty, d),
        None => format!("${}: {}", v.name, v.ty),
    }
}
