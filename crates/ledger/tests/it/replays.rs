//! Governed replays and discards: resumable generations, the max-replay
//! guard, and audit rows that carry the authenticated identity.

use sluice_ledger::{BeginReplay, DeadLetterStatus, LedgerClient, ReplayOutcome};
use sluice_testkit::TestDb;
use tonic::Code;

use crate::code;
use crate::ops::{SRE, dead_letter, secured};

fn replay(id: i64, batch: &str, max_replays: u32) -> BeginReplay {
    BeginReplay {
        id,
        reason: "booking service fixed (INC-42)".into(),
        batch_id: batch.into(),
        max_replays,
    }
}

async fn refused(sre: &LedgerClient, req: &BeginReplay) -> Option<Code> {
    sre.begin_replay(req).await.err().as_ref().and_then(code)
}

#[tokio::test]
async fn a_batch_keeps_its_generation_and_the_guard_holds() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let id = ledger
        .client
        .record_dead_letter(&dead_letter(3))
        .await?
        .dead_letter
        .id;
    let sre = ledger.client(Some(SRE))?;

    let first = sre.begin_replay(&replay(id, "batch-a", 2)).await?;
    assert_eq!((first.generation, first.resumed), (1, false));
    assert_eq!(first.generation_label(), "replay:1");
    assert_eq!(first.dead_letter.subject, "sluice.work.execute.reservation");
    // Interrupted and resumed with the same batch id: the same generation,
    // so the republish carries the same Msg-Id.
    let resumed = sre.begin_replay(&replay(id, "batch-a", 2)).await?;
    assert_eq!((resumed.generation, resumed.resumed), (1, true));
    assert_eq!(resumed.outcome, None);

    let done = sre
        .complete_replay(id, "batch-a", ReplayOutcome::Published, "seq 99")
        .await?;
    assert!(done.applied);
    assert_eq!(done.dead_letter.status, DeadLetterStatus::Replayed);
    let again = sre
        .complete_replay(id, "batch-a", ReplayOutcome::Failed, "late error")
        .await?;
    assert!(!again.applied, "published is final");
    let resumed = sre.begin_replay(&replay(id, "batch-a", 2)).await?;
    assert_eq!(resumed.outcome, Some(ReplayOutcome::Published));

    // A new batch is a new pass: the next generation, until the guard.
    let second = sre.begin_replay(&replay(id, "batch-b", 2)).await?;
    assert_eq!(second.generation, 2);
    let guard = refused(&sre, &replay(id, "batch-c", 2)).await;
    assert_eq!(guard, Some(Code::FailedPrecondition));
    // Resuming a batch that already holds a generation is not a new replay.
    assert_eq!(
        sre.begin_replay(&replay(id, "batch-b", 2))
            .await?
            .generation,
        2
    );

    let unknown = sre
        .complete_replay(id, "batch-z", ReplayOutcome::Published, "")
        .await
        .err();
    assert_eq!(
        unknown.as_ref().and_then(code),
        Some(Code::FailedPrecondition)
    );
    let missing = refused(&sre, &replay(id + 100, "batch-a", 2)).await;
    assert_eq!(missing, Some(Code::NotFound));
    Ok(())
}

#[tokio::test]
async fn discarded_entries_are_never_replayed() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let id = ledger
        .client
        .record_dead_letter(&dead_letter(4))
        .await?
        .dead_letter
        .id;
    let sre = ledger.client(Some(SRE))?;
    let discarded = sre.discard_dead_letter(id, "customer cancelled").await?;
    assert!(discarded.applied);
    assert_eq!(discarded.dead_letter.status, DeadLetterStatus::Discarded);
    assert!(!sre.discard_dead_letter(id, "again").await?.applied);
    let refusal = refused(&sre, &replay(id, "batch-a", 0)).await;
    assert_eq!(refusal, Some(Code::FailedPrecondition));
    Ok(())
}

#[tokio::test]
async fn audit_rows_carry_the_authenticated_identity_and_a_reason() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let id = ledger
        .client
        .record_dead_letter(&dead_letter(5))
        .await?
        .dead_letter
        .id;
    let sre = ledger.client(Some(SRE))?;

    let no_reason = BeginReplay {
        reason: "  ".into(),
        ..replay(id, "batch-a", 0)
    };
    assert_eq!(refused(&sre, &no_reason).await, Some(Code::InvalidArgument));
    let err = sre.discard_dead_letter(id, "").await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));

    sre.begin_replay(&replay(id, "batch-a", 0)).await?;
    sre.complete_replay(id, "batch-a", ReplayOutcome::Published, "seq 12")
        .await?;
    sre.discard_dead_letter(id, "replayed by hand").await?;
    let (entry, audit) = sre.get_dead_letter(id).await?;
    assert_eq!(entry.replay_count, 1);
    let rows: Vec<_> = audit
        .iter()
        .map(|a| {
            (
                a.actor.as_str(),
                a.role.as_str(),
                a.action.as_str(),
                a.result.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("bob", "sre", "dlq.replay.begin", "replay:1"),
            ("bob", "sre", "dlq.replay.complete", "replay:1 published"),
            ("bob", "sre", "dlq.discard", "DISCARDED"),
        ]
    );
    assert_eq!(audit[0].reason, "booking service fixed (INC-42)");
    assert_eq!(audit[1].reason, "booking service fixed (INC-42)");
    assert_eq!(audit[2].reason, "replayed by hand");
    assert!(audit.windows(2).all(|w| w[0].at <= w[1].at));
    Ok(())
}
