//! Group commit on the place path: concurrent `placeOrder`s are handed to one task per
//! service, which writes everything queued meanwhile in ONE transaction — each order's
//! checks, its hold, the order row; then every place command and every hold's ledger
//! entries in one statement each — and answers each caller after the commit. Under load a
//! commit (and its WAL flush) is shared by many orders instead of paid by each, and the
//! statements per order fall from about ten to two; alone, an order waits for nobody.
//!
//! One order's failure must not undo the others', so nothing in the batch raises a database
//! error on purpose: the hold is a conditional UPDATE (`available >= hold`), a duplicate
//! client order id is `ON CONFLICT DO NOTHING`. A real fault rolls the batch back and each
//! order is retried alone, so a fault answers only the order it belongs to.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use bytes::Bytes;
use chrono::Utc;
use common::events::WAKE_TOPIC;
use engine::{Side, TimeInForce};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    BrainError,
    domain::{
        market::{Market, MarketStatus},
        order::{self, Order, OrderKind, PlaceRequest, ValidOrder},
    },
    store::{
        self,
        ledger::{Account, Posting},
        orders::NewCommand,
    },
};

/// Most orders in one transaction: enough to amortise a commit, small enough that the first
/// of them does not wait long for the last.
const MAX_BATCH: usize = 256;

/// An order as the trader sent it, owned, so it can wait in the queue.
#[derive(Debug, Clone)]
pub(crate) struct OwnedRequest {
    side: Side,
    kind: OrderKind,
    price: Option<String>,
    quantity: String,
    tif: TimeInForce,
    post_only: bool,
    client_order_id: Option<String>,
}

impl OwnedRequest {
    pub(crate) fn new(req: &PlaceRequest<'_>) -> Self {
        Self {
            side: req.side,
            kind: req.kind,
            price: req.price.map(str::to_owned),
            quantity: req.quantity.to_owned(),
            tif: req.tif,
            post_only: req.post_only,
            client_order_id: req.client_order_id.map(str::to_owned),
        }
    }

    fn as_request(&self) -> PlaceRequest<'_> {
        PlaceRequest {
            side: self.side,
            kind: self.kind,
            price: self.price.as_deref(),
            quantity: &self.quantity,
            tif: self.tif,
            post_only: self.post_only,
            client_order_id: self.client_order_id.as_deref(),
        }
    }
}

/// What placing found.
#[derive(Debug)]
pub(crate) enum Placed {
    /// A new order, accepted and committed with its hold and its place command.
    New(Order),
    /// The user already has an order with this client order id (a retry): nothing written;
    /// the first order, as stored.
    Existing(Order),
}

struct Job {
    user: Uuid,
    market: Market,
    req: OwnedRequest,
    reply: oneshot::Sender<Result<Placed, BrainError>>,
}

/// The queue into the place task. Cheap to clone; the task ends when the last clone is gone.
#[derive(Clone)]
pub(crate) struct Placer {
    jobs: mpsc::Sender<Job>,
}

impl Placer {
    /// Starts the place task on `db`; it wakes the matcher on `bus` after each commit.
    pub(crate) fn spawn(db: DatabaseConnection, bus: Arc<dyn bus::EventBus>) -> Self {
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(run(db, bus, rx));
        Self { jobs }
    }

    /// Validates and places one order of `user` on `market` (whose status is checked again
    /// in the transaction), in the next batch.
    pub(crate) async fn place(
        &self,
        user: Uuid,
        market: Market,
        req: OwnedRequest,
    ) -> Result<Placed, BrainError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            user,
            market,
            req,
            reply,
        };
        let gone = || BrainError::Internal(anyhow::anyhow!("the place task has stopped"));
        self.jobs.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(db: DatabaseConnection, bus: Arc<dyn bus::EventBus>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut jobs);
        metrics::histogram!("rialto_place_batch_orders").record(batch.len() as f64);
        let outcomes = match write(&db, &batch).await {
            Ok(outcomes) => outcomes,
            Err(e) if batch.len() == 1 => vec![Err(e)],
            Err(e) => {
                tracing::warn!(error = %e, orders = batch.len(), "a place batch failed; placing its orders one by one");
                let mut outcomes = Vec::with_capacity(batch.len());
                for job in &batch {
                    let one = write(&db, std::slice::from_ref(job)).await;
                    outcomes.push(one.and_then(|mut o| o.pop().unwrap_or(Err(gone_missing()))));
                }
                outcomes
            }
        };
        if outcomes.iter().any(|o| matches!(o, Ok(Placed::New(_)))) {
            // Best effort: the matcher also polls.
            if let Err(e) = bus.publish(WAKE_TOPIC, Bytes::new()).await {
                tracing::debug!(error = %e, "waking the matcher failed; it will poll");
            }
        }
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            // A caller that gave up (its request was cancelled) finds its order by id later.
            let _ = job.reply.send(outcome);
        }
    }
}

fn gone_missing() -> BrainError {
    BrainError::Internal(anyhow::anyhow!("no outcome for a placed order"))
}

