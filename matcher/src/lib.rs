//! The matching engine. [`book::Book`] is one market's limit order book: commands in,
//! events out, no I/O, no clock, no randomness — time and ids arrive with the commands — so
//! it is deterministic, replayable and measurable. The matcher process (settlement,
//! durability, recovery) is built on it.
//!
//! [`engine`] adds the money rules around a book (holds, payments, the ledger's postings),
//! still without I/O; [`runner`], [`settle`] and [`leader`] are the matcher process that
//! writes each batch of effects in one transaction and publishes [`events`]; after each
//! commit it writes the touched markets' cache versions ([`hot`]).
//!
//! The book holds orders, not money: the settlement layer holds funds before a command
//! reaches the book and settles from the events it emits (a market buy carries the quote
//! budget the settlement layer holds for it).

pub mod book;
pub mod engine;
pub mod events;
pub mod hot;
pub mod leader;
pub mod runner;
pub mod settle;

pub use book::{
    Book, BookConfig, BookDelta, CancelReason, Command, DoneReason, Event, InvalidConfig, OrderId,
    OrderType, Owner, Place, RejectReason, RestingOrder, RestoreError, SelfTradePrevention, Side,
    TimeInForce, Trade,
};
