//! An in-process ledger server on an ephemeral port.

use std::net::SocketAddr;

use sluice_ledger::{ClientOptions, Ledger, LedgerClient, Options, TokenTable};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TestDb;

/// A real ledger (`sluice_ledger::Ledger::serve`) on `127.0.0.1:<ephemeral>`,
/// with migrations applied, stopped when dropped. Several may share one
/// [`TestDb`], like replicas sharing one Postgres.
pub struct TestLedger {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A client connected to it (with the first token, if any).
    pub client: LedgerClient,
    shutdown: CancellationToken,
    task: Option<JoinHandle<sluice_ledger::Result<()>>>,
}

impl TestLedger {
    /// Starts a ledger in insecure dev mode (no tokens, no TLS).
    pub async fn start(db: &TestDb) -> anyhow::Result<Self> {
        Self::start_with(db, TokenTable::default(), None).await
    }

    /// Starts a ledger that accepts only `tokens`; its `client` sends
    /// `client_token`.
    pub async fn start_with(
        db: &TestDb,
        tokens: TokenTable,
        client_token: Option<&str>,
    ) -> anyhow::Result<Self> {
        Self::start_configured(db, client_token, |options| options.tokens = tokens).await
    }

    /// Starts a ledger with the test defaults changed by `configure` (a
    /// short key retention, tokens…); its `client` sends `client_token`.
    pub async fn start_configured(
        db: &TestDb,
        client_token: Option<&str>,
        configure: impl FnOnce(&mut Options),
    ) -> anyhow::Result<Self> {
        let mut options = Options::new(db.url.clone());
        options.migrate_on_start = true;
        options.max_connections = 20;
        options.shutdown_grace = std::time::Duration::from_secs(1);
        configure(&mut options);
        let listener = sluice_ledger::bind("127.0.0.1:0".parse()?).await?;
        let addr = listener.local_addr()?;
        let ledger = Ledger::new(options).await?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(ledger.serve(listener, shutdown.clone()));
        let client = Self::client_for(addr, client_token)?;
        Ok(Self {
            addr,
            client,
            shutdown,
            task: Some(task),
        })
    }

    /// Another client of this ledger, sending `token` if given.
    pub fn client(&self, token: Option<&str>) -> anyhow::Result<LedgerClient> {
        Self::client_for(self.addr, token)
    }

    fn client_for(addr: SocketAddr, token: Option<&str>) -> anyhow::Result<LedgerClient> {
        let mut options = ClientOptions::new(format!("http://{addr}"));
        options.token = token.map(str::to_owned);
        Ok(LedgerClient::connect(options)?)
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for TestLedger {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
