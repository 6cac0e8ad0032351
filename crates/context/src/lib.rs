//! Context lookups: what a workflow's `[[context]]` providers say about the
//! request, fetched before the decision that needs them.
//!
//! Each provider is asked with a time limit and retries. Answers are kept
//! per request (the rendered URL, or the query and its parameters): one
//! younger than `fresh_for_s` is used without asking; when the provider
//! cannot answer, one up to `max_stale_s` old is used and marked stale;
//! otherwise the provider is *unavailable* and the rules send the execution
//! to a person rather than act on what could not be checked. Every lookup
//! is recorded with the decision (`GateDecision::context`): what came back,
//! from where (a URL without its query, or `postgres:<name>`: never
//! credentials or the request's personal data) and how old it was.
//!
//! Providers are asked at one stage (`[[context]] stage`): the gate, over
//! the validated contract, before its rules; or the interpreter, over the
//! event's payload, before the model, which is shown the answers as data.
//!
//! The cache is per replica and in memory: a replica that restarts asks
//! again, which is the safe direction.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable as _};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sluice_core::error::root_cause;
use sluice_core::metrics::CONTEXT_LOOKUPS;
use sluice_core::pipeline::ContextUse;
use sluice_core::template::{render_with, scalar};
use sluice_core::workflow::{ContextKind, ContextSpec, ContextStage};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// A context provider that cannot be set up.
#[derive(Debug, thiserror::Error)]
#[error("context {context}: {reason}")]
pub struct Error {
    /// The provider's name.
    pub context: String,
    /// What is wrong, on one line.
    pub reason: String,
}

/// Entries kept at most; past it the oldest half is dropped.
const MAX_ENTRIES: usize = 10_000;

/// Every workflow's context providers.
#[derive(Debug)]
pub struct Contexts {
    providers: BTreeMap<String, Vec<Provider>>,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Provider {
    spec: ContextSpec,
    target: Target,
}

#[derive(Debug)]
enum Target {
    Http { url: String },
    Postgres { pool: PgPool },
}

#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    fetched_at: DateTime<Utc>,
    fetched: Instant,
}

