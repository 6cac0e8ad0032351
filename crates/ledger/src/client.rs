//! The typed ledger client: domain types in, domain enums out.
//!
//! Transient gRPC errors (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED)
//! are retried with bounded, jittered exponential backoff. Every RPC is safe
//! to repeat: Complete/Fail/MarkAttempted/Heartbeat with the current token are
//! idempotent and a repeated transition is a no-op. A Begin whose STARTED
//! answer was lost is answered IN_PROGRESS on retry; the key then comes back
//! after one lease, and no effect can run twice. Refusals (ABORTED,
//! FAILED_PRECONDITION, INVALID_ARGUMENT, …) are never retried.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_core::ExecutionId;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Response, Status};

use crate::convert::{datetime, json_out, pb};
use crate::error::{Error, Result};
use crate::trace::MetadataInjector;
use crate::types::{
    BeginOutcome, BeginRequest, Execution, ExecutionFilter, ExecutionPage, FailureKind,
    JournalEntry, KeyRecord, Repeat, Transition, TransitionOutcome,
};

mod backlog;
mod dead_letters;
mod retention;
mod review_sla;
mod reviews;
mod switches;

type Grpc = pb::ledger_client::LedgerClient<Channel>;

/// How to reach a ledger.
#[derive(Clone)]
pub struct ClientOptions {
    /// `http://host:port` or `https://host:port`.
    pub endpoint: String,
    /// Sent as `authorization: Bearer <token>` when set.
    pub token: Option<String>,
    /// TLS (and client certificate) settings for `https` endpoints.
    pub tls: Option<ClientTlsConfig>,
    /// Deadline of one attempt.
    pub timeout: Duration,
    /// Retries after the first attempt for transient errors.
    pub max_retries: usize,
}

impl ClientOptions {
    /// Defaults for `endpoint`: no token, no TLS, 10 s per attempt, 5 retries.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            token: None,
            tls: None,
            timeout: Duration::from_secs(10),
            max_retries: 5,
        }
    }
}

/// A cheap-to-clone handle on a ledger.
#[derive(Debug, Clone)]
pub struct LedgerClient {
    grpc: Grpc,
    token: Option<MetadataValue<Ascii>>,
    backoff: ExponentialBuilder,
}

impl LedgerClient {
    /// Creates a client. Connects lazily, so a ledger that is still starting
    /// is retried by the first call rather than failing here.
    pub fn connect(options: ClientOptions) -> Result<Self> {
        let bad =
            |what: String| Error::Config(format!("ledger endpoint {:?}: {what}", options.endpoint));
        let mut endpoint = Endpoint::from_shared(options.endpoint.clone())
            .map_err(|e| bad(e.to_string()))?
            .timeout(options.timeout)
            .connect_timeout(options.timeout);
        if let Some(tls) = options.tls.clone() {
            endpoint = endpoint.tls_config(tls)?;
        }
        let token = options
            .token
            .as_deref()
            .map(|t| format!("Bearer {t}").parse())
            .transpose()
            .map_err(|_| bad("token is not valid header text".to_owned()))?;
        Ok(Self {
            grpc: Grpc::new(endpoint.connect_lazy()),
            token,
            backoff: ExponentialBuilder::default()
                .with_jitter()
                .with_min_delay(Duration::from_millis(20))
                .with_max_delay(Duration::from_secs(2))
                .with_max_times(options.max_retries),
        })
    }

    /// The same connection, calling as the holder of `token` instead: how
    /// a service checks a token it was handed (with
    /// [`LedgerClient::who_am_i`]) without a connection per caller.
    pub fn with_token(&self, token: &str) -> Result<Self> {
        let token = format!("Bearer {token}")
            .parse()
            .map_err(|_| Error::Config("token is not valid header text".to_owned()))?;
        Ok(Self {
            token: Some(token),
            ..self.clone()
        })
    }

    /// Claims a key before a side effect.
    pub async fn begin(&self, req: &BeginRequest) -> Result<BeginOutcome> {
        let resp = self
            .call(req.to_proto(), |mut c, r| async move { c.begin(r).await })
            .await?;
        BeginOutcome::from_proto(resp)
    }

    /// Records that the effect is about to be attempted.
    pub async fn mark_attempted(&self, key: &str, fencing_token: i64) -> Result<()> {
        let msg = pb::MarkAttemptedRequest {
            key: key.to_owned(),
            fencing_token,
        };
        self.call(msg, |mut c, r| async move { c.mark_attempted(r).await })
            .await?;
        Ok(())
    }

    /// Completes the key with the effect's result.
    pub async fn complete(
        &self,
        key: &str,
        fencing_token: i64,
        result: Option<Value>,
    ) -> Result<()> {
        self.complete_and_record(key, fencing_token, result, &[])
            .await
            .map(|_| ())
    }

