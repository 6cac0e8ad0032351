//! Databases created for one run and dropped after it.

use anyhow::Context as _;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

/// Fresh databases on one server.
pub struct Databases {
    admin: PgConnectOptions,
    names: Vec<String>,
}

impl Databases {
    /// Creates `names` on the server of `url`.
    pub async fn create(url: &str, names: &[String]) -> anyhow::Result<Self> {
        let admin: PgConnectOptions = url.parse().context("invalid database URL")?;
        let mut conn = admin
            .connect()
            .await
            .with_context(|| format!("cannot reach Postgres at {url}: run scripts/dev-up.sh"))?;
        for name in names {
            // Generated names ([a-z0-9_]), checked so they cannot leave the quotes.
            sluice_core::error::validate_name("database", name)?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .with_context(|| format!("creating database {name}"))?;
        }
        conn.close().await.ok();
        Ok(Self {
            admin,
            names: names.to_vec(),
        })
    }

    /// A URL of the `i`-th database.
    pub fn url(&self, i: usize) -> anyhow::Result<String> {
        let name = self.names.get(i).context("no such database")?;
        Ok(self.admin.clone().database(name).to_url_lossy().to_string())
    }

    /// Drops every database, closing what is still connected.
    pub async fn drop_all(&self) -> anyhow::Result<()> {
        let mut conn = self.admin.connect().await?;
        for name in &self.names {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await?;
        }
        conn.close().await.ok();
        Ok(())
    }
}