impl Contexts {
    /// The providers of `specs` (workflow name → its `[[context]]`) asked
    /// at `stage`, with the deployment's URL (`urls`) and database
    /// (`databases`) overrides by provider name. A postgres provider
    /// without a database is refused.
    pub fn new<'a>(
        stage: ContextStage,
        specs: impl IntoIterator<Item = (&'a str, &'a [ContextSpec])>,
        urls: &BTreeMap<String, String>,
        databases: &BTreeMap<String, String>,
    ) -> Result<Self, Error> {
        let mut providers = BTreeMap::new();
        for (workflow, contexts) in specs {
            let mut list = Vec::new();
            for spec in contexts.iter().filter(|c| c.stage == stage) {
                let target = match spec.kind {
                    ContextKind::Http => Target::Http {
                        url: urls
                            .get(&spec.name)
                            .or(spec.url.as_ref())
                            .cloned()
                            .unwrap_or_default(),
                    },
                    ContextKind::Postgres => {
                        let url = databases.get(&spec.name).ok_or_else(|| Error {
                            context: spec.name.clone(),
                            reason: format!(
                                "no database: set SLUICE_CONTEXT_DATABASES__{}",
                                spec.name.to_ascii_uppercase().replace('-', "_")
                            ),
                        })?;
                        let pool = PgPoolOptions::new()
                            .max_connections(4)
                            .acquire_timeout(Duration::from_millis(spec.timeout_ms))
                            .connect_lazy(url)
                            .map_err(|e| Error {
                                context: spec.name.clone(),
                                reason: format!("database URL: {e}"),
                            })?;
                        Target::Postgres { pool }
                    }
                };
                list.push(Provider {
                    spec: spec.clone(),
                    target,
                });
            }
            providers.insert(workflow.to_owned(), list);
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error {
                context: "http".into(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            providers,
            http,
            cache: Mutex::default(),
        })
    }

    /// Whether `workflow` declares any provider.
    pub fn declared(&self, workflow: &str) -> bool {
        self.providers.get(workflow).is_some_and(|p| !p.is_empty())
    }

    /// Asks every provider of `workflow` about `fields` (the contract at the
    /// gate, the event's payload at the interpreter), in declaration order:
    /// each answer as it is recorded with the decision.
    pub async fn gather(&self, workflow: &str, contract: &Value) -> Vec<ContextUse> {
        let empty = Map::new();
        let fields = contract.as_object().unwrap_or(&empty);
        let mut uses = Vec::new();
        for provider in self.providers.get(workflow).into_iter().flatten() {
            let used = self.lookup(provider, fields).await;
            let result = match (&used.value, used.cached, used.stale) {
                (None, _, _) => "unavailable",
                (Some(_), _, true) => "stale",
                (Some(_), true, _) => "cached",
                (Some(_), false, false) => "fetched",
            };
            metrics::counter!(CONTEXT_LOOKUPS.name,
                "workflow" => workflow.to_owned(), "context" => provider.spec.name.clone(),
                "result" => result)
            .increment(1);
            if used.value.is_none() {
                tracing::warn!(context = %provider.spec.name, error = ?used.error,
                    "context unavailable: the execution goes to review");
            }
            uses.push(used);
        }
        uses
    }

    /// One provider's answer for `fields`, as recorded: `value` is set
    /// when there is one to use (fresh, cached or stale), `error` says why
    /// the provider did not answer.
    async fn lookup(&self, provider: &Provider, fields: &Map<String, Value>) -> ContextUse {
        let spec = &provider.spec;
        let mut used = ContextUse {
            name: spec.name.clone(),
            from: provider.target.from(&spec.name),
            fetched_at: None,
            age_s: None,
            cached: false,
            stale: false,
            value: None,
            error: None,
        };
        let request = match provider.request(fields) {
            Ok(request) => request,
            Err(missing) => {
                used.error = Some(format!("the request has no {missing}"));
                return used;
            }
        };
        let key = format!("{}\n{}", spec.name, request.key());
        let cached = self.cached(&key);
        if let Some(entry) = &cached
            && entry.fetched.elapsed() < Duration::from_secs(spec.fresh_for_s)
        {
            used.cached = true;
            return answered(used, entry);
        }
        match self.fetch(provider, &request).await {
            Ok(value) => {
                let entry = Entry {
                    value,
                    fetched_at: Utc::now(),
                    fetched: Instant::now(),
                };
                let used = answered(used, &entry);
                self.store(key, entry);
                used
            }
            Err(reason) => {
                used.error = Some(reason);
                match cached {
                    Some(entry)
                        if entry.fetched.elapsed() <= Duration::from_secs(spec.max_stale_s) =>
                    {
                        used.stale = true;
                        answered(used, &entry)
                    }
                    _ => used,
                }
            }
        }
    }

    async fn fetch(&self, provider: &Provider, request: &Request) -> Result<Value, String> {
        let spec = &provider.spec;
        let limit = Duration::from_millis(spec.timeout_ms);
        let attempt = || async {
            let asked = async {
                match (&provider.target, request) {
                    (Target::Http { .. }, Request::Url(url)) => self.get(url).await,
                    (Target::Postgres { pool }, Request::Query(query, params)) => {
                        read(pool, query, params).await
                    }
                    _ => Err("the request does not fit the provider".to_owned()),
                }
            };
            tokio::time::timeout(limit, asked)
                .await
                .map_err(|_| format!("no answer within {} ms", spec.timeout_ms))?
        };
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(50))
                    .with_max_delay(Duration::from_millis(500))
                    .with_max_times(spec.retries as usize)
                    .with_jitter(),
            )
            .await
    }

    async fn get(&self, url: &str) -> Result<Value, String> {
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("request failed: {}", root_cause(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("answered {status}"));
        }
        let value: Value = response
            .json()
            .await
            .map_err(|e| format!("answer is not JSON: {e}"))?;
        if !value.is_object() {
            return Err("answer is not a JSON object".to_owned());
        }
        Ok(value)
    }

    fn cached(&self, key: &str) -> Option<Entry> {
        self.cache.lock().ok()?.get(key).cloned()
    }

    fn store(&self, key: String, entry: Entry) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= MAX_ENTRIES {
            let mut ages: Vec<Instant> = cache.values().map(|e| e.fetched).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            cache.retain(|_, e| e.fetched >= cut);
        }
        cache.insert(key, entry);
    }
}

/// `used`, answered by `entry`.
fn answered(mut used: ContextUse, entry: &Entry) -> ContextUse {
    used.fetched_at = Some(entry.fetched_at);
    used.age_s = Some(entry.fetched.elapsed().as_secs());
    used.value = Some(entry.value.clone());
    used
}

