//! The consume loop: pulls from one durable consumer, runs the handler with a
//! concurrency limit, and turns each [`Outcome`] into an acknowledgement.
//!
//! Messages are only pulled when a handler slot is free, so nothing sits in a
//! client-side buffer while its ack-wait clock runs out. On shutdown the loop
//! stops pulling, lets in-flight handlers finish within the grace period
//! (their outcomes are acked as usual), and naks whatever did not finish so
//! another replica gets it at once.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer};
use futures::{FutureExt as _, StreamExt as _};
use sluice_core::headers;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::backoff::Backoff;
use crate::delivery::{Delivery, Handler, Meta};
use crate::settle::Settler;
use crate::trace::HeaderExtractor;
use crate::{Error, Outcome};

/// How a consume loop runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeOptions {
    /// Handlers running at once in this process.
    pub concurrency: usize,
    /// How long one pull request waits on the server for messages.
    pub fetch_wait: Duration,
    /// How long in-flight handlers may keep running after shutdown is
    /// requested before their messages are nakked.
    pub grace: Duration,
    /// Redelivery backoff for `Retry` outcomes, errors and panics.
    pub backoff: Backoff,
    /// How often a running handler's delivery is kept alive with an
    /// in-progress ack; `None` means a third of the consumer's `ack_wait`.
    pub progress_every: Option<Duration>,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            fetch_wait: Duration::from_secs(5),
            grace: Duration::from_secs(10),
            backoff: Backoff::default(),
            progress_every: None,
        }
    }
}

/// What a consume loop did before it returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stopped {
    /// Deliveries whose outcome was settled (acked, nakked or dead-lettered).
    pub settled: u64,
    /// Deliveries nakked unprocessed at shutdown (handler did not finish in
    /// the grace period, or not yet started).
    pub abandoned: u64,
}

/// A consume loop over one durable pull consumer.
#[derive(Debug, Clone)]
pub struct ConsumeLoop {
    consumer: PullConsumer,
    settler: Settler,
    options: ConsumeOptions,
}

#[derive(Default)]
struct Counters {
    settled: AtomicU64,
    abandoned: AtomicU64,
}

impl ConsumeLoop {
    /// A loop over `consumer` that dead-letters to `dead_letter_subject`
    /// (`<prefix>.dlq.<stage>.<workflow>`).
    pub fn new(
        js: jetstream::Context,
        consumer: PullConsumer,
        dead_letter_subject: String,
        options: ConsumeOptions,
    ) -> Result<Self, Error> {
        if options.concurrency == 0 {
            return Err(Error::Config("concurrency must be at least 1".into()));
        }
        let config = &consumer.cached_info().config;
        // Zero means "unlimited" to JetStream, so never a final delivery.
        let max_deliver = u64::try_from(config.max_deliver).ok().filter(|m| *m > 0);
        let settler = Settler::new(js, dead_letter_subject, options.backoff, max_deliver);
        Ok(Self {
            consumer,
            settler,
            options,
        })
    }

    /// Runs until `shutdown` is cancelled, then drains within the grace
    /// period and returns. Broker errors while pulling are logged and
    /// retried, never fatal: a service keeps consuming across reconnects.
    pub async fn run<H: Handler>(
        self,
        handler: H,
        shutdown: CancellationToken,
    ) -> Result<Stopped, Error> {
        let slots = Arc::new(Semaphore::new(self.options.concurrency));
        let tasks = Tasks {
            handler: Arc::new(handler),
            tracker: TaskTracker::new(),
            hard_stop: CancellationToken::new(),
            counters: Arc::new(Counters::default()),
            progress_every: self.progress_every(),
        };
        while let Some(permits) = self.free_slots(&slots, &shutdown).await {
            if self.pull(permits, &tasks, &shutdown).await.is_break() {
                break;
            }
        }
        tasks.drain(self.options.grace).await;
        Ok(Stopped {
            settled: tasks.counters.settled.load(Ordering::Relaxed),
            abandoned: tasks.counters.abandoned.load(Ordering::Relaxed),
        })
    }

    /// One pull request for as many messages as there are `permits`; each
    /// message that arrives starts its handler at once. Breaks on shutdown.
    async fn pull<H: Handler>(
        &self,
        mut permits: Vec<OwnedSemaphorePermit>,
        tasks: &Tasks<H>,
        shutdown: &CancellationToken,
    ) -> ControlFlow<()> {
        let request = self
            .consumer
            .batch()
            .max_messages(permits.len())
            .expires(self.options.fetch_wait)
            .messages();
        let mut batch = tokio::select! {
            biased;
            () = shutdown.cancelled() => return ControlFlow::Break(()),
            batch = request => match batch {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %err, "pull request failed");
                    pause(shutdown, Duration::from_secs(1)).await;
                    return ControlFlow::Continue(());
                }
            },
        };
        loop {
            let next = tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    // Whatever already arrived for this pull is handed back
                    // now rather than left to time out.
                    while let Some(Some(Ok(message))) = batch.next().now_or_never() {
                        self.settler.abandon(&message).await;
                        tasks.counters.abandoned.fetch_add(1, Ordering::Relaxed);
                    }
                    return ControlFlow::Break(());
                }
                next = batch.next() => next,
            };
            match next {
                // The pull expired or was filled; unused permits drop here.
                None => return ControlFlow::Continue(()),
                Some(Err(err)) => {
                    // E.g. 409 (consumer deleted, limits): back off a bit.
                    tracing::warn!(error = %err, "pull failed");
                    pause(shutdown, Duration::from_millis(250)).await;
                    return ControlFlow::Continue(());
                }
                Some(Ok(message)) => match permits.pop() {
                    Some(permit) => tasks.spawn(message, permit, self.settler.clone()),
                    // The server never sends more than asked for; should it,
                    // hand the message straight back.
                    None => self.settler.abandon(&message).await,
                },
            }
        }
    }

    /// Waits for at least one free handler slot and takes every free one,
    /// so one pull asks for exactly as many messages as can start at once.
    async fn free_slots(
        &self,
        slots: &Arc<Semaphore>,
        shutdown: &CancellationToken,
    ) -> Option<Vec<OwnedSemaphorePermit>> {
        let first = tokio::select! {
            biased;
            () = shutdown.cancelled() => return None,
            permit = slots.clone().acquire_owned() => permit.ok()?,
        };
        let mut permits = vec![first];
        while let Ok(permit) = slots.clone().try_acquire_owned() {
            permits.push(permit);
        }
        Some(permits)
    }

    fn progress_every(&self) -> Duration {
        let ack_wait = self.consumer.cached_info().config.ack_wait;
        // The server's default ack wait is 30s when the config leaves it unset.
        let ack_wait = if ack_wait.is_zero() {
            Duration::from_secs(30)
        } else {
            ack_wait
        };
        self.options
            .progress_every
            .unwrap_or(ack_wait / 3)
            .max(Duration::from_millis(50))
    }
}

