#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external"])"#;

fn source(name: &str, body: &str) -> SubgraphSource {
    SubgraphSource {
        name: name.into(),
        url: format!("http://{name}.test/graphql"),
        sdl: format!("{LINK}\n{body}"),
    }
}

fn accounts() -> SubgraphSource {
    source(
        "accounts",
        r#"type Query { me: User }
           type User @key(fields: "id") { id: ID! name: String! }"#,
    )
}

fn reviews() -> SubgraphSource {
    source(
        "reviews",
        r#"type Query { topReviews(first: Int = 5): [Review!]! }
           type Review { body: String! author: User! }
           type User @key(fields: "id") { id: ID! reviews: [Review!]! }"#,
    )
}

#[test]
fn an_entity_extended_by_another_subgraph_composes() {
    let sg = compose(&[accounts(), reviews()]).unwrap();
    let accounts = sg.graph_id("accounts").unwrap();
    let reviews = sg.graph_id("reviews").unwrap();
    assert!(sg.resolves("User", "name", accounts));
    assert!(!sg.resolves("User", "name", reviews));
    assert_eq!(sg.resolvers("User", "id"), vec![accounts, reviews]);
    assert_eq!(sg.resolvers("User", "reviews"), vec![reviews]);
    let key = sg.entity_key("User", reviews, accounts).unwrap();
    assert_eq!(key.fields, "id");

    let api = sg.api_schema();
    assert!(
        api.get_object("User")
            .unwrap()
            .fields
            .contains_key("reviews")
    );
    let api_text = api.to_string();
    assert!(!api_text.contains("_entities"), "{api_text}");
    assert!(!api_text.contains("join__"), "{api_text}");

    let sdl = sg.sdl();
    assert!(sdl.contains("@link(url: \"https://specs.apollo.dev/join/v0.3\", for: EXECUTION)"));
    assert!(
        sdl.contains(
            "ACCOUNTS @join__graph(name: \"accounts\", url: \"http://accounts.test/graphql\")"
        ),
        "{sdl}"
    );
    assert!(
        sdl.contains("@join__type(graph: ACCOUNTS, key: \"id\")"),
        "{sdl}"
    );
    assert!(
        sdl.contains("@join__type(graph: REVIEWS, key: \"id\")"),
        "{sdl}"
    );
    assert!(
        sdl.contains("reviews: [Review!]! @join__field(graph: REVIEWS)"),
        "{sdl}"
    );
    assert!(
        sdl.contains("me: User @join__field(graph: ACCOUNTS)"),
        "{sdl}"
    );
}

#[test]
fn a_field_resolved_by_two_subgraphs_must_be_shareable() {
    let a = source(
        "a",
        "type Query { thing: Thing } type Thing { name: String }",
    );
    let b = source(
        "b",
        "type Query { other: Thing } type Thing { name: String }",
    );
    let err = compose(&[a, b]).unwrap_err().to_string();
    assert!(err.contains("non-shareable field \"Thing.name\""), "{err}");

    let a = source(
        "a",
        "type Query { thing: Thing } type Thing @shareable { name: String }",
    );
    let b = source(
        "b",
        "type Query { other: Thing } type Thing { name: String @shareable }",
    );
    let sg = compose(&[a, b]).unwrap();
    assert_eq!(sg.resolvers("Thing", "name").len(), 2);
}

#[test]
fn conflicting_types_name_the_field_and_subgraph() {
    let a = source(
        "a",
        r#"type Query { u: User } type User @key(fields: "id") { id: ID! age: Int @shareable }"#,
    );
    let b = source(
        "b",
        r#"type Query { v: User } type User @key(fields: "id") { id: ID! age: String @shareable }"#,
    );
    let err = compose(&[a, b]).unwrap_err().to_string();
    assert!(
        err.contains("field User.age has type String in subgraph b"),
        "{err}"
    );

    let c = source("c", "type Query { u: Int } enum User { A }");
    let err = compose(&[accounts(), c]).unwrap_err().to_string();
    assert!(err.contains("User is an enum in subgraph c"), "{err}");
}

#[test]
fn nullability_differences_take_the_nullable_type() {
    let a = source(
        "a",
        r#"type Query { u: User } type User @key(fields: "id") { id: ID! tag: String! @shareable }"#,
    );
    let b = source(
        "b",
        r#"type Query { v: User } type User @key(fields: "id") { id: ID! tag: String @shareable }"#,
    );
    let sg = compose(&[a, b]).unwrap();
    assert_eq!(sg.field_type("User", "tag").unwrap().to_string(), "String");
    assert!(
        sg.sdl()
            .contains("@join__field(graph: A, type: \"String!\")"),
        "{}",
        sg.sdl()
    );
}

#[test]
fn a_subgraph_without_a_federation_v2_link_is_refused() {
    let v1 = SubgraphSource {
        name: "old".into(),
        url: "http://old".into(),
        sdl: "type Query { a: Int }".into(),
    };
    let err = compose(&[v1]).unwrap_err().to_string();
    assert!(
        err.contains("subgraph old is not a Federation v2 subgraph"),
        "{err}"
    );
}

#[test]
fn an_unreachable_entity_field_is_refused() {
    // b adds a field to User but has no key to be reached by.
    let b = source(
        "b",
        r#"type Query { x: Int } type User { id: ID! @shareable secret: String }"#,
    );
    let a = source(
        "a",
        r#"type Query { me: User } type User @key(fields: "id") { id: ID! }"#,
    );
    let err = compose(&[a, b]).unwrap_err().to_string();
    assert!(
        err.contains("field User.secret cannot be reached from subgraph a"),
        "{err}"
    );
}

#[test]
fn unsupported_directives_fail_composition_clearly() {
    let a = SubgraphSource {
        name: "a".into(),
        url: "http://a".into(),
        sdl: r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@requires", "@external"])
                type Query { p: P } type P @key(fields: "id") { id: ID! w: Int @external s: Int @requires(fields: "w") }"#
            .into(),
    };
    let err = compose(&[a]).unwrap_err().to_string();
    assert!(err.contains("@requires is not supported"), "{err}");
}

#[test]
fn enums_unions_and_interfaces_merge() {
    let a = source(
        "a",
        r#"type Query { s: [Result!]! n: Node }
           interface Node { id: ID! }
           union Result = Book
           type Book implements Node @key(fields: "id") { id: ID! title: String! kind: Kind! }
           enum Kind { PAPER EBOOK }"#,
    );
    let b = source(
        "b",
        r#"type Query { t: Kind }
           enum Kind { PAPER AUDIO }
           type Book @key(fields: "id") { id: ID! pages: Int }"#,
    );
    let sg = compose(&[a, b]).unwrap();
    assert!(sg.is_abstract("Result"));
    assert_eq!(sg.possible_types("Node"), vec![Name::new_unchecked("Book")]);
    let kind = sg.type_("Kind").unwrap();
    assert_eq!(kind.values.len(), 3);
    let sdl = sg.sdl();
    assert!(
        sdl.contains("@join__unionMember(graph: A, member: \"Book\")"),
        "{sdl}"
    );
    assert!(
        sdl.contains("@join__implements(graph: A, interface: \"Node\")"),
        "{sdl}"
    );
    assert!(sdl.contains("AUDIO @join__enumValue(graph: B)"), "{sdl}");
}
