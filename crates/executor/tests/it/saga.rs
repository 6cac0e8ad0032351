//! Compensation against a real target database: a saga whose second action
//! fails for good undoes the first, and a person's revert puts a completed
//! execution's rows back exactly, once, however often it is asked.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_bus::Bus;
use sluice_core::pipeline::{GateDecision, Interpretation, Verdict};
use sluice_core::{CorrelationId, Envelope, Stage, State, WorkflowSpec};
use sluice_executor::{Executor, Options};
use sluice_ledger::REVERT_GENERATION;
use sluice_testkit::{TestDb, TestLedger, TestNats, eventually, pipeline};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::common::{TO_AUTO_ACTION_PENDING, options, topology};

const WORKFLOW: &str = "enrich";
const WAIT: Duration = Duration::from_secs(20);

/// A two-action saga: stage the suggestion, then update the account.
fn workflow(url: &str) -> anyhow::Result<WorkflowSpec> {
    let text = format!(
        r#"
name = "{WORKFLOW}"
sources = ["crm"]
timezone = "UTC"
contract = "contract.schema.json"
[interpret]
prompt = "prompt.v1.md"
prompt_version = "v1"
backend = "rules"
[gate]
auto_threshold = 0.85
review_threshold = 0.5
allowed_actions = ["stage", "update"]

[[actions]]
name = "stage"
connector = "postgres"
idempotency_key = "stage:{{account_id}}:{{source_hash}}"
compensation = "revert"
retry = {{ max_attempts = 2, initial_delay_ms = 10, max_delay_ms = 50 }}
[actions.settings]
database_url = "{url}"
table = "staging"
key_column = "suggestion_id"
mode = "insert"
body = {{ suggestion_id = "{{account_id}}:{{source_hash}}", account_id = "{{account_id}}", industry = "{{industry}}" }}

[[actions]]
name = "update"
connector = "postgres"
idempotency_key = "crm:{{account_id}}:{{source_hash}}"
compensation = "revert"
retry = {{ max_attempts = 2, initial_delay_ms = 10, max_delay_ms = 50 }}
[actions.settings]
database_url = "{url}"
table = "accounts"
key_column = "id"
body = {{ id = "{{account_id}}", industry = "{{industry}}", employees = "{{employees}}" }}
"#
    );
    Ok(WorkflowSpec::parse(&text, "saga test")?)
}

pub(crate) struct Env {
    nats: TestNats,
    bus: Bus,
    pub(crate) ledger: TestLedger,
    crm: PgPool,
    shutdown: CancellationToken,
    executor: JoinHandle<sluice_executor::Result<sluice_bus::Stopped>>,
    _dbs: (TestDb, TestDb),
}

