//! The `postgres` connector against a real target database: the effect and
//! its key commit together, a repeat answers what was stored, previous
//! values are kept, and a revert puts them back exactly once.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_core::FailureClass;
use sluice_executor::connector::postgres::{PgMode, PgTarget, PgTargets};
use sluice_executor::connector::{Called, Probed};
use sluice_testkit::TestDb;
use sqlx::PgPool;

const TIMEOUT: Duration = Duration::from_secs(5);

async fn crm() -> anyhow::Result<(TestDb, PgPool)> {
    let db = TestDb::new().await?;
    let pool = db.pool().await?;
    sqlx::query(
        "CREATE TABLE accounts (id text PRIMARY KEY, name text NOT NULL, industry text, employees integer)",
    )
    .execute(&pool)
    .await?;
    sqlx::query("INSERT INTO accounts VALUES ('acc-1', 'Acme', 'retail', 40)")
        .execute(&pool)
        .await?;
    sqlx::query("CREATE TABLE staging (id bigserial PRIMARY KEY, account_id text, industry text)")
        .execute(&pool)
        .await?;
    Ok((db, pool))
}

fn accounts(db: &TestDb) -> PgTarget {
    PgTarget {
        database_url: db.url.clone(),
        table: "accounts".into(),
        key_column: "id".into(),
        mode: PgMode::Update,
    }
}

async fn row(pool: &PgPool) -> anyhow::Result<Value> {
    Ok(sqlx::query_scalar(
        "SELECT jsonb_build_object('industry', industry, 'employees', employees) FROM accounts WHERE id = 'acc-1'",
    )
    .fetch_one(pool)
    .await?)
}

async fn effects(pool: &PgPool, like: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM sluice_effects WHERE key LIKE $1")
            .bind(like)
            .fetch_one(pool)
            .await?,
    )
}

fn applied(called: Called) -> sluice_executor::connector::Applied {
    match called {
        Called::Applied(a) => a,
        other => panic!("expected applied, got {other:?}"),
    }
}

#[tokio::test]
async fn one_update_per_key_with_previous_values_then_one_revert() -> anyhow::Result<()> {
    let (db, pool) = crm().await?;
    let targets = PgTargets::default();
    let target = accounts(&db);
    let body = json!({ "id": "acc-1", "industry": "logistics", "employees": "250" });

    let first = applied(
        targets
            .apply(&target, TIMEOUT, "crm:acc-1:v1:abc", &body)
            .await,
    );
    assert_eq!(first.external_id.as_deref(), Some("acc-1"));
    assert_eq!(
        first.body["previous"],
        json!({ "industry": "retail", "employees": 40 })
    );
    assert_eq!(
        first.body["applied"],
        json!({ "industry": "logistics", "employees": 250 })
    );
    // A person edits another column in between: a repeat must not write again.
    sqlx::query("UPDATE accounts SET name = 'Acme Ltd' WHERE id = 'acc-1'")
        .execute(&pool)
        .await?;
    for _ in 0..2 {
        let again = applied(
            targets
                .apply(&target, TIMEOUT, "crm:acc-1:v1:abc", &body)
                .await,
        );
        assert_eq!(again, first, "a repeat answers what was stored");
    }
    assert_eq!(effects(&pool, "crm:%").await?, 1);
    assert_eq!(
        row(&pool).await?,
        json!({ "industry": "logistics", "employees": 250 })
    );
    assert!(matches!(
        targets.probe(&target, TIMEOUT, "crm:acc-1:v1:abc").await,
        Probed::Found(found) if found == first
    ));
    assert_eq!(
        targets.probe(&target, TIMEOUT, "crm:nothing").await,
        Probed::NotFound
    );

    for _ in 0..2 {
        let reverted = applied(
            targets
                .revert(
                    &target,
                    TIMEOUT,
                    "crm:acc-1:v1:abc",
                    "crm:acc-1:v1:abc:compensate",
                )
                .await,
        );
        assert_eq!(
            reverted.body["applied"],
            json!({ "industry": "retail", "employees": 40 })
        );
    }
    assert_eq!(
        row(&pool).await?,
        json!({ "industry": "retail", "employees": 40 })
    );
    assert_eq!(effects(&pool, "%:compensate").await?, 1, "reverted once");
    let name: String = sqlx::query_scalar("SELECT name FROM accounts WHERE id = 'acc-1'")
        .fetch_one(&pool)
        .await?;
    assert_eq!(
        name, "Acme Ltd",
        "a column the effect did not write is left alone"
    );
    Ok(())
}

#[tokio::test]
async fn a_row_changed_since_the_effect_is_not_reverted() -> anyhow::Result<()> {
    let (db, pool) = crm().await?;
    let targets = PgTargets::default();
    let target = accounts(&db);
    let body = json!({ "id": "acc-1", "industry": "logistics" });
    applied(targets.apply(&target, TIMEOUT, "k1", &body).await);
    sqlx::query("UPDATE accounts SET industry = 'hand-edited' WHERE id = 'acc-1'")
        .execute(&pool)
        .await?;
    let refused = targets
        .revert(&target, TIMEOUT, "k1", "k1:compensate")
        .await;
    assert!(
        matches!(&refused, Called::Failed { class: FailureClass::Permanent, reason } if reason.contains("changed since")),
        "{refused:?}"
    );
    assert_eq!(
        effects(&pool, "%:compensate").await?,
        0,
        "the claim rolled back"
    );
    let industry: String = sqlx::query_scalar("SELECT industry FROM accounts WHERE id = 'acc-1'")
        .fetch_one(&pool)
        .await?;
    assert_eq!(industry, "hand-edited");
    Ok(())
}

#[tokio::test]
async fn a_staged_insert_happens_once_and_bad_input_is_refused() -> anyhow::Result<()> {
    let (db, pool) = crm().await?;
    let targets = PgTargets::default();
    let staging = PgTarget {
        table: "staging".into(),
        key_column: "account_id".into(),
        mode: PgMode::Insert,
        ..accounts(&db)
    };
    let body = json!({ "account_id": "acc-1", "industry": "logistics" });
    for _ in 0..3 {
        applied(targets.apply(&staging, TIMEOUT, "stage:acc-1", &body).await);
    }
    let staged: i64 = sqlx::query_scalar("SELECT count(*) FROM staging")
        .fetch_one(&pool)
        .await?;
    assert_eq!(staged, 1);

    let bad_column = json!({ "account_id": "acc-2", "industry; DROP TABLE accounts": "x" });
    let refused = targets
        .apply(&staging, TIMEOUT, "stage:acc-2", &bad_column)
        .await;
    assert!(
        matches!(
            refused,
            Called::Failed {
                class: FailureClass::Permanent,
                ..
            }
        ),
        "{refused:?}"
    );
    let missing_row = targets
        .apply(
            &accounts(&db),
            TIMEOUT,
            "k:none",
            &json!({ "id": "nobody", "industry": "x" }),
        )
        .await;
    assert!(
        matches!(
            missing_row,
            Called::Failed {
                class: FailureClass::Permanent,
                ..
            }
        ),
        "{missing_row:?}"
    );
    assert_eq!(
        effects(&pool, "k:%").await?,
        0,
        "a refused write leaves no key"
    );
    let unknown_column = targets
        .apply(
            &accounts(&db),
            TIMEOUT,
            "k:col",
            &json!({ "id": "acc-1", "nope": 1 }),
        )
        .await;
    assert!(
        matches!(
            unknown_column,
            Called::Failed {
                class: FailureClass::Permanent,
                ..
            }
        ),
        "{unknown_column:?}"
    );
    Ok(())
}
