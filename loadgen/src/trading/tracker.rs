//! Correlates what the load sent with what came back: `placeOrder` answers on HTTP and
//! `myOrders` events on the traders' sockets, either of which may arrive first.
//!
//! An order is entered before its request is written, keyed by its number (its
//! `clientOrderId` says it), so an event that beats the HTTP answer still finds it. It is
//! *settled* (the matcher processed it) at the first of: an answer whose status is not
//! `ACCEPTED`, or any `myOrders` event. A taker's *fill latency* runs from its due instant
//! (open loop) or send instant (closed loop) to the first event showing `filledQuantity > 0`.
//! An order leaves the table once nothing more is expected of it; what is left at the end is
//! reported as lost.

use std::{
    collections::HashMap,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use hdrhistogram::Histogram;

use crate::report::new_histogram;

const SHARDS: usize = 16;

/// The matcher's verdict on an order, as an answer or an event shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// `status` is `ACCEPTED` (stored, not yet matched).
    pub accepted_only: bool,
    /// `status` is final (`FILLED`, `CANCELLED`, `REJECTED`).
    pub done: bool,
    /// `filledQuantity` is not zero.
    pub filled: bool,
}

impl Seen {
    /// From the `status` and `filledQuantity` fields of an `Order`.
    pub fn new(status: &str, filled_quantity: &str) -> Self {
        Self {
            accepted_only: status == "ACCEPTED",
            done: matches!(status, "FILLED" | "CANCELLED" | "REJECTED"),
            filled: filled_quantity
                .bytes()
                .any(|b| b.is_ascii_digit() && b != b'0'),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    due: Instant,
    taker: bool,
    settled: bool,
    /// What the HTTP answer said of a taker's fill, once it came.
    answered_filled: Option<bool>,
}

/// Counts at the end of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Orders settled inside the measured window.
    pub settled_in_window: u64,
    /// Orders sent (whole run) that neither an answer nor an event ever settled.
    pub unsettled: u64,
    /// Takers whose answer said filled but whose `myOrders` fill event never came.
    pub fill_events_missing: u64,
    /// Takers that ended with nothing filled (the book had no ask for them).
    pub takers_unfilled: u64,
    /// Taker fill latencies recorded (measured window only).
    pub fill_samples: u64,
}

/// The shared table of orders in flight.
pub struct Tracker {
    shards: Vec<Mutex<HashMap<u64, Pending>>>,
    window: OnceLock<(Instant, Instant)>,
    pending: AtomicU64,
    settled_in_window: AtomicU64,
    takers_unfilled: AtomicU64,
    fill_latency: Mutex<Histogram<u64>>,
}

impl Tracker {
    /// An empty table; [`Tracker::open`] sets the measured window once the run starts.
    ///
    /// # Errors
    /// Never in practice (the histogram's bounds are constant).
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            window: OnceLock::new(),
            pending: AtomicU64::new(0),
            settled_in_window: AtomicU64::new(0),
            takers_unfilled: AtomicU64::new(0),
            fill_latency: Mutex::new(new_histogram()?),
        })
    }

    /// Measures over `[from, to)` (the first call wins).
    pub fn open(&self, from: Instant, to: Instant) {
        let _ = self.window.set((from, to));
    }

    /// Whether `at` is inside the measured window (never before [`Tracker::open`]).
    pub fn in_window(&self, at: Instant) -> bool {
        self.window
            .get()
            .is_some_and(|(from, to)| at >= *from && at < *to)
    }

    fn shard(&self, k: u64) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        let i = usize::try_from(k % SHARDS as u64).unwrap_or(0);
        // A worker that panicked holding the lock leaves consistent data: keep going.
        self.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Orders still expected to settle or fill.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Enters order `k`, due at `due`, before its request is sent.
    pub fn sent(&self, k: u64, due: Instant, taker: bool) {
        let entry = Pending {
            due,
            taker,
            settled: false,
            answered_filled: None,
        };
        if self.shard(k).insert(k, entry).is_none() {
            self.pending.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn settle(&self, p: &mut Pending, at: Instant) {
        if !p.settled {
            p.settled = true;
            if self.in_window(at) {
                self.settled_in_window.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn remove(&self, shard: &mut HashMap<u64, Pending>, k: u64) {
        if shard.remove(&k).is_some() {
            self.pending.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The `placeOrder` answer for order `k` arrived at `at`.
    pub fn answered(&self, k: u64, at: Instant, seen: Seen) {
        let mut shard = self.shard(k);
        let Some(p) = shard.get_mut(&k) else { return };
        if !seen.accepted_only {
            self.settle(p, at);
        }
        if p.taker {
            p.answered_filled = Some(seen.filled);
        } else if p.settled {
            self.remove(&mut shard, k);
        }
    }

    /// The request of order `k` failed: nothing more is expected of it (the failure is
    /// counted by the caller).
    pub fn failed(&self, k: u64) {
        let mut shard = self.shard(k);
        self.remove(&mut shard, k);
    }

    /// A `myOrders` event for order `k` arrived at `at`.
    pub fn event(&self, k: u64, at: Instant, seen: Seen) {
        let mut shard = self.shard(k);
        let Some(p) = shard.get_mut(&k) else { return };
        self.settle(p, at);
        if !p.taker {
            self.remove(&mut shard, k);
        } else if seen.filled {
            if self.in_window(p.due) {
                let micros = u64::try_from(at.saturating_duration_since(p.due).as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                self.fill_latency
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .saturating_record(micros);
            }
            self.remove(&mut shard, k);
        } else if seen.done {
            self.takers_unfilled.fetch_add(1, Ordering::Relaxed);
            self.remove(&mut shard, k);
        }
    }

    /// Ends the run: what was never settled or filled, and the fill latencies.
    pub fn finish(&self) -> (Outcome, Histogram<u64>) {
        let mut outcome = Outcome {
            settled_in_window: self.settled_in_window.load(Ordering::Relaxed),
            takers_unfilled: self.takers_unfilled.load(Ordering::Relaxed),
            ..Outcome::default()
        };
        for shard in &self.shards {
            let shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for p in shard.values() {
                if !p.settled {
                    outcome.unsettled += 1;
                } else if p.answered_filled == Some(false) {
                    outcome.takers_unfilled += 1;
                } else {
                    outcome.fill_events_missing += 1;
                }
            }
        }
        let histogram = self
            .fill_latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        outcome.fill_samples = histogram.len();
        (outcome, histogram)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const FILLED: (&str, &str) = ("FILLED", "1");

    fn seen((status, filled): (&str, &str)) -> Seen {
        Seen::new(status, filled)
    }

    fn tracker() -> (Tracker, Instant) {
        let t0 = Instant::now();
        let tracker = Tracker::new().unwrap();
        tracker.open(t0, t0 + Duration::from_secs(10));
        (tracker, t0)
    }

    #[test]
    fn seen_reads_status_and_quantity() {
        assert_eq!(
            Seen::new("ACCEPTED", "0"),
            Seen {
                accepted_only: true,
                done: false,
                filled: false
            }
        );
        assert_eq!(
            Seen::new("OPEN", "0"),
            Seen {
                accepted_only: false,
                done: false,
                filled: false
            }
        );
        assert!(Seen::new("PARTIALLY_FILLED", "0.5").filled);
        assert!(Seen::new("CANCELLED", "0.000").done && !Seen::new("CANCELLED", "0.000").filled);
    }

    #[test]
    fn a_taker_fill_is_timed_from_its_due_instant_to_the_event() {
        let (t, t0) = tracker();
        let due = t0 + Duration::from_secs(1);
        t.sent(1, due, true);
        t.answered(1, due + Duration::from_millis(2), seen(FILLED));
        assert_eq!(t.pending(), 1, "the answer alone does not time the fill");
        t.event(1, due + Duration::from_millis(3), seen(FILLED));
        assert_eq!(t.pending(), 0);
        let (outcome, h) = t.finish();
        assert_eq!(outcome.settled_in_window, 1);
        assert_eq!(outcome.fill_samples, 1);
        assert!((2_990..=3_010).contains(&h.max()), "{}", h.max());
    }

    #[test]
    fn an_event_before_the_answer_settles_and_times_the_order() {
        let (t, t0) = tracker();
        let due = t0 + Duration::from_secs(2);
        t.sent(1, due, true);
        t.sent(2, due, false);
        t.event(1, due + Duration::from_millis(1), seen(FILLED));
        t.event(2, due + Duration::from_millis(1), seen(("OPEN", "0")));
        assert_eq!(t.pending(), 0);
        // The late answers find nothing to do.
        t.answered(1, due + Duration::from_millis(5), seen(FILLED));
        t.answered(2, due + Duration::from_millis(5), seen(("OPEN", "0")));
        let (outcome, h) = t.finish();
        assert_eq!(
            outcome,
            Outcome {
                settled_in_window: 2,
                fill_samples: 1,
                ..Outcome::default()
            }
        );
        assert!(h.max() < 1_100);
    }

    #[test]
    fn an_accepted_answer_waits_for_the_event_and_a_maker_settles_on_its_answer() {
        let (t, t0) = tracker();
        let due = t0 + Duration::from_secs(1);
        t.sent(0, due, false);
        t.answered(0, due, seen(("ACCEPTED", "0")));
        assert_eq!(t.pending(), 1, "ACCEPTED is not settled");
        t.event(0, due, seen(("OPEN", "0")));
        t.sent(2, due, false);
        t.answered(2, due, seen(("OPEN", "0")));
        assert_eq!(t.pending(), 0);
        assert_eq!(t.finish().0.settled_in_window, 2);
    }

    #[test]
    fn what_never_comes_back_is_reported() {
        let (t, t0) = tracker();
        let due = t0 + Duration::from_secs(1);
        t.sent(0, due, false); // nothing at all
        t.sent(1, due, true);
        t.answered(1, due, seen(FILLED)); // answered, event lost
        t.sent(3, due, true);
        t.answered(3, due, seen(("CANCELLED", "0"))); // unfilled, event lost
        t.sent(5, due, true);
        t.event(5, due, seen(("CANCELLED", "0"))); // unfilled
        t.sent(7, due, true);
        t.failed(7); // the request failed: counted by the caller, not here
        let (outcome, _) = t.finish();
        assert_eq!(
            outcome,
            Outcome {
                settled_in_window: 3,
                unsettled: 1,
                fill_events_missing: 1,
                takers_unfilled: 2,
                fill_samples: 0,
            }
        );
    }

    #[test]
    fn only_the_window_counts() {
        let (t, t0) = tracker();
        // Due in the warm-up, settled in the window: settles, but is no latency sample.
        t.sent(1, t0 - Duration::from_millis(1), true);
        t.event(1, t0 + Duration::from_millis(1), seen(FILLED));
        // Due in the window, settled after it: a sample, not a settlement in the window.
        let late = t0 + Duration::from_secs(10) - Duration::from_millis(1);
        t.sent(3, late, true);
        t.event(3, late + Duration::from_millis(5), seen(FILLED));
        let (outcome, h) = t.finish();
        assert_eq!(outcome.settled_in_window, 1);
        assert_eq!(outcome.fill_samples, 1);
        assert!(h.max() >= 5_000);
    }
}
