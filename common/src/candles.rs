//! The candle intervals: which ones are kept and the names they are stored under. The matcher
//! writes candles and brain reads them, so the list lives where both can see it.

use chrono::TimeDelta;

/// The candle intervals kept, with their stored names.
pub const INTERVALS: [(&str, TimeDelta); 5] = [
    ("M1", TimeDelta::minutes(1)),
    ("M5", TimeDelta::minutes(5)),
    ("M15", TimeDelta::minutes(15)),
    ("H1", TimeDelta::hours(1)),
    ("D1", TimeDelta::days(1)),
];
