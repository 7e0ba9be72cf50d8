//! Graceful shutdown beyond what axum does by itself.
//!
//! axum's graceful shutdown stops accepting and waits for open HTTP requests, but an upgraded
//! WebSocket is no longer its business: without this, a subscription socket would simply be
//! cut when the process exits. On shutdown every socket is told to close with **1012
//! (service restart)**, so its client reconnects — through the balancer, to a replica that
//! is still up — and resubscribes; the process waits (bounded) until they have. `/ready`
//! answers 503 from the first moment, so a balancer that checks it stops sending traffic.

use std::{future::Future, time::Duration};

use tokio_util::{
    sync::CancellationToken,
    task::{TaskTracker, task_tracker::TrackedFuture},
};

/// The close code of a socket closed because its server is going away for a restart.
pub const SERVICE_RESTART: u16 = 1012;

/// The reason sent with [`SERVICE_RESTART`].
pub const SERVICE_RESTART_REASON: &str = "service restart: reconnect";

/// The shutdown signal shared by a process's sockets, and the tracker of those sockets.
#[derive(Clone, Default)]
pub struct Drain {
    signal: CancellationToken,
    sockets: TaskTracker,
}

impl Drain {
    /// Starts draining: `/ready` fails and every open socket closes.
    pub fn begin(&self) {
        if !self.signal.is_cancelled() {
            tracing::info!(
                sockets = self.sockets.len(),
                "draining: closing WebSockets with 1012"
            );
        }
        self.signal.cancel();
    }

    /// Whether draining has begun.
    pub fn is_draining(&self) -> bool {
        self.signal.is_cancelled()
    }

    /// Resolves once draining has begun (a socket's loop selects on it).
    pub async fn begun(&self) {
        self.signal.cancelled().await;
    }

    /// Wraps a socket's task so that [`Drain::wait`] waits for it.
    pub fn track<F: Future>(&self, socket: F) -> TrackedFuture<F> {
        self.sockets.track_future(socket)
    }

    /// Waits until every tracked socket has closed, at most `limit`. Returns how many were
    /// still open at the limit.
    pub async fn wait(&self, limit: Duration) -> usize {
        self.begin();
        self.sockets.close();
        if tokio::time::timeout(limit, self.sockets.wait())
            .await
            .is_err()
        {
            let left = self.sockets.len();
            tracing::warn!(left, "drain timeout: exiting with sockets still open");
            return left;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_drain_waits_for_the_sockets_it_tracks_and_no_longer() {
        let drain = Drain::default();
        let d = drain.clone();
        let socket = tokio::spawn(drain.track(async move {
            d.begun().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }));
        assert!(!drain.is_draining());
        assert_eq!(drain.wait(Duration::from_secs(5)).await, 0);
        assert!(drain.is_draining());
        assert!(socket.is_finished());

        let stuck = Drain::default();
        let _never = tokio::spawn(stuck.track(std::future::pending::<()>()));
        assert_eq!(stuck.wait(Duration::from_millis(50)).await, 1);
    }
}