impl Env {
    async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_, _| {}).await
    }

    /// Starts with the executor's options and the workflow changed by `edit`.
    pub(crate) async fn start_with(
        edit: impl FnOnce(&mut Options, &mut WorkflowSpec),
    ) -> anyhow::Result<Self> {
        let nats = TestNats::new().await?;
        let bus = Bus::new(nats.client.clone(), nats.subjects.clone());
        bus.provision(&topology(WORKFLOW, Duration::from_secs(10)))
            .await?;
        let ledger_db = TestDb::new().await?;
        let ledger = TestLedger::start(&ledger_db).await?;
        let crm_db = TestDb::new().await?;
        let crm = crm_db.pool().await?;
        for sql in [
            "CREATE TABLE accounts (id text PRIMARY KEY, name text NOT NULL, industry text, employees integer)",
            "INSERT INTO accounts VALUES ('acc-1', 'Acme', 'retail', 40)",
            "CREATE TABLE staging (suggestion_id text PRIMARY KEY, account_id text NOT NULL, industry text)",
        ] {
            sqlx::query(sql).execute(&crm).await?;
        }
        let mut options = options(&nats, &ledger);
        let mut spec = workflow(&crm_db.url)?;
        edit(&mut options, &mut spec);
        let executor = Executor::with_workflows(options, vec![spec]).await?;
        let shutdown = CancellationToken::new();
        let executor = tokio::spawn(executor.run(shutdown.clone()));
        Ok(Self {
            nats,
            bus,
            ledger,
            crm,
            shutdown,
            executor,
            _dbs: (ledger_db, crm_db),
        })
    }

    /// Records the execution up to `AUTO_ACTION_PENDING` and hands it to
    /// the executor, as the gate would.
    pub(crate) async fn submit(&self, account: &str, hash: &str) -> anyhow::Result<Envelope> {
        let contract = json!({ "account_id": account, "source_hash": hash,
                               "industry": "logistics", "employees": 250 });
        let mut envelope = Envelope::new(
            "crm",
            format!("evt-{account}-{hash}"),
            WORKFLOW,
            CorrelationId::generate(),
            chrono::Utc::now(),
            json!({ "account_id": account }),
        );
        envelope.interpretation = Some(interpretation(contract));
        envelope.decision = Some(GateDecision {
            verdict: Verdict::Auto,
            action: Some("stage".into()),
            rules: Vec::new(),
            missing: Vec::new(),
            summary: "all rules passed".into(),
            offers: Vec::new(),
            context: Vec::new(),
        });
        self.walk(&envelope, None, &TO_AUTO_ACTION_PENDING).await?;
        self.publish(&envelope, "0").await?;
        Ok(envelope)
    }

    /// Records `path` from `from` (what ingest, interpreter, gate or
    /// notifier would have done).
    async fn walk(
        &self,
        envelope: &Envelope,
        from: Option<State>,
        path: &[State],
    ) -> anyhow::Result<()> {
        pipeline::record_path_from(&self.ledger.client, envelope, from, path).await
    }

    async fn publish(&self, envelope: &Envelope, generation: &str) -> anyhow::Result<()> {
        self.bus
            .publisher()
            .envelope_to_stage(envelope, Stage::Execute, generation, None)
            .await?;
        Ok(())
    }

    pub(crate) async fn wait_state(
        &self,
        envelope: &Envelope,
        state: State,
    ) -> anyhow::Result<Vec<Value>> {
        eventually(&format!("execution in {state}"), WAIT, || async {
            let (now, journal) = self
                .ledger
                .client
                .get_execution(envelope.execution_id)
                .await?;
            eventually::check(now.state == state.as_str(), || {
                let moves: Vec<_> = journal.iter().map(|j| &j.to_state).collect();
                format!("state {}, journal {moves:?}", now.state)
            })?;
            Ok(journal
                .into_iter()
                .map(|j| json!({ "to": j.to_state, "detail": j.detail, "actor": j.actor }))
                .collect())
        })
        .await
    }

    pub(crate) async fn scalar(&self, sql: &str) -> anyhow::Result<Value> {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.crm)
            .await?)
    }

    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.executor).await???;
        self.nats.cleanup().await?;
        Ok(())
    }
}

fn interpretation(contract: Value) -> Interpretation {
    pipeline::interpretation(contract, 0.95, "stage")
}

fn to_states(journal: &[Value]) -> Vec<&str> {
    journal.iter().filter_map(|j| j["to"].as_str()).collect()
}

pub(crate) const ACCOUNT: &str = "SELECT jsonb_build_object('industry', industry, 'employees', employees) \
                       FROM accounts WHERE id = 'acc-1'";
pub(crate) const STAGED: &str = "SELECT to_jsonb(count(*)) FROM staging";

#[tokio::test]
async fn a_second_action_failing_for_good_compensates_the_first() -> anyhow::Result<()> {
    let env = Env::start().await?;
    // No such account: the update fails for good after the staging row
    // was written, so the saga undoes the staging row.
    let envelope = env.submit("acc-404", "h1").await?;
    let journal = env.wait_state(&envelope, State::Compensated).await?;
    assert_eq!(
        to_states(&journal)[7..],
        ["EXECUTING", "COMPENSATING", "COMPENSATED"],
        "{journal:?}"
    );
    let compensating = &journal[8]["detail"];
    assert_eq!(
        compensating["undo"],
        json!([{ "action": "stage", "key": "stage:acc-404:h1" }])
    );
    assert!(
        compensating["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no row")),
        "{compensating}"
    );
    assert_eq!(
        env.scalar(STAGED).await?,
        json!(0),
        "the staged row is gone"
    );
    let keys = env
        .scalar("SELECT to_jsonb(array_agg(key ORDER BY key)) FROM sluice_effects")
        .await?;
    assert_eq!(
        keys,
        json!(["stage:acc-404:h1", "stage:acc-404:h1:compensate"])
    );
    let key = env
        .ledger
        .client
        .get_key("stage:acc-404:h1:compensate")
        .await?;
    assert_eq!(key.state, "completed");

    // A redelivery of the original hand-off finds it compensated: nothing more.
    env.publish(&envelope, "1").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = env.wait_state(&envelope, State::Compensated).await?;
    assert_eq!(again.len(), journal.len());
    assert_eq!(
        env.scalar("SELECT to_jsonb(count(*)) FROM sluice_effects")
            .await?,
        json!(2)
    );
    env.stop().await
}

