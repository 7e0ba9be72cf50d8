//! The matching engine. [`book::Book`] is one market's limit order book: commands in,
//! events out, no I/O, no clock, no randomness — time and ids arrive with the commands — so
//! it is deterministic, replayable and measurable.
//!
//! [`market`] adds the money rules around a book (holds, payments, the ledger's postings),
//! still without I/O. [`venue`] is the whole venue in memory — every market, every balance,
//! the idempotency index — changed only by commands, as decision 0008 designs it. The `matcher` crate is the process built on it: it settles each batch
//! of effects and publishes them (decision 0008 moves it to an in-memory core with a journal).
//!
//! The book holds orders, not money: the settlement layer holds funds before a command
//! reaches the book and settles from the events it emits (a market buy carries the quote
//! budget the settlement layer holds for it).
//!
//! This crate depends on nothing of Rialto's and on no runtime or database, so the rules can
//! be tested, fuzzed and benchmarked alone, and every process that needs them (the matcher,
//! brain's validation) shares one copy.

pub mod book;
pub mod market;
pub mod venue;

pub use book::{
    Book, BookConfig, BookDelta, CancelReason, Command, DoneReason, Event, InvalidConfig, OrderId,
    OrderType, Owner, Place, RejectReason, RestingOrder, RestoreError, SelfTradePrevention, Side,
    TimeInForce, Trade,
};
