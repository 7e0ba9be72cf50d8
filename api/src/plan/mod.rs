//! Query planning: which subgraph answers which part of an operation.
//!
//! The planner walks the client's validated operation over the [`Supergraph`]. Root fields go
//! to the subgraph that resolves them (one root fetch per subgraph, run in parallel; for a
//! mutation, consecutive fields of one subgraph form a stage and stages run in order). While
//! walking a subgraph's selection, a field that subgraph cannot resolve on an entity becomes an
//! **entity hop**: the entity's key fields (and `__typename` where the type is abstract) are
//! added to the current fetch, and the field is fetched from a subgraph that can resolve it
//! through `_entities`. Hops are grouped by depth into levels; within a level, every hop to
//! one subgraph goes into **one** request, one aliased `_entities` field per hop.
//!
//! Subgraph queries use the client's own response keys (aliases included), so merging their
//! results needs no renaming; named fragments are inlined; `@skip`/`@include` travel with the
//! fields and fragments they sit on, with the variables each fetch needs and no others.
//! The final response is shaped by the executor from the client's operation, not from these
//! queries, so anything the planner adds is never seen by the client.

mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use apollo_compiler::{
    ExecutableDocument, Name,
    ast::OperationType,
    executable::{Field, Operation, Selection, SelectionSet},
    validation::Valid,
};
use indexmap::IndexMap;

use crate::compose::{FieldSet, GraphId, Supergraph};

/// A step of a path into the response data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A field, by response key.
    Key(String),
    /// Every item of a list.
    List,
    /// Only objects whose `__typename` is one of these.
    Cast(Vec<Name>),
}

/// Why an operation cannot be planned. Composition rules out most of these; what remains is
/// a shape of query the gateway does not support.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// How to answer one operation.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// Query, mutation or subscription.
    pub kind: OperationType,
    /// Run in order; a query or subscription has at most one.
    pub stages: Vec<Stage>,
}

/// Root fetches in parallel, then the levels of entity hops that hang off them.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Root fetches, one per subgraph.
    pub roots: Vec<RootFetch>,
    /// Entity hops by depth: level 1 needs the roots' data, level 2 level 1's, and so on.
    pub levels: Vec<Vec<EntityRequest>>,
}

/// A root operation sent to one subgraph.
#[derive(Debug, Clone)]
pub struct RootFetch {
    /// The subgraph.
    pub graph: GraphId,
    /// The operation text.
    pub query: String,
    /// Client variables it uses.
    pub variables: Vec<Name>,
    /// Response keys of the root fields it answers (for errors when the subgraph fails).
    pub fields: Vec<String>,
}

/// One request to one subgraph carrying every hop of a level that goes there.
#[derive(Debug, Clone)]
pub struct EntityRequest {
    /// The subgraph.
    pub graph: GraphId,
    /// The operation text: `_e<i>: _entities(representations: $<prefix><i>)` per hop.
    pub query: String,
    /// Client variables it uses.
    pub variables: Vec<Name>,
    /// The hops, in alias order.
    pub hops: Vec<EntityHop>,
    /// Prefix of the representation variables (`_r` unless a client variable collides).
    pub rep_prefix: String,
}

/// Entities at one path whose fields come from another subgraph.
#[derive(Debug, Clone)]
pub struct EntityHop {
    /// Where the entity objects are, from the response root.
    pub path: Vec<Segment>,
    /// The entity type.
    pub type_name: Name,
    /// Its key: field names and the response keys the parent fetch put them under.
    pub key: Vec<KeyPart>,
}

/// One field of a representation.
#[derive(Debug, Clone)]
pub struct KeyPart {
    /// The field name (the representation's key).
    pub name: String,
    /// Where the parent's data holds it.
    pub response_key: String,
    /// Nested key fields.
    pub sub: Vec<KeyPart>,
}

