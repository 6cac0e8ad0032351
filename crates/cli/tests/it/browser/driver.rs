//! Headless Chromium driven over WebDriver (chromedriver, fantoccini), and
//! a whole stack with the review console and one ledger token per role.
//!
//! Chromium and chromedriver come from Debian (`scripts/install-browser.sh`
//! installs them; `SLUICE_CHROMIUM` and `SLUICE_CHROMEDRIVER` point
//! elsewhere). Each test gets its own chromedriver on a free port and its
//! own empty profile. Screenshots go to `<target>/tmp/screenshots/`, never
//! into the repository.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use sluice_ledger::{ClientOptions, LedgerClient};
use sluice_testkit::TestNats;
use sluice_testkit::eventually::{check, eventually};

use crate::stack::{Env, repo};

pub const SERVICE: &str = "browser-service-token-000001";
pub const REVIEWER: &str = "browser-reviewer-token-00001";
pub const SRE: &str = "browser-sre-token-0000000001";
pub const ADMIN: &str = "browser-admin-token-00000001";

/// A stack whose ledger requires tokens, with the console on a free port.
pub async fn stack() -> anyhow::Result<Env> {
    let tokens = format!(
        "{SERVICE}=service:sluice-dev,{REVIEWER}=reviewer:alice,{SRE}=sre:bob,{ADMIN}=admin:root"
    );
    let tokens = tokens.parse()?;
    Env::start_with(
        TestNats::new().await?,
        Duration::from_secs(60),
        repo("workflows"),
        |options| {
            options.ledger_tokens = tokens;
            options.console_listen = Some(([127, 0, 0, 1], 0).into());
        },
    )
    .await
}

/// A ledger client of `env` carrying `token`.
pub fn ledger(env: &Env, token: &str) -> anyhow::Result<LedgerClient> {
    let mut options = ClientOptions::new(format!("http://{}", env.stack.ledger));
    options.token = Some(token.to_owned());
    Ok(LedgerClient::connect(options)?)
}

/// The chromedriver process, stopped with the test.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One browser, signed in or not, on the console of a stack.
pub struct Browser {
    pub client: Client,
    base: String,
    test: String,
    _driver: Driver,
    profile: PathBuf,
}

#[allow(clippy::disallowed_methods)] // where the browser is, as the testkit reads where the broker is
fn program(var: &str, default: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    anyhow::ensure!(
        path.is_file(),
        "{} not found: run scripts/install-browser.sh (Debian chromium and chromium-driver) or set {var}",
        path.display()
    );
    Ok(path)
}

impl Browser {
    /// Starts chromedriver and a headless Chromium on `env`'s console;
    /// `test` names the screenshots.
    pub async fn open(env: &Env, test: &str) -> anyhow::Result<Self> {
        let chromium = program("SLUICE_CHROMIUM", "/usr/bin/chromium")?;
        let chromedriver = program("SLUICE_CHROMEDRIVER", "/usr/bin/chromedriver")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Driver)
            .context("starting chromedriver")?;
        let profile = std::env::temp_dir().join(format!(
            "sluice-chromium-{}",
            sluice_testkit::unique_token()
        ));
        // What a root sandbox needs, and no calls home: the machine's
        // network is closed and Chromium's background fetches only fail.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,2000",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal");
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = eventually("chromedriver answers", Duration::from_secs(20), || async {
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await?;
        let console = env.stack.console.context("the stack has no console")?;
        Ok(Self {
            client,
            base: format!("http://{console}"),
            test: test.to_owned(),
            _driver: driver,
            profile,
        })
    }

    /// Opens `path` of the console.
    pub async fn goto(&self, path: &str) -> anyhow::Result<()> {
        Ok(self.client.goto(&format!("{}{path}", self.base)).await?)
    }

    /// The path of the current page.
    pub async fn path(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.path().to_owned())
    }

    /// Signs in with `token` through the sign-in form.
    pub async fn sign_in(&self, token: &str) -> anyhow::Result<()> {
        self.goto("/sign-in").await?;
        self.fill("#token", token).await?;
        self.click("form[action='/sign-in'] button[type=submit]")
            .await?;
        let signed_in = eventually("signed in", Duration::from_secs(10), || async {
            let path = self.path().await?;
            check(path == "/reviews", || format!("on {path}"))
        })
        .await;
        if signed_in.is_err() {
            self.screenshot("sign-in-failed").await?;
        }
        signed_in
    }

    /// Replaces the value of the field `css` with `text`, typing it.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let field = self.find(css).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Follows the link or submits the form of the element `css` (waiting
    /// for it to appear), then waits until the next page has replaced this
    /// one: an element found before then would belong to the old page.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let old = self.client.find(Locator::Css("html")).await?;
        self.find(css).await?.click().await?;
        eventually("the next page", Duration::from_secs(10), || async {
            // A stale element: the document it belonged to is gone.
            check(old.tag_name().await.is_err(), || {
                "still on the old page".to_owned()
            })
        })
        .await
    }

    /// The element `css`, waiting up to ten seconds for it.
    pub async fn find(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        eventually(
            &format!("{css} on the page"),
            Duration::from_secs(10),
            || async { Ok(self.client.find(Locator::Css(css)).await?) },
        )
        .await
    }

    /// How many elements match `css` on the current page (no waiting).
    pub async fn count(&self, css: &str) -> anyhow::Result<usize> {
        Ok(self.client.find_all(Locator::Css(css)).await?.len())
    }

    /// The visible text of the page's `<main>`.
    pub async fn text(&self) -> anyhow::Result<String> {
        Ok(self.client.find(Locator::Css("main")).await?.text().await?)
    }

    /// Waits until the page's `<main>` (reloaded each time) contains `text`.
    pub async fn reload_until(&self, text: &str) -> anyhow::Result<String> {
        eventually(
            &format!("{text:?} on the page"),
            Duration::from_secs(30),
            || async {
                self.client.refresh().await?;
                let shown = self.text().await?;
                check(shown.contains(text), || shown.clone())?;
                Ok(shown)
            },
        )
        .await
    }

    /// Saves a screenshot of the current page as `<test>-<name>.png`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}-{name}.png", self.test));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    /// Ends the browser session and removes its profile.
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await?;
        std::fs::remove_dir_all(&self.profile).ok();
        Ok(())
    }
}
