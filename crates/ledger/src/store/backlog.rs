//! Aggregates for dashboards: the open backlog, and how long a finished
//! execution took.

use uuid::Uuid;

use super::Store;
use crate::error::Result;
use crate::types::{Backlog, DeadLetterBacklog, ReviewBacklog};

impl Store {
    /// Open review items per workflow (with the oldest one's age) and open
    /// dead letters per workflow and stage; ages by the database clock.
    pub async fn backlog(&self) -> Result<Backlog> {
        let reviews = sqlx::query!(
            r#"SELECT workflow, count(*) AS "open!",
                      EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS "oldest_age_seconds!"
               FROM review_items WHERE status = 'OPEN'
               GROUP BY workflow ORDER BY workflow"#
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|r| ReviewBacklog {
            workflow: r.workflow,
            open: u64::try_from(r.open).unwrap_or(0),
            oldest_age_seconds: r.oldest_age_seconds.max(0.0),
        })
        .collect();
        let dead_letters = sqlx::query!(
            r#"SELECT workflow, stage, count(*) AS "open!"
               FROM dead_letters WHERE status = 'OPEN'
               GROUP BY workflow, stage ORDER BY workflow, stage"#
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|r| DeadLetterBacklog {
            workflow: r.workflow,
            stage: r.stage,
            open: u64::try_from(r.open).unwrap_or(0),
        })
        .collect();
        Ok(Backlog {
            reviews,
            dead_letters,
        })
    }

    /// An execution's workflow and the seconds from its receipt to its last
    /// transition (for one that has just reached a terminal state).
    pub async fn resolution(&self, execution_id: Uuid) -> Result<Option<(String, f64)>> {
        let row = sqlx::query!(
            r#"SELECT workflow,
                      EXTRACT(EPOCH FROM updated_at - received_at)::float8 AS "seconds!"
               FROM executions WHERE execution_id = $1"#,
            execution_id
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| (r.workflow, r.seconds.max(0.0))))
    }
}