/// Plans `operation` of a validated document.
pub fn plan(
    supergraph: &Supergraph,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
) -> Result<QueryPlan, PlanError> {
    let planner = Planner {
        sg: supergraph,
        doc: document,
        var_types: operation
            .variables
            .iter()
            .map(|v| (v.name.clone(), text::variable_definition(v)))
            .collect(),
    };
    let rep_prefix = {
        let mut p = String::from("_r");
        while operation
            .variables
            .iter()
            .any(|v| v.name.starts_with(p.as_str()))
        {
            p.insert(0, '_');
        }
        p
    };
    let root_type = operation.object_type().clone();
    let mut items = Vec::new();
    planner.root_items(&operation.selection_set, &mut Vec::new(), &mut items);

    // Assign each root field to a subgraph.
    let mut assigned: Vec<(GraphId, RootItem)> = Vec::new();
    for item in items {
        let resolvers = supergraph.resolvers(&root_type, &item.field.name);
        let Some(&graph) = resolvers.first() else {
            return Err(PlanError(format!(
                "no subgraph resolves {root_type}.{}",
                item.field.name
            )));
        };
        assigned.push((graph, item));
    }

    let mut groups: Vec<(GraphId, Vec<RootItem>)> = Vec::new();
    match operation.operation_type {
        OperationType::Mutation => {
            // Consecutive fields of one subgraph share a fetch; order is kept.
            for (graph, item) in assigned {
                match groups.last_mut() {
                    Some((g, items)) if *g == graph => items.push(item),
                    _ => groups.push((graph, vec![item])),
                }
            }
        }
        _ => {
            for (graph, item) in assigned {
                match groups.iter_mut().find(|(g, _)| *g == graph) {
                    Some((_, items)) => items.push(item),
                    None => groups.push((graph, vec![item])),
                }
            }
        }
    }

    let mut stage_roots: Vec<Vec<FetchBuilder>> = Vec::new();
    for (graph, items) in groups {
        let mut fetch = FetchBuilder::new(graph);
        let mut selection = String::new();
        let mut fields = Vec::new();
        for item in &items {
            let mut buf = String::new();
            planner.field(&mut fetch, graph, &root_type, &item.field, &[], &mut buf)?;
            fields.push(item.field.response_key().to_string());
            selection.push_str(&text::wrap(&buf, &item.wrappers));
            selection.push(' ');
            for w in &item.wrapper_vars {
                fetch.variables.insert(w.clone());
            }
        }
        fetch.text = selection;
        fetch.root_fields = fields;
        match operation.operation_type {
            OperationType::Mutation => stage_roots.push(vec![fetch]),
            _ => match stage_roots.first_mut() {
                Some(roots) => roots.push(fetch),
                None => stage_roots.push(vec![fetch]),
            },
        }
    }

    let op_name = operation.name.as_ref().map(|n| n.to_string());
    let stages = stage_roots
        .into_iter()
        .map(|roots| {
            planner.stage(
                operation.operation_type,
                op_name.as_deref(),
                roots,
                &rep_prefix,
            )
        })
        .collect();
    Ok(QueryPlan {
        kind: operation.operation_type,
        stages,
    })
}

/// Directives of an enclosing fragment, with the variables they use.
type Cond = (String, Vec<Name>);

/// A root field with the fragment directives it sits under (`... @include(if: $x) { f }`).
struct RootItem {
    field: apollo_compiler::Node<Field>,
    wrappers: Vec<String>,
    wrapper_vars: Vec<Name>,
}

/// A fetch being built: its selection text, variables and the hops below it.
struct FetchBuilder {
    graph: GraphId,
    text: String,
    variables: BTreeSet<Name>,
    root_fields: Vec<String>,
    key: Vec<KeyPart>,
    children: IndexMap<(GraphId, Vec<Segment>, Name), FetchBuilder>,
}

impl FetchBuilder {
    fn new(graph: GraphId) -> Self {
        Self {
            graph,
            text: String::new(),
            variables: BTreeSet::new(),
            root_fields: Vec::new(),
            key: Vec::new(),
            children: IndexMap::new(),
        }
    }
}

struct Planner<'a> {
    sg: &'a Supergraph,
    doc: &'a Valid<ExecutableDocument>,
    var_types: HashMap<Name, String>,
}

