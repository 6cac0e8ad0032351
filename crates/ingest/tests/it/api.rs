//! `GET /v1/executions/{id}`, the OpenAPI document and the rate limit.

use std::collections::BTreeSet;

use sluice_ingest::Accepted;
use sluice_ingest::http::{OPENAPI, ROUTES};

use crate::common::{self, Env, SECRET};

#[tokio::test]
async fn an_execution_is_served_with_its_journal() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let svc = &env.service;
    let id = common::webhook_id();
    let accepted: Accepted = svc
        .post(&id, &common::payload("wamid.get"), SECRET)
        .await
        .json()
        .await?;
    let execution = accepted.executions[0].execution_id;

    let response = svc
        .http
        .get(svc.url(&format!("/v1/executions/{execution}")))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let view: serde_json::Value = response.json().await?;
    assert_eq!(view["execution_id"], execution.to_string());
    assert_eq!(view["state"], "VALIDATED");
    assert_eq!(view["workflow"], "reservation");
    assert_eq!(view["event_id"], id);
    assert_eq!(view["correlation_id"], accepted.correlation_id);
    assert!(view["outcome"].is_null());
    assert_eq!(view["journal"][1]["to"], "VALIDATED");
    assert!(view["received_at"].is_string());

    let unknown = uuid::Uuid::new_v4();
    let response = svc
        .http
        .get(svc.url(&format!("/v1/executions/{unknown}")))
        .send()
        .await?;
    assert_eq!(response.status(), 404);
    let response = svc
        .http
        .get(svc.url("/v1/executions/not-a-uuid"))
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    env.finish().await
}

#[tokio::test]
async fn the_openapi_document_describes_every_served_route() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let svc = &env.service;
    let served: serde_json::Value = svc
        .http
        .get(svc.url("/v1/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    let document: serde_json::Value = serde_json::from_str(OPENAPI)?;
    assert_eq!(served, document);
    assert_eq!(document["openapi"], "3.1.0");

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routes: BTreeSet<_> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), (*p).to_owned()))
        .collect();
    assert_eq!(routes, documented);

    // Every listed route is really served: the router's fallback answers
    // `no_route`, a served route never does.
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{source}", "whatsapp")
            .replace("{id}", &uuid::Uuid::new_v4().to_string());
        let request = svc
            .http
            .request(method.clone(), svc.url(&concrete))
            .body("{}");
        let body: serde_json::Value = request.send().await?.json().await?;
        assert_ne!(body["error"], "no_route", "{method} {path} is not served");
    }
    let missing: serde_json::Value = svc
        .http
        .get(svc.url("/v1/nothing"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(missing["error"], "no_route");
    env.finish().await
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after() -> anyhow::Result<()> {
    let env = Env::with(|o| {
        o.rate_limit.per_second = 0.2;
        o.rate_limit.burst = 2;
    })
    .await?;
    let svc = &env.service;
    let body = common::payload("wamid.rl");
    for _ in 0..2 {
        assert_eq!(
            svc.post(&common::webhook_id(), &body, SECRET)
                .await
                .status(),
            202
        );
    }
    let limited = svc.post(&common::webhook_id(), &body, SECRET).await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=5).contains(&wait), "{wait}");
    env.finish().await
}
