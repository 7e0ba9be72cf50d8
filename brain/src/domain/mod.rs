//! The brain's pure rules: no SeaORM, no async-graphql, no clock. Most of the trading rules'
//! tests live here.

pub mod market;
pub mod order;
