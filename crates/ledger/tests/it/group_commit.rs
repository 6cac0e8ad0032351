//! Group commit: concurrent hot-path writes share one statement, and each
//! caller still gets the answer its own statement would have given.
//!
//! These tests drive the store directly on a single-threaded runtime, so
//! every call of a `join_all` is queued before the lane runs and the batch
//! is the whole set: which rows were written together is then certain, and
//! visible as their shared inserting transaction (`xmin`).

use futures::future::join_all;
use serde_json::json;
use sluice_core::{ExecutionId, State};
use sluice_ledger::{BeginOutcome, Error, Origin, Repeat, Store, Transition};
use sluice_testkit::TestDb;

use crate::claim;

async fn store(db: &TestDb) -> anyhow::Result<Store> {
    let store = Store::from_pool(db.pool().await?);
    store.migrate().await?;
    Ok(store)
}

async fn count(db: &TestDb, sql: &'static str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&db.pool().await?).await?)
}

/// Asserts that the rows `distinct_xmins` counts the inserting
/// transactions of were all written by one.
async fn one_statement(
    db: &TestDb,
    distinct_xmins: &'static str,
    what: &str,
) -> anyhow::Result<()> {
    assert_eq!(count(db, distinct_xmins).await?, 1, "{what}");
    Ok(())
}

#[tokio::test]
async fn concurrent_calls_share_one_commit_and_each_gets_its_own_answer() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let store = store(&db).await?;
    let keys: Vec<String> = (0..64).map(|i| format!("group-{i}")).collect();

    // Three claims per key: the first of each key goes into one statement,
    // the repeats (a key is in a batch at most once) find it taken.
    let claims: Vec<_> = ["a", "b", "c"]
        .iter()
        .flat_map(|owner| keys.iter().map(|key| claim(key, owner)))
        .map(|mut req| {
            req.lease = std::time::Duration::from_secs(60);
            req
        })
        .collect();
    let outcomes = join_all(claims.iter().map(|req| store.begin(req, "svc"))).await;
    for (req, outcome) in claims.iter().zip(outcomes) {
        match (req.owner.as_str(), outcome?) {
            (
                "a",
                BeginOutcome::Started {
                    fencing_token: 1, ..
                },
            ) => {}
            (_, BeginOutcome::InProgress { owner, .. }) if req.owner != "a" => {
                assert_eq!(owner, "a");
            }
            (owner, other) => anyhow::bail!("{} by {owner}: {other:?}", req.key),
        }
    }
    one_statement(
        &db,
        "SELECT count(DISTINCT xmin::text) FROM idempotency_keys",
        "the 64 fresh keys are one insert",
    )
    .await?;

    // Each holder marks twice (a retried call), one stranger with a stale
    // token is refused, and nobody else's call is affected by it.
    let marks = join_all(
        keys.iter()
            .chain(&keys)
            .map(|key| store.mark_attempted(key, 1, "svc")),
    )
    .await;
    assert!(marks.iter().all(Result::is_ok), "{marks:?}");
    let stale = store.mark_attempted(&keys[0], 7, "svc").await;
    assert!(matches!(stale, Err(Error::StaleToken { .. })), "{stale:?}");

    // Each result lands on its own key: the batched arrays stay aligned.
    let completions = join_all(
        keys.iter()
            .chain(&keys)
            .map(|key| store.complete(key, 1, Some(json!({ "booking": key })), "svc")),
    )
    .await;
    assert!(completions.iter().all(Result::is_ok), "{completions:?}");
    for key in &keys {
        let record = store.get_key(key).await?;
        assert_eq!(record.state, "completed");
        assert_eq!(record.result, Some(json!({ "booking": key })));
    }
    let events = sqlx::query_as::<_, (String, i64)>(
        "SELECT event, count(*) FROM key_events GROUP BY event ORDER BY event",
    )
    .fetch_all(&db.pool().await?)
    .await?;
    assert_eq!(
        events,
        [
            ("attempted".to_owned(), 128),
            ("completed".to_owned(), 64),
            ("started".to_owned(), 64)
        ]
    );
    one_statement(
        &db,
        "SELECT count(DISTINCT xmin::text) FROM key_events WHERE event = 'completed'",
        "the 64 completions are one statement; the repeats changed nothing",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_row_postgres_refuses_fails_only_its_own_call() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let store = store(&db).await?;
    // Stands in for any row-level refusal (a deadlock, a constraint): the
    // batch's statement fails as a whole.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.key = 'poison' THEN RAISE EXCEPTION 'refused for the test'; END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_poison BEFORE INSERT ON idempotency_keys
           FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    )
    .execute(&db.pool().await?)
    .await?;
    let keys: Vec<String> = (0..20)
        .map(|i| {
            if i == 7 {
                "poison".into()
            } else {
                format!("fine-{i}")
            }
        })
        .collect();
    let claims: Vec<_> = keys.iter().map(|key| claim(key, "a")).collect();
    let outcomes = join_all(claims.iter().map(|req| store.begin(req, "svc"))).await;
    for (req, outcome) in claims.iter().zip(outcomes) {
        match (req.key.as_str(), outcome) {
            ("poison", Err(Error::Database(sqlx::Error::Database(err)))) => {
                assert!(err.message().contains("refused for the test"), "{err}");
            }
            (key, Ok(BeginOutcome::Started { .. })) if key != "poison" => {}
            (key, other) => anyhow::bail!("{key}: {other:?}"),
        }
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM idempotency_keys").await?,
        19
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM key_events WHERE event = 'started'"
        )
        .await?,
        19
    );
    Ok(())
}

