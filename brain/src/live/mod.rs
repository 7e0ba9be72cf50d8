//! Live data: the matcher's outbox events, read back from the bus for subscriptions.
//!
//! Every event carries its market's sequence number. A subscriber that falls behind (the
//! bus says [`bus::BusItem::Lagged`]) is told so, never silently skipped: the book stream
//! answers with a fresh snapshot, the account streams end with an error so the client
//! refetches and resubscribes.

pub mod book;

use common::events::Envelope;
use futures_util::{Stream, StreamExt};

use crate::{BrainError, BrainService};

/// What a subscriber reads from a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// The next event, in publish order.
    Event(Box<Envelope>),
    /// Events were lost to this subscriber: resync before trusting the next one.
    Lagged,
}

impl BrainService {
    /// The events of a bus topic, parsed. Unreadable payloads are logged and skipped (they
    /// come from our own matcher; one would be a bug, not a reason to end every stream).
    ///
    /// # Errors
    /// [`BrainError::Internal`] when the bus cannot subscribe.
    pub async fn live(
        &self,
        topic: &str,
    ) -> Result<impl Stream<Item = Live> + Send + 'static, BrainError> {
        let sub = self
            .bus()
            .subscribe(topic)
            .await
            .map_err(|e| BrainError::Internal(anyhow::anyhow!("subscribe to {topic}: {e}")))?;
        Ok(sub.filter_map(|item| async move {
            match item {
                bus::BusItem::Lagged => Some(Live::Lagged),
                bus::BusItem::Message(payload) => {
                    match serde_json::from_slice::<Envelope>(&payload) {
                        Ok(e) => Some(Live::Event(Box::new(e))),
                        Err(e) => {
                            tracing::error!(error = %e, "unreadable event on the bus");
                            None
                        }
                    }
                }
            }
        }))
    }
}
