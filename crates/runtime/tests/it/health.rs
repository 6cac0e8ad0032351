use std::net::SocketAddr;
use std::time::Duration;

use sluice_runtime::{HealthServer, Readiness};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// A minimal HTTP/1.1 GET, so the test needs no HTTP client dependency.
async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status line in {response:?}"))?;
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    Ok((status, body))
}

#[tokio::test]
async fn probes_follow_readiness_and_shutdown() -> anyhow::Result<()> {
    let server = HealthServer::bind("127.0.0.1:0".parse()?).await?;
    let addr = server.local_addr()?;
    let readiness = Readiness::new();
    readiness.set("nats", false);
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn(server.serve(readiness.clone(), shutdown.clone()));

    assert_eq!(get(addr, "/livez").await?.0, 200);
    let (status, body) = get(addr, "/readyz").await?;
    assert_eq!(status, 503);
    assert!(body.contains("nats: not ready"), "{body}");

    readiness.set("nats", true);
    assert_eq!(get(addr, "/readyz").await?.0, 200);

    metrics::counter!("sluice_runtime_test_total").increment(3);
    let (status, body) = get(addr, "/metrics").await?;
    assert_eq!(status, 200);
    assert!(body.contains("sluice_runtime_test_total 3"), "{body}");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), serving).await???;
    assert!(
        get(addr, "/livez").await.is_err(),
        "server must stop after shutdown"
    );
    Ok(())
}