impl Planner<'_> {
    /// Root fields in document order, through fragments on the root type.
    fn root_items(
        &self,
        set: &SelectionSet,
        wrappers: &mut Vec<(String, Vec<Name>)>,
        out: &mut Vec<RootItem>,
    ) {
        for sel in &set.selections {
            match sel {
                Selection::Field(f) => {
                    if f.name.starts_with("__") {
                        continue; // __typename, __schema, __type: answered by the gateway
                    }
                    out.push(RootItem {
                        field: f.clone(),
                        wrappers: wrappers.iter().map(|(w, _)| w.clone()).collect(),
                        wrapper_vars: wrappers.iter().flat_map(|(_, v)| v.clone()).collect(),
                    });
                }
                Selection::InlineFragment(fr) => {
                    let d = text::directives(&fr.directives);
                    let pushed = !d.is_empty();
                    if pushed {
                        wrappers.push((d, text::directive_variables(&fr.directives)));
                    }
                    self.root_items(&fr.selection_set, wrappers, out);
                    if pushed {
                        wrappers.pop();
                    }
                }
                Selection::FragmentSpread(sp) => {
                    let Some(fragment) = self.doc.fragments.get(&sp.fragment_name) else {
                        continue;
                    };
                    let d = text::directives(&sp.directives);
                    let pushed = !d.is_empty();
                    if pushed {
                        wrappers.push((d, text::directive_variables(&sp.directives)));
                    }
                    self.root_items(&fragment.selection_set, wrappers, out);
                    if pushed {
                        wrappers.pop();
                    }
                }
            }
        }
    }

    /// Emits one field (and its subtree) of `parent` for `graph` into `out`, or turns it
    /// into an entity hop.
    fn field(
        &self,
        fetch: &mut FetchBuilder,
        graph: GraphId,
        parent: &Name,
        f: &Field,
        path: &[Segment],
        out: &mut String,
    ) -> Result<(), PlanError> {
        let key = f.response_key().to_string();
        if f.name == "__typename" {
            out.push_str(&text::field_head(f));
            out.push(' ');
            return Ok(());
        }
        if self.sg.resolves(parent, &f.name, graph) {
            for v in text::field_variables(f) {
                fetch.variables.insert(v);
            }
            out.push_str(&text::field_head(f));
            let ty = &f.definition.ty;
            let inner = ty.inner_named_type();
            if self.sg.is_composite(inner) {
                let mut sub_path = path.to_vec();
                sub_path.push(Segment::Key(key));
                let mut t = ty;
                while t.is_list() {
                    sub_path.push(Segment::List);
                    t = t.item_type();
                }
                let mut buf = String::new();
                if self.sg.is_abstract(inner) {
                    buf.push_str("__typename ");
                }
                self.selections(
                    fetch,
                    graph,
                    inner,
                    &f.selection_set,
                    &sub_path,
                    &[],
                    &mut buf,
                )?;
                if buf.trim().is_empty() {
                    buf.push_str("__typename");
                }
                out.push_str(" { ");
                out.push_str(&buf);
                out.push('}');
            }
            out.push(' ');
            return Ok(());
        }
        Err(PlanError(format!(
            "{parent}.{} is not resolvable in subgraph {} and cannot be reached from it",
            f.name,
            self.sg.graphs()[graph].name
        )))
    }

    /// Emits a selection set of `parent` (an object, interface or union) for `graph`.
    #[allow(clippy::too_many_arguments)]
    fn selections(
        &self,
        fetch: &mut FetchBuilder,
        graph: GraphId,
        parent: &Name,
        set: &SelectionSet,
        path: &[Segment],
        conds: &[Cond],
        out: &mut String,
    ) -> Result<(), PlanError> {
        let client_keys = self.response_keys(set);
        let mut injected = BTreeSet::new();
        self.selections_inner(
            fetch,
            graph,
            parent,
            &set.selections,
            path,
            conds,
            out,
            &client_keys,
            &mut injected,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn selections_inner(
        &self,
        fetch: &mut FetchBuilder,
        graph: GraphId,
        parent: &Name,
        selections: &[Selection],
        path: &[Segment],
        conds: &[Cond],
        out: &mut String,
        client_keys: &HashMap<String, (Name, bool)>,
        injected: &mut BTreeSet<String>,
    ) -> Result<(), PlanError> {
        for sel in selections {
            match sel {
                Selection::Field(f) => {
                    let resolvable =
                        f.name == "__typename" || self.sg.resolves(parent, &f.name, graph);
                    if resolvable {
                        self.field(fetch, graph, parent, f, path, out)?;
                    } else {
                        self.hop(
                            fetch,
                            graph,
                            parent,
                            f,
                            path,
                            conds,
                            out,
                            client_keys,
                            injected,
                        )?;
                    }
                }
                Selection::InlineFragment(fr) => {
                    let cond = fr.type_condition.clone();
                    self.fragment(
                        fetch,
                        graph,
                        parent,
                        cond.as_ref(),
                        &fr.directives,
                        &fr.selection_set,
                        path,
                        conds,
                        out,
                        client_keys,
                        injected,
                    )?;
                }
                Selection::FragmentSpread(sp) => {
                    let Some(fragment) = self.doc.fragments.get(&sp.fragment_name) else {
                        continue;
                    };
                    let cond = fragment.type_condition().clone();
                    self.fragment(
                        fetch,
                        graph,
                        parent,
                        Some(&cond),
                        &sp.directives,
                        &fragment.selection_set,
                        path,
                        conds,
                        out,
                        client_keys,
                        injected,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// An inline fragment or a spread (inlined), with its type condition and directives.
    #[allow(clippy::too_many_arguments)]
    fn fragment(
        &self,
        fetch: &mut FetchBuilder,
        graph: GraphId,
        parent: &Name,
        type_condition: Option<&Name>,
        directives: &apollo_compiler::executable::DirectiveList,
        set: &SelectionSet,
        path: &[Segment],
        conds: &[Cond],
        out: &mut String,
        client_keys: &HashMap<String, (Name, bool)>,
        injected: &mut BTreeSet<String>,
    ) -> Result<(), PlanError> {
        let dirs = text::directives(directives);
        for v in text::directive_variables(directives) {
            fetch.variables.insert(v);
        }
        let mut inner_conds = conds.to_vec();
        if !dirs.is_empty() {
            inner_conds.push((dirs.clone(), text::directive_variables(directives)));
        }
        let same_type = match type_condition {
            None => true,
            Some(c) => c == parent || !self.sg.is_abstract(parent),
        };
        if same_type {
            // The fragment's fields are fields of `parent` itself (an object type matches
            // every fragment that validation let through).
            let mut buf = String::new();
            self.selections_inner(
                fetch,
                graph,
                parent,
                &set.selections,
                path,
                &inner_conds,
                &mut buf,
                client_keys,
                injected,
            )?;
            if buf.trim().is_empty() {
                return Ok(());
            }
            if dirs.is_empty() {
                out.push_str(&buf);
            } else {
                out.push_str(&format!("...{dirs} {{ {buf}}} "));
            }
            return Ok(());
        }
        let Some(cond) = type_condition else {
            return Ok(());
        };
        if !self.sg.defines(cond, graph) {
            return Ok(()); // this subgraph never returns such objects
        }
        let parent_possible = self.sg.possible_types(parent);
        let cast: Vec<Name> = self
            .sg
            .possible_types(cond)
            .into_iter()
            .filter(|t| parent_possible.contains(t))
            .collect();
        let mut sub_path = path.to_vec();
        sub_path.push(Segment::Cast(cast));
        let mut buf = String::new();
        let mut sub_injected = BTreeSet::new();
        let sub_keys = self.response_keys(set);
        self.selections_inner(
            fetch,
            graph,
            cond,
            &set.selections,
            &sub_path,
            &inner_conds,
            &mut buf,
            &sub_keys,
            &mut sub_injected,
        )?;
        if buf.trim().is_empty() {
            return Ok(());
        }
        out.push_str(&format!("... on {cond}{dirs} {{ {buf}}} "));
        Ok(())
    }

    /// A field `graph` cannot resolve on entity `parent`: add the key to `out` and fetch
    /// the field from a subgraph that can, through `_entities`.
    #[allow(clippy::too_many_arguments)]
    fn hop(
        &self,
        fetch: &mut FetchBuilder,
        graph: GraphId,
        parent: &Name,
        f: &Field,
        path: &[Segment],
        conds: &[Cond],
        out: &mut String,
        client_keys: &HashMap<String, (Name, bool)>,
        injected: &mut BTreeSet<String>,
    ) -> Result<(), PlanError> {
        let unreachable = || {
            PlanError(format!(
                "{parent}.{} cannot be fetched from subgraph {}: no subgraph resolving it accepts a key that {} provides",
                f.name,
                self.sg.graphs()[graph].name,
                self.sg.graphs()[graph].name,
            ))
        };
        if self.sg.is_abstract(parent) {
            return Err(PlanError(format!(
                "{parent}.{} is resolved by another subgraph than {}; select it inside `... on <object type>`",
                f.name,
                self.sg.graphs()[graph].name
            )));
        }
        let (target, key) = self
            .sg
            .resolvers(parent, &f.name)
            .into_iter()
            .find_map(|to| self.sg.entity_key(parent, graph, to).map(|k| (to, k)))
            .ok_or_else(unreachable)?;
        let key_parts = self.inject_key(&key.selection, out, client_keys, injected);
        let child = fetch
            .children
            .entry((target, path.to_vec(), parent.clone()))
            .or_insert_with(|| {
                let mut b = FetchBuilder::new(target);
                b.key = key_parts;
                b
            });
        let mut buf = String::new();
        self.field(child, target, parent, f, path, &mut buf)?;
        let wrappers: Vec<String> = conds.iter().map(|(d, _)| d.clone()).collect();
        for (_, vars) in conds {
            child.variables.extend(vars.iter().cloned());
        }
        child.text.push_str(&text::wrap(&buf, &wrappers));
        child.text.push(' ');
        Ok(())
    }

    /// Adds the key fields to the current selection (once), under their own names unless the
    /// client uses that response key for something else.
    fn inject_key(
        &self,
        key: &FieldSet,
        out: &mut String,
        client_keys: &HashMap<String, (Name, bool)>,
        injected: &mut BTreeSet<String>,
    ) -> Vec<KeyPart> {
        key.fields
            .iter()
            .map(|kf| {
                let clash = client_keys
                    .get(kf.name.as_str())
                    .is_some_and(|(name, has_args)| name != &kf.name || *has_args);
                let response_key = if clash {
                    format!("_key_{}", kf.name)
                } else {
                    kf.name.to_string()
                };
                if injected.insert(response_key.clone()) {
                    if clash {
                        out.push_str(&format!("{response_key}: "));
                    }
                    out.push_str(&kf.name);
                    if !kf.selection.fields.is_empty() {
                        out.push_str(&format!(" {{ {} }}", kf.selection.to_selection()));
                    }
                    out.push(' ');
                }
                KeyPart {
                    name: kf.name.to_string(),
                    response_key,
                    sub: to_parts(&kf.selection),
                }
            })
            .collect()
    }

    /// Response keys the client uses at this level (fragments included): key → (field, has
    /// arguments).
    fn response_keys(&self, set: &SelectionSet) -> HashMap<String, (Name, bool)> {
        let mut keys = HashMap::new();
        let mut seen_fragments = BTreeSet::new();
        self.collect_keys(set, &mut keys, &mut seen_fragments);
        keys
    }

    fn collect_keys(
        &self,
        set: &SelectionSet,
        keys: &mut HashMap<String, (Name, bool)>,
        seen: &mut BTreeSet<Name>,
    ) {
        for sel in &set.selections {
            match sel {
                Selection::Field(f) => {
                    keys.entry(f.response_key().to_string())
                        .or_insert((f.name.clone(), !f.arguments.is_empty()));
                }
                Selection::InlineFragment(fr) => self.collect_keys(&fr.selection_set, keys, seen),
                Selection::FragmentSpread(sp) => {
                    if seen.insert(sp.fragment_name.clone())
                        && let Some(fragment) = self.doc.fragments.get(&sp.fragment_name)
                    {
                        self.collect_keys(&fragment.selection_set, keys, seen);
                    }
                }
            }
        }
    }

    /// Turns root fetches and their hop trees into a stage with levels.
    fn stage(
        &self,
        kind: OperationType,
        op_name: Option<&str>,
        roots: Vec<FetchBuilder>,
        rep_prefix: &str,
    ) -> Stage {
        let keyword = match kind {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        };
        let mut root_fetches = Vec::new();
        let mut current: Vec<(Vec<Segment>, Name, FetchBuilder)> = Vec::new();
        for mut root in roots {
            let vars: Vec<Name> = root.variables.iter().cloned().collect();
            root_fetches.push(RootFetch {
                graph: root.graph,
                query: format!(
                    "{keyword}{}{} {{ {}}}",
                    text::operation_name(op_name, &self.sg.graphs()[root.graph].name),
                    self.variable_definitions(&vars),
                    root.text
                ),
                variables: vars,
                fields: std::mem::take(&mut root.root_fields),
            });
            for ((_, path, ty), child) in std::mem::take(&mut root.children) {
                current.push((path, ty, child));
            }
        }
        // Breadth first: level n+1 holds the children of every hop of level n.
        let mut levels = Vec::new();
        while !current.is_empty() {
            let mut next = Vec::new();
            for (_, _, fetch) in &mut current {
                for ((_, path, ty), child) in std::mem::take(&mut fetch.children) {
                    next.push((path, ty, child));
                }
            }
            levels.push(std::mem::replace(&mut current, next));
        }

        let levels = levels
            .into_iter()
            .map(|level| {
                let mut by_graph: BTreeMap<GraphId, Vec<(Vec<Segment>, Name, FetchBuilder)>> =
                    BTreeMap::new();
                for item in level {
                    by_graph.entry(item.2.graph).or_default().push(item);
                }
                by_graph
                    .into_iter()
                    .map(|(graph, hops)| self.entity_request(graph, op_name, hops, rep_prefix))
                    .collect()
            })
            .collect();
        Stage {
            roots: root_fetches,
            levels,
        }
    }

    fn entity_request(
        &self,
        graph: GraphId,
        op_name: Option<&str>,
        hops: Vec<(Vec<Segment>, Name, FetchBuilder)>,
        rep_prefix: &str,
    ) -> EntityRequest {
        let mut vars: BTreeSet<Name> = BTreeSet::new();
        let mut body = String::new();
        let mut defs = Vec::new();
        let mut out_hops = Vec::new();
        for (i, (path, ty, fetch)) in hops.into_iter().enumerate() {
            vars.extend(fetch.variables.iter().cloned());
            defs.push(format!("${rep_prefix}{i}: [_Any!]!"));
            body.push_str(&format!(
                "_e{i}: _entities(representations: ${rep_prefix}{i}) {{ ... on {ty} {{ {}}} }} ",
                fetch.text
            ));
            out_hops.push(EntityHop {
                path,
                type_name: ty,
                key: fetch.key,
            });
        }
        let vars: Vec<Name> = vars.into_iter().collect();
        for v in &vars {
            if let Some(d) = self.var_types.get(v) {
                defs.push(d.clone());
            }
        }
        EntityRequest {
            graph,
            query: format!(
                "query{}({}) {{ {body}}}",
                text::operation_name(op_name, &self.sg.graphs()[graph].name),
                defs.join(", ")
            ),
            variables: vars,
            hops: out_hops,
            rep_prefix: rep_prefix.to_string(),
        }
    }

    fn variable_definitions(&self, vars: &[Name]) -> String {
        let defs: Vec<&String> = vars.iter().filter_map(|v| self.var_types.get(v)).collect();
        if defs.is_empty() {
            String::new()
        } else {
            format!(
                "({})",
                defs.iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

fn to_parts(set: &FieldSet) -> Vec<KeyPart> {
    set.fields
        .iter()
        .map(|f| KeyPart {
            name: f.name.to_string(),
            response_key: f.name.to_string(),
            sub: to_parts(&f.selection),
        })
        .collect()
}

#[cfg(test)]
mod tests;