fn moving(id: ExecutionId, from: Option<State>, to: State) -> Transition {
    Transition {
        execution_id: id,
        from,
        to,
        stage: "interpret".into(),
        generation: "0".into(),
        detail: Some(json!({ "execution": id.to_string() })),
        exception_reason: None,
        final_outcome: None,
        origin: Origin {
            workflow: "reservation".into(),
            source: "whatsapp".into(),
            event_id: format!("evt-{id}"),
            correlation_id: format!("corr-{id}"),
        },
    }
}

#[tokio::test]
async fn concurrent_moves_of_many_executions_share_one_commit() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let store = store(&db).await?;
    let ids: Vec<ExecutionId> = (0..64)
        .map(|i| ExecutionId::derive("whatsapp", &format!("evt-{i}"), "reservation"))
        .collect();
    for id in &ids {
        store
            .record_transition(&moving(*id, None, State::Received), "svc")
            .await?;
    }
    // Every execution moves once, and a redelivered copy of each move,
    // queued at the same time, waits for the next batch and answers
    // "already there".
    let moves: Vec<Transition> = ids
        .iter()
        .chain(&ids)
        .map(|id| moving(*id, Some(State::Received), State::Validated))
        .collect();
    let outcomes = join_all(moves.iter().map(|t| store.record_transition(t, "svc"))).await;
    let (first, repeats) = outcomes.split_at(64);
    for outcome in first {
        let outcome = outcome.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        assert!(outcome.applied && outcome.seq == Some(2), "{outcome:?}");
    }
    for outcome in repeats {
        let outcome = outcome.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        assert!(
            !outcome.applied && outcome.state == State::Validated,
            "{outcome:?}"
        );
    }
    let moves: Vec<Transition> = ids
        .iter()
        .map(|id| moving(*id, Some(State::Validated), State::ModelRequested))
        .collect();
    for outcome in join_all(moves.iter().map(|t| store.record_transition(t, "svc"))).await {
        let outcome = outcome.map_err(|e| anyhow::anyhow!("{e}"))?;
        assert!(outcome.applied && outcome.seq == Some(3), "{outcome:?}");
    }
    // A move from a state the execution has left is refused.
    let stale = store
        .record_transition(
            &moving(ids[0], Some(State::Received), State::Validated),
            "svc",
        )
        .await;
    assert!(
        matches!(stale, Err(Error::IllegalTransition(_))),
        "{stale:?}"
    );
    // Each journal row carries its own execution's detail, numbered in order.
    for id in &ids {
        let (execution, journal) = store.get_execution(*id.as_uuid()).await?;
        assert_eq!(execution.state, "MODEL_REQUESTED");
        let steps: Vec<_> = journal
            .iter()
            .map(|j| (j.seq, j.to_state.as_str()))
            .collect();
        assert_eq!(
            steps,
            [(1, "RECEIVED"), (2, "VALIDATED"), (3, "MODEL_REQUESTED")]
        );
        assert_eq!(
            journal[1].detail,
            Some(json!({ "execution": id.to_string() }))
        );
    }
    one_statement(
        &db,
        "SELECT count(DISTINCT xmin::text) FROM journal WHERE seq = 2",
        "the 64 first moves are one statement",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn paths_and_single_moves_share_one_commit() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let store = store(&db).await?;
    let ids: Vec<ExecutionId> = (0..48)
        .map(|i| ExecutionId::derive("whatsapp", &format!("evt-{i}"), "reservation"))
        .collect();
    for id in &ids {
        store
            .record_transition(&moving(*id, None, State::Received), "svc")
            .await?;
    }
    // Two thirds move along a two-step path (the second step sets the
    // exception reason), the rest one step, all queued at once; a copy of
    // the first path, queued with them, waits for the next batch and is
    // refused there since the execution has left RECEIVED.
    let path = |id: ExecutionId| {
        let mut second = moving(id, Some(State::Validated), State::ModelRequested);
        second.detail = None;
        second.exception_reason = Some(format!("second step of {id}"));
        vec![moving(id, Some(State::Received), State::Validated), second]
    };
    let (pathed, single) = ids.split_at(32);
    let calls = pathed
        .iter()
        .map(|id| path(*id))
        .chain(
            single
                .iter()
                .map(|id| vec![moving(*id, Some(State::Received), State::Validated)]),
        )
        .chain([path(ids[0])])
        .collect::<Vec<_>>();
    let outcomes = join_all(
        calls
            .iter()
            .map(|p| store.record_path(p, "svc", Repeat::Answer)),
    )
    .await;
    for (call, outcome) in calls.iter().zip(&outcomes).take(48) {
        let outcome = outcome.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        let expected: Vec<_> = call
            .iter()
            .zip(2..)
            .map(|(t, seq)| (t.to, Some(seq)))
            .collect();
        let got: Vec<_> = outcome.iter().map(|o| (o.state, o.seq)).collect();
        assert_eq!(got, expected);
        assert!(outcome.iter().all(|o| o.applied));
    }
    let repeat = outcomes.last().map(Result::as_ref);
    assert!(
        matches!(repeat, Some(Err(Error::IllegalTransition(_)))),
        "{repeat:?}"
    );
    for id in pathed {
        let (execution, journal) = store.get_execution(*id.as_uuid()).await?;
        assert_eq!(execution.state, "MODEL_REQUESTED");
        assert_eq!(
            execution.exception_reason,
            Some(format!("second step of {id}"))
        );
        let steps: Vec<_> = journal
            .iter()
            .map(|j| {
                (
                    j.seq,
                    j.from_state.as_deref(),
                    j.to_state.as_str(),
                    j.detail.clone(),
                )
            })
            .collect();
        let detail = Some(json!({ "execution": id.to_string() }));
        assert_eq!(
            steps,
            [
                (1, None, "RECEIVED", detail.clone()),
                (2, Some("RECEIVED"), "VALIDATED", detail),
                (3, Some("VALIDATED"), "MODEL_REQUESTED", None),
            ]
        );
    }
    one_statement(
        &db,
        "SELECT count(DISTINCT xmin::text) FROM journal WHERE seq > 1",
        "the 32 paths and 16 single moves are one statement",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_path_refusing_repeats_leaves_a_decision_made_elsewhere_alone() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let store = store(&db).await?;
    let id = ExecutionId::derive("whatsapp", "evt-decided", "reservation");
    store
        .record_transition(&moving(id, None, State::Received), "svc")
        .await?;
    // Another caller made the first move on its own.
    store
        .record_transition(&moving(id, Some(State::Received), State::Validated), "svc")
        .await?;
    let path = [
        moving(id, Some(State::Received), State::Validated),
        moving(id, Some(State::Validated), State::ModelRequested),
    ];
    let refused = store.record_path(&path, "svc", Repeat::Refuse).await;
    assert!(
        matches!(refused, Err(Error::IllegalTransition(_))),
        "{refused:?}"
    );
    let (execution, journal) = store.get_execution(*id.as_uuid()).await?;
    assert_eq!(execution.state, "VALIDATED");
    assert_eq!(journal.len(), 2);
    // Answered as a redelivery instead, the path carries it on.
    let outcomes = store.record_path(&path, "svc", Repeat::Answer).await?;
    assert_eq!(
        outcomes.iter().map(|o| o.applied).collect::<Vec<_>>(),
        [false, true]
    );
    assert_eq!(
        store.get_execution(*id.as_uuid()).await?.0.state,
        "MODEL_REQUESTED"
    );
    Ok(())
}

#[tokio::test]
async fn completions_carry_their_moves_in_their_own_transaction() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let store = store(&db).await?;
    let ids: Vec<ExecutionId> = (0..32)
        .map(|i| ExecutionId::derive("whatsapp", &format!("evt-{i}"), "reservation"))
        .collect();
    let keys: Vec<String> = (0..32).map(|i| format!("confirm-{i}")).collect();
    for (id, key) in ids.iter().zip(&keys) {
        store
            .record_path(
                &[
                    moving(*id, None, State::Received),
                    moving(*id, Some(State::Received), State::Validated),
                ],
                "svc",
                Repeat::Answer,
            )
            .await?;
        let mut req = claim(key, "notifier");
        req.lease = std::time::Duration::from_secs(60);
        req.execution_id = Some(*id);
        store.begin(&req, "svc").await?;
    }
    // A quarter of the executions moved on elsewhere meanwhile: their
    // completions stand, their moves are not made.
    let (stale, _) = ids.split_at(8);
    for id in stale {
        store
            .record_transition(
                &moving(*id, Some(State::Validated), State::ModelRequested),
                "elsewhere",
            )
            .await?;
    }
    let along = |id: ExecutionId| {
        vec![
            moving(id, Some(State::Validated), State::ModelRequested),
            moving(id, Some(State::ModelRequested), State::ModelCompleted),
        ]
    };
    let paths: Vec<Vec<Transition>> = ids.iter().map(|id| along(*id)).collect();
    let answers = join_all(keys.iter().zip(&paths).map(|(key, path)| {
        store.complete_and_move(key, 1, Some(json!({ "sent": key })), path, "svc")
    }))
    .await;
    for (i, answer) in answers.into_iter().enumerate() {
        let moved = answer.map_err(|e| anyhow::anyhow!("{e}"))?;
        assert_eq!(moved, i >= 8, "execution {i}");
    }
    for (i, (id, key)) in ids.iter().zip(&keys).enumerate() {
        assert_eq!(store.get_key(key).await?.state, "completed");
        let (execution, journal) = store.get_execution(*id.as_uuid()).await?;
        let expected = if i < 8 {
            "MODEL_REQUESTED"
        } else {
            "MODEL_COMPLETED"
        };
        assert_eq!(execution.state, expected);
        assert_eq!(journal.len(), if i < 8 { 3 } else { 4 });
    }
    one_statement(
        &db,
        "SELECT count(DISTINCT x) FROM (
           SELECT xmin::text AS x FROM idempotency_keys
           UNION ALL SELECT xmin::text FROM journal WHERE actor = 'svc' AND seq > 2) AS written",
        "the 32 completions and the 24 paths that could move are one transaction",
    )
    .await?;
    // A repeated completion (a retry after a lost answer) is answered OK,
    // and its moves are not made twice.
    let again = store
        .complete_and_move(
            &keys[20],
            1,
            Some(json!({ "sent": keys[20] })),
            &paths[20],
            "svc",
        )
        .await?;
    assert!(!again);
    assert_eq!(store.get_execution(*ids[20].as_uuid()).await?.1.len(), 4);
    // Moves that are not a chain of one existing execution are refused
    // before anything is written.
    let created = [moving(ids[0], None, State::Received)];
    let refused = store
        .complete_and_move(&keys[0], 1, None, &created, "svc")
        .await;
    assert!(
        matches!(refused, Err(Error::InvalidArgument(_))),
        "{refused:?}"
    );
    Ok(())
}