/// Writes a batch in one transaction; the outcome of each job, in order. `Err` only for a
/// fault that rolled everything back.
async fn write(
    db: &DatabaseConnection,
    jobs: &[Job],
) -> Result<Vec<Result<Placed, BrainError>>, BrainError> {
    let tx = db.begin().await?;
    let market_ids: BTreeSet<Uuid> = jobs.iter().map(|j| j.market.id).collect();
    let statuses = store::markets::statuses(&tx, market_ids.iter().copied()).await?;
    let last = store::orders::last_prices(&tx, market_ids.iter().copied()).await?;
    let checked: Vec<Result<Hold, BrainError>> = jobs
        .iter()
        .map(|job| check(job, &statuses, &last))
        .collect();
    // The balances to hold from, locked in key order before any is moved (as the matcher
    // does): two writers never wait for each other crosswise.
    let keys = checked
        .iter()
        .zip(jobs)
        .filter_map(|(c, job)| c.as_ref().ok().map(|h| (job.user, h.asset)))
        .collect();
    store::balances::lock(&tx, &keys).await?;

    let now = Utc::now();
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut commands = Vec::new();
    let mut holds = Vec::new();
    for (job, checked) in jobs.iter().zip(checked) {
        let placed = match checked {
            Ok(hold) => place_one(&tx, job, &hold, now).await?,
            Err(refused) => Step::Refused(refused),
        };
        let outcome = match placed {
            Step::Placed(order, postings) => {
                commands.push(NewCommand {
                    market_id: job.market.id,
                    kind: "place",
                    order_id: Some(order.id),
                    user_id: job.user,
                });
                holds.push(("hold", postings));
                Ok(Placed::New(order))
            }
            // A retry is answered with the first order, whatever the second attempt collided
            // on or would now be refused for (its own hold, a halt since, ...).
            Step::Duplicate | Step::Refused(_)
                if let Some(first) = first_order(&tx, job).await? =>
            {
                Ok(Placed::Existing(first))
            }
            Step::Duplicate => Err(BrainError::Internal(anyhow::anyhow!(
                "a client order id collided with no order"
            ))),
            Step::Refused(refused) => Err(refused),
        };
        outcomes.push(outcome);
    }
    store::orders::append_commands(&tx, &commands, now).await?;
    store::ledger::record_many(&tx, &holds, now).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// What a checked order will hold, and from which of its market's assets.
struct Hold {
    valid: ValidOrder,
    asset: Uuid,
    amount: i64,
}

/// The checks of one order that need no write: the market open (as stored now), the
/// order's numbers against its rules and the last price.
fn check(
    job: &Job,
    statuses: &HashMap<Uuid, MarketStatus>,
    last: &HashMap<Uuid, u64>,
) -> Result<Hold, BrainError> {
    let market = &job.market;
    let status = statuses
        .get(&market.id)
        .ok_or(BrainError::NotFound("market"))?;
    let mut spec = market.spec.clone();
    spec.status = *status;
    let valid = order::validate(&spec, &job.req.as_request(), last.get(&market.id).copied())?;
    let asset = match valid.hold_asset {
        engine::market::Asset::Base => market.base.id,
        engine::market::Asset::Quote => market.quote.id,
    };
    let amount =
        i64::try_from(valid.hold).map_err(|_| BrainError::invalid("order value too large"))?;
    Ok(Hold {
        valid,
        asset,
        amount,
    })
}

/// What happened to one checked order inside the batch.
enum Step {
    /// Written, with its hold's postings (for the batch's one ledger INSERT).
    Placed(Order, Vec<Posting>),
    /// Its client order id is taken: nothing written.
    Duplicate,
    /// Refused (the market halted, short of funds, ...): nothing written.
    Refused(BrainError),
}

/// The user's earlier order with this job's client order id, if it names one.
async fn first_order(
    tx: &sea_orm::DatabaseTransaction,
    job: &Job,
) -> Result<Option<Order>, BrainError> {
    match job.req.client_order_id.as_deref() {
        Some(id) => store::orders::find_by_client_id(tx, job.user, id).await,
        None => Ok(None),
    }
}

/// Takes one checked order's hold and writes it; `Err` only for a database fault.
async fn place_one(
    tx: &sea_orm::DatabaseTransaction,
    job: &Job,
    hold: &Hold,
    now: chrono::DateTime<Utc>,
) -> Result<Step, BrainError> {
    let (asset, amount) = (hold.asset, hold.amount);
    if !store::balances::take_hold(tx, job.user, asset, amount, now).await? {
        return Ok(Step::Refused(BrainError::InsufficientFunds(
            "the available balance is too small".into(),
        )));
    }
    let inserted = store::orders::insert_new(
        tx,
        job.user,
        job.market.id,
        job.req.client_order_id.as_deref(),
        job.req.kind,
        &hold.valid,
        now,
    )
    .await?;
    let Some(order) = inserted else {
        // A retry: give back the hold just taken (the first order keeps its own).
        store::balances::add(tx, job.user, asset, amount, -amount, now).await?;
        return Ok(Step::Duplicate);
    };
    let postings = vec![
        Posting::new(Account::UserAvailable(job.user), asset, -amount).with_order(order.id),
        Posting::new(Account::UserHeld(job.user), asset, amount).with_order(order.id),
    ];
    Ok(Step::Placed(order, postings))
}