/// The handlers in flight and what they share.
struct Tasks<H> {
    handler: Arc<H>,
    tracker: TaskTracker,
    /// Cancelled when the grace period runs out: unfinished handlers are
    /// dropped and their messages nakked.
    hard_stop: CancellationToken,
    counters: Arc<Counters>,
    progress_every: Duration,
}

impl<H: Handler> Tasks<H> {
    fn spawn(&self, message: jetstream::Message, permit: OwnedSemaphorePermit, settler: Settler) {
        self.tracker.spawn(process(
            message,
            permit,
            self.handler.clone(),
            settler,
            self.progress_every,
            self.hard_stop.clone(),
            self.counters.clone(),
        ));
    }

    /// Lets in-flight handlers finish within `grace`, then naks the rest.
    async fn drain(&self, grace: Duration) {
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::info!("grace period over: nakking unfinished deliveries");
            self.hard_stop.cancel();
            self.tracker.wait().await;
        }
    }
}

/// Runs the handler for one message and settles the outcome.
async fn process<H: Handler>(
    message: jetstream::Message,
    _permit: OwnedSemaphorePermit,
    handler: Arc<H>,
    settler: Settler,
    progress_every: Duration,
    hard_stop: CancellationToken,
    counters: Arc<Counters>,
) {
    let meta = match Meta::of(&message) {
        Ok(meta) => meta,
        Err(err) => {
            // Without a sequence it can be neither acked nor dead-lettered.
            tracing::error!(error = %err, subject = %message.subject, "delivery without JetStream metadata");
            return;
        }
    };
    let delivery = Delivery::new(&message, &meta, settler.max_deliver());
    let span = process_span(&message, &meta, &delivery);
    async move {
        let outcome = tokio::select! {
            biased;
            outcome = run_handler(&message, handler, delivery, progress_every) => outcome,
            () = hard_stop.cancelled() => {
                settler.abandon(&message).await;
                counters.abandoned.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        tracing::debug!(outcome = outcome.kind(), "handled");
        settler.settle(&message, &meta, outcome).await;
        counters.settled.fetch_add(1, Ordering::Relaxed);
    }
    .instrument(span)
    .await;
}

/// The span of one delivery: an OpenTelemetry messaging `process` span whose
/// parent is the context in the message's `traceparent` (the publisher's
/// span in another process), carrying the ids every log line needs.
fn process_span(message: &jetstream::Message, meta: &Meta, delivery: &Delivery) -> tracing::Span {
    let header = |name| delivery.header(name).unwrap_or_default();
    let span = tracing::info_span!(
        "process",
        otel.name = %format_args!("process {}", message.subject),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %message.subject,
        messaging.consumer.group.name = %meta.consumer,
        messaging.message.id = header(headers::MSG_ID),
        messaging.message.body.size = message.payload.len(),
        messaging.nats.stream = %meta.stream,
        messaging.nats.stream_sequence = meta.stream_sequence,
        messaging.nats.delivered = meta.delivered,
        correlation_id = header(headers::CORRELATION_ID),
        execution_id = header(headers::EXECUTION_ID),
        workflow = header(headers::WORKFLOW),
        stage = header(headers::STAGE),
    );
    sluice_runtime::propagation::set_remote_parent(&span, &HeaderExtractor(&delivery.headers));
    span
}

/// Runs the handler, keeping the delivery alive with in-progress acks, and
/// maps errors and panics to `Retry` (backoff decides the delay).
async fn run_handler<H: Handler>(
    message: &jetstream::Message,
    handler: Arc<H>,
    delivery: Delivery,
    progress_every: Duration,
) -> Outcome {
    let handled = std::panic::AssertUnwindSafe(handler.handle(delivery)).catch_unwind();
    tokio::pin!(handled);
    let start = tokio::time::Instant::now() + progress_every;
    let mut ticker = tokio::time::interval_at(start, progress_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            result = &mut handled => {
                return match result {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, "handler failed; retrying");
                        Outcome::retry()
                    }
                    Err(_) => {
                        tracing::error!("handler panicked; retrying");
                        Outcome::retry()
                    }
                };
            }
            _ = ticker.tick() => {
                if let Err(err) = message.ack_with(jetstream::AckKind::Progress).await {
                    tracing::warn!(error = %err, "in-progress ack failed");
                }
            }
        }
    }
}

/// Sleeps for `d` unless shutdown comes first.
async fn pause(shutdown: &CancellationToken, d: Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(d) => {}
    }
}