/// One lookup, rendered.
#[derive(Debug)]
enum Request {
    Url(String),
    Query(String, Vec<String>),
}

impl Request {
    fn key(&self) -> String {
        match self {
            Request::Url(url) => url.clone(),
            Request::Query(query, params) => format!("{query}\n{}", params.join("\n")),
        }
    }
}

impl Provider {
    /// The lookup for `fields`; `Err(field)` names a field it needs that the
    /// contract lacks.
    fn request(&self, fields: &Map<String, Value>) -> Result<Request, String> {
        match &self.target {
            Target::Http { url } => fill(url, fields, true).map(Request::Url),
            Target::Postgres { .. } => {
                let query = self.spec.query.clone().unwrap_or_default();
                let params = self
                    .spec
                    .params
                    .iter()
                    .map(|t| fill(t, fields, false))
                    .collect::<Result<_, _>>()?;
                Ok(Request::Query(query, params))
            }
        }
    }
}

/// `template` over the contract's scalar fields (percent-encoded for a
/// URL); `Err` names the first field it needs that the contract lacks.
fn fill(template: &str, fields: &Map<String, Value>, encode: bool) -> Result<String, String> {
    let mut missing = None;
    let rendered = render_with(template, |name| {
        let value = fields.get(name).and_then(scalar);
        if value.is_none() && missing.is_none() {
            missing = Some(name.to_owned());
        }
        value.map(|v| {
            if encode {
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
            } else {
                v
            }
        })
    });
    rendered.map_err(|e| missing.unwrap_or_else(|| e.to_string()))
}

impl Target {
    /// Where answers come from, as recorded: never the query string (it
    /// holds the request's values) nor credentials.
    fn from(&self, name: &str) -> String {
        match self {
            Target::Http { url } => {
                let base = url.split(['?', '#']).next().unwrap_or_default();
                match url::Url::parse(base) {
                    Ok(parsed) => {
                        format!(
                            "{}://{}{}",
                            parsed.scheme(),
                            parsed.host_str().unwrap_or_default(),
                            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
                        ) + parsed.path()
                    }
                    Err(_) => "http".to_owned(),
                }
            }
            Target::Postgres { .. } => format!("postgres:{name}"),
        }
    }
}

/// The first row of `query` as a JSON object, read-only.
async fn read(pool: &PgPool, query: &str, params: &[String]) -> Result<Value, String> {
    let mut tx = pool.begin().await.map_err(|e| format!("database: {e}"))?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(|e| format!("database: {e}"))?;
    // The row as one jsonb value, whatever its columns' types. The query is
    // the workflow's own declaration (reviewed like code, never request
    // data: those are bound as parameters), and it runs read-only.
    let wrapped = format!("SELECT to_jsonb(t) FROM ({query}) AS t LIMIT 1");
    let mut q = sqlx::query_scalar::<_, Value>(sqlx::AssertSqlSafe(wrapped));
    for p in params {
        q = q.bind(p);
    }
    let row = q
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| format!("database: {e}"))?;
    tx.rollback().await.map_err(|e| format!("database: {e}"))?;
    Ok(row.unwrap_or_else(|| Value::Object(Map::new())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn http(url: &str) -> Provider {
        Provider {
            spec: ContextSpec {
                name: "availability".into(),
                kind: ContextKind::Http,
                stage: ContextStage::Gate,
                url: Some(url.into()),
                query: None,
                params: Vec::new(),
                timeout_ms: 100,
                retries: 0,
                fresh_for_s: 0,
                max_stale_s: 0,
            },
            target: Target::Http { url: url.into() },
        }
    }

    #[test]
    fn urls_are_rendered_encoded_and_recorded_without_their_query() {
        let p = http("http://booking:8090/availability?date={date}&time={time}&name={name}");
        let fields = json!({ "date": "2026-12-03", "time": "20:00", "name": "Ana & Bo" });
        let Ok(Request::Url(url)) = p.request(fields.as_object().unwrap_or(&Map::new())) else {
            panic!("rendered");
        };
        assert_eq!(
            url,
            "http://booking:8090/availability?date=2026-12-03&time=20%3A00&name=Ana+%26+Bo"
        );
        assert_eq!(
            p.target.from("availability"),
            "http://booking:8090/availability"
        );
        let partial = json!({ "date": "2026-12-03" });
        let missing = p.request(partial.as_object().unwrap_or(&Map::new()));
        assert_eq!(missing.err().as_deref(), Some("time"));
    }
}
