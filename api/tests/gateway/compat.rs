//! The gateway against the ecosystem's own tools (Node, in `compat/`): The Guild's
//! federation composition agrees with our supergraph, Hive Gateway serving our printed
//! supergraph answers a corpus of operations exactly as we do, the `graphql-http` audit
//! passes, and a `graphql-ws` client completes a subscription.

use std::{path::PathBuf, time::Duration};

use fixtures::process::{Announce, Running};
use serde_json::{Value, json};

use crate::support::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

/// `compat/`, with its npm packages installed (`scripts/test` and CI run `npm ci` there).
fn compat() -> PathBuf {
    let dir = repo().join("compat");
    assert!(
        dir.join("node_modules").exists(),
        "run `npm ci` in {} first (scripts/test does)",
        dir.display()
    );
    dir
}

async fn node(script: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new("node")
        .arg(compat().join(script))
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run node")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

async fn sdl_of(stack: &Stack, url: &str) -> String {
    let body: Value = stack
        .client
        .post(url)
        .json(&json!({ "query": "{ _service { sdl } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["_service"]["sdl"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The subgraphs as `name=URL` arguments.
fn subgraph_args(stack: &mut Stack) -> Vec<(String, String)> {
    ["auth", "catalog", "reviews", "inventory"]
        .iter()
        .map(|n| (n.to_string(), stack.proc(n).url.clone()))
        .collect()
}

/// `rialto supergraph` over the running subgraphs, written to a file.
async fn print_supergraph(stack: &mut Stack, dir: &std::path::Path) -> PathBuf {
    let mut cmd = tokio::process::Command::new(rialto_bin());
    cmd.arg("supergraph");
    for (name, url) in subgraph_args(stack) {
        cmd.args(["--subgraph", &format!("{name}={url}")]);
    }
    let out = cmd.output().await.expect("rialto supergraph");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = dir.join("supergraph.graphql");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guilds_composition_composes_our_subgraphs_into_the_same_api() {
    let mut stack = Stack::start(Mode::Remote).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut args = Vec::new();
    for (name, url) in subgraph_args(&mut stack) {
        let path = tmp.path().join(format!("{name}.graphql"));
        std::fs::write(&path, sdl_of(&stack, &url).await).unwrap();
        args.push(format!("{name}={}={url}", path.display()));
    }
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let theirs = node("compose.mjs", &arg_refs).await;
    assert!(theirs.status.success(), "{}", text(&theirs.stderr));
    assert!(text(&theirs.stdout).contains("join__Graph"));

    let mut public_args = vec!["--public"];
    public_args.extend(arg_refs.iter().copied());
    let their_api = node("compose.mjs", &public_args).await;
    assert!(their_api.status.success(), "{}", text(&their_api.stderr));

    let ours = print_supergraph(&mut stack, tmp.path()).await;
    let our_api = node("compose.mjs", &["--public-of", ours.to_str().unwrap()]).await;
    assert!(our_api.status.success(), "{}", text(&our_api.stderr));
    assert_eq!(
        text(&our_api.stdout),
        text(&their_api.stdout),
        "the two composers disagree on the public schema"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_over_http_audit_passes_at_the_gateway() {
    for mode in [Mode::Remote, Mode::InProcess] {
        let stack = Stack::start(mode).await;
        let out = node("audit.mjs", &[&stack.url("/graphql")]).await;
        assert!(
            out.status.success(),
            "{mode:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("0 notice, 0 warn, 0 error"),
            "{}",
            text(&out.stdout)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_ws_client_completes_a_subscription_through_the_gateway() {
    let stack = Stack::start(Mode::Remote).await;
    let (_, token) = stack.register("ws@example.com").await;
    let out = node(
        "ws-subscribe.mjs",
        &[
            &stack.url("/graphql"),
            "subscription($n: Int!) { priceTicks(upc: \"p3\", count: $n, intervalMs: 10) { price name stock reviews { body } } }",
            "--variables",
            r#"{"n": 3}"#,
            "--authorization",
            &format!("Bearer {token}"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    for (i, e) in events.iter().enumerate() {
        let tick = &e["data"]["priceTicks"];
        assert_eq!(tick["price"], 31 + i as i64);
        assert_eq!(tick["stock"], 12);
        assert_eq!(tick["reviews"], json!([{ "body": "Bright" }]));
    }
}

/// Hive Gateway over the same subgraphs, serving the supergraph `rialto supergraph` printed,
/// on port 0 (it prints `LISTENING <port>`).
async fn spawn_hive(supergraph: &std::path::Path) -> (Running, String) {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(compat().join("hive-gateway.mjs")).args([
        "--supergraph",
        supergraph.to_str().unwrap(),
        "--port",
        "0",
    ]);
    let hive = Running::start(
        "Hive Gateway",
        cmd,
        Announce::Line("LISTENING "),
        Duration::from_secs(60),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("{}/graphql", hive.base_url());
    (hive, url)
}

/// One operation of the corpus: a name, the document, variables, and whether it runs signed in.
struct Case {
    name: &'static str,
    query: &'static str,
    variables: Value,
    signed_in: bool,
}

/// Where Hive Gateway loses a subgraph's error and we keep it, `data` must still agree and
/// our errors must carry the subgraph's message; see [`divergence`].
const KEEPS_ERRORS_HIVE_DROPS: &[&str] = &[
    "entity field errors",
    "entity error nulls a nullable parent",
    "entity error reaches the root",
];

/// async-graphql subgraphs leave a failed field out of `data` (instead of `null`) and give
/// errors inside `_entities` no list index. Hive Gateway then drops the error (a nullable
/// field) or replaces it with its own "Cannot return null" (a non-null one); we pass the
/// subgraph's error on at every client path it concerns. Checks that we did, and that the
/// data is the same.
fn divergence(ours: &Value, theirs: &Value) -> Result<(), String> {
    if ours["data"] != theirs["data"] {
        return Err("data differs".into());
    }
    let ours_ok = ours["errors"].as_array().is_some_and(|es| {
        !es.is_empty()
            && es
                .iter()
                .all(|e| e["message"].as_str().is_some_and(|m| m.contains("review")))
    });
    if ours_ok {
        Ok(())
    } else {
        Err("rialto lost the subgraph's error".into())
    }
}

const fn case(name: &'static str, query: &'static str) -> (&'static str, &'static str) {
    (name, query)
}

/// Queries both gateways answer the same way. Errors included: subgraph errors, entity
/// errors, null propagation, validation and variable errors.
fn corpus() -> Vec<Case> {
    let plain = [
        case("root field", "{ topProduct { upc name price } }"),
        case("list with argument", "{ products(first: 3) { upc name } }"),
        case(
            "several subgraphs at the root",
            "{ products(first: 1) { upc } topReviews(first: 2) { id } warehouses { code city } }",
        ),
        case("one hop", "{ products { upc reviewCount } }"),
        case(
            "two subgraphs at one hop",
            "{ products { name inStock reviews { body rating } } }",
        ),
        case(
            "two hops",
            "{ topReviews { body product { name stock warehouse { city } } } }",
        ),
        case(
            "hop back",
            "{ warehouses { products { upc name reviews { id } } } }",
        ),
        case(
            "nested lists",
            "{ products { reviews { product { reviews { rating } } } } }",
        ),
        case(
            "aliases",
            "{ a: product(upc: \"p1\") { n: name s: stock } b: product(upc: \"p2\") { n: name s: stock } }",
        ),
        case(
            "alias on a hopped field",
            "{ topProduct { count: reviewCount inventory: stock } }",
        ),
        case(
            "typename everywhere",
            "{ __typename topProduct { __typename reviews { __typename } } }",
        ),
        case(
            "inline fragment",
            "{ topProduct { ... on Product { name reviewCount } } }",
        ),
        case(
            "named fragments",
            "query { products(first: 2) { ...P } } fragment P on Product { upc ...R } fragment R on Product { reviews { ...Rev } } fragment Rev on Review { body }",
        ),
        case(
            "union fragments",
            "{ search(text: \"a\") { __typename ... on Product { upc inStock } ... on Category { id name } } }",
        ),
        case(
            "interface fragments",
            "{ node(id: \"product:p4\") { id __typename ... on Product { name reviewCount } } }",
        ),
        case(
            "interface fragment on a category",
            "{ node(id: \"category:c1\") { id ... on Category { name products { upc stock } } } }",
        ),
        case(
            "fragment on interface inside union",
            "{ search(text: \"e\") { ... on Node { id } } }",
        ),
        case("unknown node", "{ node(id: \"nope\") { id } }"),
        case(
            "unknown product",
            "{ product(upc: \"p9\") { upc reviews { id } } }",
        ),
        case(
            "shareable from either side",
            "{ warehouses { products { name dimensions { width height } } } products { name dimensions { width } } }",
        ),
        case(
            "null category",
            "{ product(upc: \"p5\") { category { name } stock } }",
        ),
        case(
            "entity by id",
            "{ review(id: \"r4\") { body author { id } product { name } } }",
        ),
        case("field error", "{ failing echo(text: \"a\") }"),
        case("non-null field error at the root", "{ failingNonNull }"),
        case("entity field errors", "{ topReviews { id flaky } }"),
        case(
            "entity error nulls a nullable parent",
            "{ product(upc: \"p1\") { name topReviewFailing { body } } }",
        ),
        case(
            "entity error reaches the root",
            "{ topProduct { topReviewFailing { id } } }",
        ),
        case("validation: unknown field", "{ topProduct { nope } }"),
        case("validation: missing argument", "{ product { upc } }"),
        case(
            "validation: wrong argument type",
            "{ products(first: \"x\") { upc } }",
        ),
        case("syntax error", "{ topProduct { "),
        case("internal field not exposed", "{ _service { sdl } }"),
        case(
            "introspection of a type",
            "{ __type(name: \"Warehouse\") { name kind fields { name type { name kind ofType { name } } } } }",
        ),
        case(
            "introspection of roots",
            "{ __schema { queryType { name } mutationType { name } subscriptionType { name } } }",
        ),
        case("me anonymous", "{ me { id } }"),
        case(
            "idempotent mutation with a hop",
            "mutation { setPrice(upc: \"p5\", price: 500) { price stock reviewCount } }",
        ),
        case(
            "mutation error",
            "mutation { setPrice(upc: \"p9\", price: 1) { price } }",
        ),
    ];
    let mut cases: Vec<Case> = plain
        .into_iter()
        .map(|(name, query)| Case {
            name,
            query,
            variables: json!({}),
            signed_in: false,
        })
        .collect();
    cases.extend([
        Case {
            name: "variables",
            query: "query($u: String!, $n: Int) { product(upc: $u) { name } products(first: $n) { upc } }",
            variables: json!({ "u": "p3", "n": 2 }),
            signed_in: false,
        },
        Case {
            name: "skip and include",
            query: "query($a: Boolean!, $b: Boolean!) { topProduct { name @skip(if: $a) stock @include(if: $b) reviews @include(if: $a) { body } } }",
            variables: json!({ "a": true, "b": false }),
            signed_in: false,
        },
        Case {
            name: "include on a fragment that hops",
            query: "query($x: Boolean!) { products(first: 2) { upc ... @include(if: $x) { inStock reviews { rating } } } }",
            variables: json!({ "x": true }),
            signed_in: false,
        },
        Case {
            name: "variable of the wrong type",
            query: "query($n: Int) { products(first: $n) { upc } }",
            variables: json!({ "n": "ten" }),
            signed_in: false,
        },
        Case {
            name: "missing required variable",
            query: "query($u: String!) { product(upc: $u) { upc } }",
            variables: json!({}),
            signed_in: false,
        },
        Case {
            name: "signed in across three subgraphs",
            query: "{ me { email displayName role reviews { body product { name inStock } } } }",
            variables: json!({}),
            signed_in: true,
        },
        Case {
            name: "operation name picks one",
            query: "query A { topProduct { upc } } query B { warehouses { code } }",
            variables: json!({}),
            signed_in: false,
        },
    ]);
    cases
}

/// What must agree: `data` exactly; each error's path, code and — for errors a subgraph
/// raised — message. Errors a gateway makes itself (validation, null-propagation notes) are
/// worded differently by every implementation, so only their presence and paths count.
fn normalise(body: &Value) -> Value {
    let errors: Vec<Value> =
        body["errors"]
            .as_array()
            .map(|es| {
                let mut v: Vec<Value> = es
                .iter()
                .map(|e| {
                    let code = e["extensions"]["code"].as_str().unwrap_or_default();
                    let from_subgraph = !matches!(
                        code,
                        "" | "BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED" | "GRAPHQL_PARSE_FAILED"
                    );
                    json!({
                        "path": e["path"],
                        "message": if from_subgraph { e["message"].clone() } else { Value::Null },
                        "code": if from_subgraph { json!(code) } else { Value::Null },
                    })
                })
                .collect();
                v.sort_by_key(|e| e.to_string());
                v.dedup();
                v
            })
            .unwrap_or_default();
    json!({
        "data": body.get("data").cloned().unwrap_or(Value::Null),
        "errors": errors,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hive_gateway_and_rialto_answer_a_corpus_of_operations_alike() {
    let mut stack = Stack::start(Mode::Remote).await;
    let tmp = tempfile::tempdir().unwrap();
    let supergraph = print_supergraph(&mut stack, tmp.path()).await;
    let (_hive, hive_url) = spawn_hive(&supergraph).await;
    let (_, token) = stack.register("diff@example.com").await;
    let corpus = corpus();
    assert!(corpus.len() >= 40, "a corpus of at least 40 operations");
    let ask = |url: String, case: &Case| {
        let mut body = json!({ "query": case.query, "variables": case.variables });
        if case.name == "operation name picks one" {
            body["operationName"] = json!("B");
        }
        let mut req = stack.client.post(url).json(&body);
        if case.signed_in {
            req = req.bearer_auth(&token);
        }
        async move {
            let resp = req.send().await.unwrap();
            assert!(resp.status().as_u16() < 500, "a 5xx");
            resp.json::<Value>().await.unwrap()
        }
    };
    let mut mismatches = Vec::new();
    let mut clean = 0;
    for case in &corpus {
        let ours = ask(stack.url("/graphql"), case).await;
        let theirs = ask(hive_url.clone(), case).await;
        if ours.get("errors").is_none() && !ours["data"].is_null() {
            clean += 1;
        }
        let verdict = if KEEPS_ERRORS_HIVE_DROPS.contains(&case.name) {
            divergence(&ours, &theirs)
        } else if normalise(&ours) == normalise(&theirs) {
            Ok(())
        } else {
            Err("differs".into())
        };
        if let Err(why) = verdict {
            mismatches.push(format!(
                "{} ({why}):\n  rialto: {ours}\n  hive:   {theirs}",
                case.name
            ));
        }
    }
    assert!(
        clean >= 25,
        "most of the corpus must succeed, not just fail alike ({clean})"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} operations differ:\n{}",
        mismatches.len(),
        corpus.len(),
        mismatches.join("\n")
    );
}
