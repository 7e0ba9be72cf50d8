//! Access-token cost (issue #2). Every authenticated request verifies one EdDSA JWT at the
//! edge, and every login, register and refresh signs one, so these two numbers bound what
//! the auth path can do per core. Run with `cargo bench -p auth --bench tokens`; the figures
//! we measured are in `BENCHMARKS.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use auth::{KeySet, keys::generate_key};
use chrono::Utc;
use common::{Role, Scope};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use uuid::Uuid;

/// The token a signed-in trader carries: a session token has both scopes.
const SCOPES: &[Scope] = &[Scope::Read, Scope::Trade];

fn tokens(c: &mut Criterion) {
    let keys = KeySet::new(&generate_key(), &[], "rialto", "rialto-api").expect("key set");
    // An hour of life, so the token cannot expire however long criterion runs.
    let (token, _) = keys
        .issue(Uuid::new_v4(), Role::Trader, SCOPES, None, Utc::now(), 3600)
        .expect("issue");
    keys.verify(&token).expect("the benchmarked token is valid");

    let mut group = c.benchmark_group("access_token");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify", |b| {
        b.iter(|| keys.verify(black_box(&token)).expect("verify"));
    });
    group.bench_function("issue", |b| {
        let user = Uuid::new_v4();
        b.iter(|| {
            keys.issue(black_box(user), Role::Trader, SCOPES, None, Utc::now(), 300)
                .expect("issue")
        });
    });
    group.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