#[tokio::test]
async fn a_revert_restores_the_previous_values_once_even_if_asked_twice() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let envelope = env.submit("acc-1", "h2").await?;
    env.wait_state(&envelope, State::ActionCompleted).await?;
    assert_eq!(
        env.scalar(ACCOUNT).await?,
        json!({ "industry": "logistics", "employees": 250 })
    );
    assert_eq!(env.scalar(STAGED).await?, json!(1));
    // The notifier's part.
    env.walk(
        &envelope,
        Some(State::ActionCompleted),
        &[State::Notified, State::Completed],
    )
    .await?;

    let client = &env.ledger.client;
    let first = client
        .revert_execution(envelope.execution_id, "wrong account merged")
        .await?;
    assert!(first.started);
    assert_eq!(first.state, State::Compensating);
    let undo: Vec<&str> = first.undo.iter().map(|u| u.action.as_str()).collect();
    assert_eq!(undo, ["update", "stage"], "latest first");
    // Asked again before the executor ran: the first request stands.
    let second = client
        .revert_execution(envelope.execution_id, "asked twice")
        .await?;
    assert!(!second.started);
    assert_eq!(second.reason, "wrong account merged");
    // Handed over twice, as two CLI runs would (distinct ids so JetStream
    // keeps both).
    let mut bare = envelope.clone();
    bare.interpretation = None;
    bare.decision = None;
    env.publish(&bare, REVERT_GENERATION).await?;
    env.publish(&bare, "revert-again").await?;

    let journal = env.wait_state(&envelope, State::Compensated).await?;
    assert_eq!(
        env.scalar(ACCOUNT).await?,
        json!({ "industry": "retail", "employees": 40 }),
        "exactly the previous values"
    );
    assert_eq!(env.scalar(STAGED).await?, json!(0));
    let compensations = env
        .scalar("SELECT to_jsonb(count(*)) FROM sluice_effects WHERE key LIKE '%:compensate'")
        .await?;
    assert_eq!(compensations, json!(2), "one per action");
    let entered = to_states(&journal)
        .iter()
        .filter(|s| **s == "COMPENSATED")
        .count();
    assert_eq!(entered, 1, "{journal:?}");
    let done = journal
        .last()
        .map(|j| j["detail"].clone())
        .unwrap_or_default();
    assert_eq!(
        done["compensated"][0]["restored"],
        json!({ "industry": "retail", "employees": 40 })
    );

    // Once compensated, a further request changes nothing.
    let late = client
        .revert_execution(envelope.execution_id, "third time")
        .await?;
    assert_eq!((late.started, late.state), (false, State::Compensated));
    let audit = client.execution_audit(envelope.execution_id).await?;
    let reverts: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "execution.revert")
        .collect();
    assert_eq!(reverts.len(), 1, "{audit:?}");
    assert_eq!(reverts[0].reason, "wrong account merged");
    env.stop().await
}

#[tokio::test]
async fn only_a_completed_execution_can_be_reverted() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let envelope = env.submit("acc-1", "h3").await?;
    env.wait_state(&envelope, State::ActionCompleted).await?;
    let err = env
        .ledger
        .client
        .revert_execution(envelope.execution_id, "too early")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("only a COMPLETED execution"), "{err}");
    let empty = env
        .ledger
        .client
        .revert_execution(envelope.execution_id, " ")
        .await;
    assert!(empty.is_err());
    env.stop().await
}
