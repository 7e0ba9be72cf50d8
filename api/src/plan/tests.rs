#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::compose::{SubgraphSource, compose};

const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])"#;

fn supergraph() -> Supergraph {
    let s = |name: &str, body: &str| SubgraphSource {
        name: name.into(),
        url: format!("http://{name}/graphql"),
        sdl: format!("{LINK}\n{body}"),
    };
    compose(&[
        s(
            "accounts",
            r#"type Query { me: User  user(id: ID!): User }
               type Mutation { rename(name: String!): User! }
               type User @key(fields: "id") { id: ID! name: String! }"#,
        ),
        s(
            "reviews",
            r#"type Query { topReviews(first: Int): [Review!]! search: [Hit!]! }
               type Mutation { addReview(body: String!): Review! }
               union Hit = Review | Product
               type Review { id: ID! body: String! author: User! product: Product! }
               type User @key(fields: "id") { id: ID! reviews: [Review!]! }
               type Product @key(fields: "upc") { upc: String! }"#,
        ),
        s(
            "catalog",
            r#"type Query { products: [Product!]! }
               type Product @key(fields: "upc") { upc: String! name: String! }"#,
        ),
    ])
    .unwrap()
}

fn plan_of(sg: &Supergraph, query: &str) -> QueryPlan {
    let doc = ExecutableDocument::parse_and_validate(sg.api_schema(), query, "q.graphql").unwrap();
    let op = doc.operations.get(None).unwrap();
    plan(sg, &doc, op).unwrap()
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn root_fields_of_one_subgraph_share_a_fetch() {
    let sg = supergraph();
    let p = plan_of(&sg, "query Q { me { name } user(id: \"1\") { id } }");
    assert_eq!(p.stages.len(), 1);
    let roots = &p.stages[0].roots;
    assert_eq!(roots.len(), 1);
    assert_eq!(
        squash(&roots[0].query),
        "query Q__accounts { me { name } user(id: \"1\") { id } }"
    );
    assert!(p.stages[0].levels.is_empty());
}

#[test]
fn a_field_owned_elsewhere_becomes_an_entity_hop_with_the_key() {
    let sg = supergraph();
    let p = plan_of(
        &sg,
        "query($n: Int) { me { name reviews { body product { name } } } topReviews(first: $n) { body } }",
    );
    let stage = &p.stages[0];
    assert_eq!(stage.roots.len(), 2, "accounts and reviews in parallel");
    assert_eq!(squash(&stage.roots[0].query), "query { me { name id } }");
    assert_eq!(
        squash(&stage.roots[1].query),
        "query($n: Int) { topReviews(first: $n) { body } }"
    );
    assert_eq!(
        stage.levels.len(),
        2,
        "two hops: accounts → reviews → catalog"
    );
    let hop1 = &stage.levels[0][0];
    assert_eq!(sg.graphs()[hop1.graph].name, "reviews");
    assert_eq!(
        squash(&hop1.query),
        "query($_r0: [_Any!]!) { _e0: _entities(representations: $_r0) { ... on User { reviews { body product { upc } } } } }"
    );
    assert_eq!(hop1.hops[0].path, vec![Segment::Key("me".into())]);
    let hop2 = &stage.levels[1][0];
    assert_eq!(sg.graphs()[hop2.graph].name, "catalog");
    assert_eq!(
        hop2.hops[0].path,
        vec![
            Segment::Key("me".into()),
            Segment::Key("reviews".into()),
            Segment::List,
            Segment::Key("product".into()),
        ]
    );
    assert!(hop2.variables.is_empty(), "only the variables a fetch uses");
}

#[test]
fn hops_to_one_subgraph_at_one_level_are_one_request() {
    let sg = supergraph();
    let p = plan_of(
        &sg,
        "{ topReviews { author { name } product { name } } search { ... on Product { name } } }",
    );
    let level = &p.stages[0].levels[0];
    let accounts: Vec<_> = level
        .iter()
        .filter(|r| sg.graphs()[r.graph].name == "accounts")
        .collect();
    let catalog: Vec<_> = level
        .iter()
        .filter(|r| sg.graphs()[r.graph].name == "catalog")
        .collect();
    assert_eq!(accounts.len(), 1);
    assert_eq!(catalog.len(), 1);
    assert_eq!(catalog[0].hops.len(), 2, "product and search hits, aliased");
    assert!(catalog[0].query.contains("_e1: _entities"));
    let search_hop = catalog[0]
        .hops
        .iter()
        .find(|h| h.path[0] == Segment::Key("search".into()))
        .unwrap();
    assert_eq!(
        search_hop.path[2],
        Segment::Cast(vec![Name::new_unchecked("Product")])
    );
    assert!(
        squash(&p.stages[0].roots[0].query)
            .contains("search { __typename ... on Product { upc } }"),
        "{}",
        p.stages[0].roots[0].query
    );
}

#[test]
fn fragments_are_inlined_and_conditions_travel_with_hops() {
    let sg = supergraph();
    let p = plan_of(
        &sg,
        "query($x: Boolean!) { me { ...U } } fragment U on User { name ... @include(if: $x) { reviews { body } } }",
    );
    let stage = &p.stages[0];
    assert_eq!(
        squash(&stage.roots[0].query),
        "query($x: Boolean!) { me { name ... @include(if: $x) { id } } }"
    );
    assert_eq!(
        squash(&stage.levels[0][0].query),
        "query($_r0: [_Any!]!, $x: Boolean!) { _e0: _entities(representations: $_r0) { ... on User { ... @include(if: $x) { reviews { body } } } } }"
    );
}

#[test]
fn mutations_run_in_order_one_stage_per_subgraph_run() {
    let sg = supergraph();
    let p = plan_of(
        &sg,
        "mutation { a: rename(name: \"a\") { id } b: rename(name: \"b\") { id } c: addReview(body: \"x\") { id } d: rename(name: \"d\") { id } }",
    );
    let names: Vec<&str> = p
        .stages
        .iter()
        .map(|s| sg.graphs()[s.roots[0].graph].name.as_str())
        .collect();
    assert_eq!(names, ["accounts", "reviews", "accounts"]);
    assert_eq!(p.stages[0].roots[0].fields, ["a", "b"]);
}

#[test]
fn a_key_response_key_taken_by_the_client_is_aliased() {
    let sg = supergraph();
    let p = plan_of(&sg, "{ me { id: name reviews { body } } }");
    assert_eq!(
        squash(&p.stages[0].roots[0].query),
        "query { me { id: name _key_id: id } }"
    );
    assert_eq!(
        p.stages[0].levels[0][0].hops[0].key[0].response_key,
        "_key_id"
    );
}

#[test]
fn representation_variables_avoid_client_names() {
    let sg = supergraph();
    let p = plan_of(
        &sg,
        "query($_r0: Boolean!) { me @include(if: $_r0) { reviews { body } } }",
    );
    assert_eq!(p.stages[0].levels[0][0].rep_prefix, "__r");
}