    /// Completes the key and records `path` (moves of its execution) in the
    /// same transaction; answers whether the moves were recorded. The
    /// completion stands either way: a caller told `false` records them
    /// itself ([`LedgerClient::record_path`]) to learn where the execution
    /// is.
    pub async fn complete_and_record(
        &self,
        key: &str,
        fencing_token: i64,
        result: Option<Value>,
        path: &[Transition],
    ) -> Result<bool> {
        let msg = pb::CompleteRequest {
            key: key.to_owned(),
            fencing_token,
            result: json_out(result),
            then: path.iter().map(Transition::to_proto).collect(),
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.complete(r).await })
            .await?;
        Ok(resp.moved)
    }

    /// Records a failure of the current attempt.
    pub async fn fail(
        &self,
        key: &str,
        fencing_token: i64,
        kind: FailureKind,
        reason: &str,
        recovery_point: Option<Value>,
    ) -> Result<()> {
        let msg = pb::FailRequest {
            key: key.to_owned(),
            fencing_token,
            kind: kind.to_proto().into(),
            reason: reason.to_owned(),
            recovery_point: json_out(recovery_point),
        };
        self.call(msg, |mut c, r| async move { c.fail(r).await })
            .await?;
        Ok(())
    }

    /// Renews the lease; returns the new expiry (database clock).
    pub async fn heartbeat(
        &self,
        key: &str,
        fencing_token: i64,
        lease: Duration,
    ) -> Result<DateTime<Utc>> {
        let lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        let msg = pb::HeartbeatRequest {
            key: key.to_owned(),
            fencing_token,
            lease_ms,
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.heartbeat(r).await })
            .await?;
        datetime("lease_expires_at", resp.lease_expires_at)
    }

    /// Reads one key.
    pub async fn get_key(&self, key: &str) -> Result<KeyRecord> {
        let msg = pb::GetKeyRequest {
            key: key.to_owned(),
        };
        KeyRecord::from_proto(
            self.call(msg, |mut c, r| async move { c.get_key(r).await })
                .await?,
        )
    }

    /// Moves an execution (compare-and-set) and journals the move.
    pub async fn record_transition(&self, t: &Transition) -> Result<TransitionOutcome> {
        let msg = t.to_proto();
        let resp = self
            .call(msg, |mut c, r| async move { c.record_transition(r).await })
            .await?;
        TransitionOutcome::from_proto(resp)
    }

    /// Records several moves of one execution in one round trip and one
    /// database transaction: all of them or none (FAILED_PRECONDITION when
    /// a step is refused, or with [`Repeat::Refuse`] finds the execution
    /// already in its target). Answers for the last step.
    pub async fn record_path(
        &self,
        path: &[Transition],
        repeat: Repeat,
    ) -> Result<TransitionOutcome> {
        self.record_steps(path, repeat)
            .await?
            .pop()
            .ok_or_else(|| Error::Malformed("no answer for the path".into()))
    }

    /// As [`LedgerClient::record_path`], answering for every step: whether
    /// a creation at its head created the execution, say.
    pub async fn record_steps(
        &self,
        path: &[Transition],
        repeat: Repeat,
    ) -> Result<Vec<TransitionOutcome>> {
        let req = Transition::path_to_proto(path, repeat)
            .ok_or_else(|| Error::InvalidArgument("an empty path".into()))?;
        let resp = self
            .call(req, |mut c, r| async move { c.record_transition(r).await })
            .await?;
        let outcomes = TransitionOutcome::path_from_proto(resp)?;
        if outcomes.len() != path.len() {
            return Err(Error::Malformed(format!(
                "{} answers for a path of {} steps",
                outcomes.len(),
                path.len()
            )));
        }
        Ok(outcomes)
    }

    /// Reads one execution and its journal.
    pub async fn get_execution(&self, id: ExecutionId) -> Result<(Execution, Vec<JournalEntry>)> {
        let msg = pb::GetExecutionRequest {
            execution_id: id.as_uuid().to_string(),
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.get_execution(r).await })
            .await?;
        let execution = resp
            .execution
            .ok_or_else(|| Error::Malformed("execution missing".into()))?;
        let journal = resp
            .journal
            .into_iter()
            .map(JournalEntry::from_proto)
            .collect::<Result<_>>()?;
        Ok((Execution::from_proto(execution)?, journal))
    }

    /// Lists executions, newest first.
    pub async fn list_executions(&self, filter: &ExecutionFilter) -> Result<ExecutionPage> {
        let msg = filter.to_proto();
        let resp = self
            .call(msg, |mut c, r| async move { c.list_executions(r).await })
            .await?;
        ExecutionPage::from_proto(resp)
    }

    /// Sends `msg` through `rpc`, with the bearer token, retrying transient
    /// failures.
    async fn call<M, R, F, Fut>(&self, msg: M, rpc: F) -> Result<R>
    where
        M: Clone,
        F: Fn(Grpc, Request<M>) -> Fut,
        Fut: Future<Output = Result<Response<R>, Status>>,
    {
        let attempt = || {
            let mut req = Request::new(msg.clone());
            if let Some(token) = &self.token {
                req.metadata_mut().insert("authorization", token.clone());
            }
            sluice_runtime::propagation::inject_current(&mut MetadataInjector(req.metadata_mut()));

            rpc(self.grpc.clone(), req)
        };
        let resp = attempt
            .retry(self.backoff)
            .when(|status: &Status| is_transient(status.code()))
            .notify(|status: &Status, after: Duration| {
                tracing::debug!(code = ?status.code(), ?after, "ledger call failed; retrying");
            })
            .await?;
        Ok(resp.into_inner())
    }
}

/// Whether a status may succeed if the same call is sent again.
pub fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_codes_are_retried() {
        assert!(is_transient(Code::Unavailable));
        assert!(is_transient(Code::DeadlineExceeded));
        assert!(is_transient(Code::ResourceExhausted));
        for code in [
            Code::Aborted,
            Code::FailedPrecondition,
            Code::InvalidArgument,
            Code::NotFound,
        ] {
            assert!(!is_transient(code), "{code:?}");
        }
    }
}
