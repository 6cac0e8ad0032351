//! The append-only audit trail of operator acts. Rows are written inside the
//! act's own transaction, so an act and its audit row commit together.

use serde_json::Value;
use sqlx::PgConnection;

use super::Store;
use crate::auth::Identity;
use crate::error::Result;
use crate::types::AuditRecord;

/// What an audited act was done to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// A dead letter, by id.
    DeadLetter(i64),
    /// A review item, by id.
    ReviewItem(i64),
    /// A kill switch, by key.
    Switch(&'a str),
    /// An execution, by id.
    Execution(uuid::Uuid),
}

impl Subject<'_> {
    fn kind(self) -> &'static str {
        match self {
            Subject::DeadLetter(_) => "dead_letter",
            Subject::ReviewItem(_) => "review_item",
            Subject::Switch(_) => "switch",
            Subject::Execution(_) => "execution",
        }
    }

    fn id(self) -> String {
        match self {
            Subject::DeadLetter(id) | Subject::ReviewItem(id) => id.to_string(),
            Subject::Switch(key) => key.to_owned(),
            Subject::Execution(id) => id.to_string(),
        }
    }
}

/// One audit row to append.
#[derive(Debug)]
pub(crate) struct Act<'a> {
    /// Who, from the authenticated identity.
    pub who: &'a Identity,
    /// What (`dlq.discard`, `review.approve`, ...).
    pub action: &'a str,
    /// To what.
    pub subject: Subject<'a>,
    /// Why.
    pub reason: &'a str,
    /// The result.
    pub result: &'a str,
    /// More detail.
    pub detail: Option<Value>,
}

/// Appends one audit row on `conn` (the act's transaction).
pub(crate) async fn append(conn: &mut PgConnection, act: Act<'_>) -> Result<()> {
    append_returning(conn, act).await.map(drop)
}

/// Appends one audit row on `conn` and returns it as stored.
pub(crate) async fn append_returning(conn: &mut PgConnection, act: Act<'_>) -> Result<AuditRecord> {
    Ok(sqlx::query_as!(
        AuditRecord,
        r#"INSERT INTO audit_log (actor, role, action, subject_kind, subject_id, reason,
                                  result, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           RETURNING id, at, actor, role, action, subject_kind, subject_id, reason, result,
                     detail"#,
        act.who.name,
        act.who.role.as_str(),
        act.action,
        act.subject.kind(),
        act.subject.id(),
        act.reason,
        act.result,
        act.detail
    )
    .fetch_one(conn)
    .await?)
}

impl Store {
    /// The audit trail of one dead letter, oldest first.
    pub async fn dead_letter_audit(&self, id: i64) -> Result<Vec<AuditRecord>> {
        self.audit_trail(Subject::DeadLetter(id)).await
    }

    /// The audit trail of one review item, oldest first.
    pub async fn review_item_audit(&self, id: i64) -> Result<Vec<AuditRecord>> {
        self.audit_trail(Subject::ReviewItem(id)).await
    }

    /// The audit trail of one execution (erasures), oldest first.
    pub async fn execution_audit(&self, id: uuid::Uuid) -> Result<Vec<AuditRecord>> {
        self.audit_trail(Subject::Execution(id)).await
    }

    async fn audit_trail(&self, subject: Subject<'_>) -> Result<Vec<AuditRecord>> {
        self.list_audit(subject.kind(), &subject.id(), i64::MAX)
            .await
    }

    /// The last `limit` audit records of any subject, oldest first.
    pub async fn list_audit(&self, kind: &str, id: &str, limit: i64) -> Result<Vec<AuditRecord>> {
        let mut records = sqlx::query_as!(
            AuditRecord,
            r#"SELECT id, at, actor, role, action, subject_kind, subject_id, reason, result, detail
               FROM audit_log WHERE subject_kind = $1 AND subject_id = $2
               ORDER BY id DESC LIMIT $3"#,
            kind,
            id,
            limit
        )
        .fetch_all(self.pool())
        .await?;
        records.reverse();
        Ok(records)
    }
}
