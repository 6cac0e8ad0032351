//! A fresh Postgres database per test.

use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgPool};

/// The server used by tests unless `SLUICE_TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test and dropped (with any connections still
/// open) when this value is dropped.
pub struct TestDb {
    /// The database's name.
    pub name: String,
    /// A URL that connects to it.
    pub url: String,
    admin: PgConnectOptions,
}

impl TestDb {
    /// Creates an empty database with a unique name.
    pub async fn new() -> anyhow::Result<Self> {
        let admin_url =
            std::env::var("SLUICE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let admin: PgConnectOptions = admin_url
            .parse()
            .with_context(|| format!("invalid SLUICE_TEST_DATABASE_URL {admin_url:?}"))?;
        let name = format!("sluice_{}", crate::unique_token());
        let mut conn = admin.connect().await.with_context(|| {
            format!("cannot reach Postgres at {admin_url}: run scripts/dev-up.sh")
        })?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating test database {name}"))?;
        conn.close().await.ok();
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Ok(Self { name, url, admin })
    }

    /// A small pool on the test database.
    pub async fn pool(&self) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(8)
            .connect(&self.url)
            .await?)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on, so
        // the drop happens on a thread with its own small runtime; joining it
        // means the database is gone before the test reports.
        let admin = self.admin.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let mut conn = admin.connect().await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if let Ok(Err(err)) = dropped {
            tracing::warn!(error = %err, db = %self.name, "could not drop test database");
        }
    }
}
