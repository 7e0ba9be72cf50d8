//! The matcher process, built on the [`engine`] crate's books and money rules: [`runner`],
//! [`settle`] and [`leader`] own a set of markets, write each batch of effects in one
//! transaction and publish `common::events` after each commit, then write the touched
//! markets' cache versions (`common::hot`).
//!
//! Decision 0008 replaces the batch-per-commit path with an in-memory core behind a journal;
//! this crate is where that process lives.

pub mod journal;
pub mod leader;
pub mod runner;
pub mod settle;
