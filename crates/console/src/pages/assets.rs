//! The one script the console serves: htmx, vendored from the npm package
//! (`scripts/vendor-htmx.sh`), for progressive enhancement only. Every page
//! and every decision works without it; with it, the review queue keeps
//! itself current.

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

/// Where pages load htmx from (the version is in the name).
pub const HTMX_PATH: &str = "/assets/htmx-2.0.11.min.js";

const HTMX: &str = include_str!("../../assets/htmx-2.0.11.min.js");

/// htmx's settings for this console's Content-Security-Policy: no inline
/// indicator styles (the policy allows only the console's own stylesheet),
/// no `eval` and no script tags in swapped content.
pub const HTMX_CONFIG: &str =
    r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;

/// `GET /assets/htmx-2.0.11.min.js`, served without a session.
pub async fn htmx() -> Response {
    let mut response = HTMX.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    response
}
