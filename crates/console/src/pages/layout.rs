//! The frame of every page: one small inline stylesheet, a header naming the
//! signed-in operator with a sign-out form, and the page's `<main>`.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::pages::assets;
use crate::session::Session;

/// Served inline so the console needs no CDN and no second request.
const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa;line-height:1.45}
header{display:flex;justify-content:space-between;align-items:center;padding:.6rem 1.2rem;background:#123;color:#fff}
header a{color:#fff}header form{display:inline;margin-left:1rem}
nav ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;margin:0;padding:0}
main{max-width:64rem;margin:1rem auto;padding:0 1.2rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;vertical-align:top}
thead th{background:#e8edf2}
.overdue{color:#a00;font-weight:bold}
.warning{border-left:4px solid #a60;padding:.4rem .8rem;background:#fff6e5}
pre{white-space:pre-wrap;background:#f0f0f0;padding:.5rem}
form.decision{margin:1rem 0;padding:.8rem;border:1px solid #ccc;background:#fff}
label{display:block;font-weight:bold;margin-bottom:.3rem}
textarea,input[type=password]{width:100%;max-width:40rem;box-sizing:border-box}
form.filter{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:end;margin:1rem 0}
form.filter label{margin:0}form.filter input,form.filter select{display:block;font-weight:normal}
.error{color:#a00;font-weight:bold}
button{margin-top:.5rem;padding:.3rem 1rem}
:focus{outline:3px solid #36c;outline-offset:2px}
.field{margin:.5rem 0}.field small{display:block;color:#555}
.error{color:#a00;margin:.2rem 0}[aria-invalid=true]{border:2px solid #a00}
.errors{border-left:4px solid #a00;padding:.4rem .8rem;background:#fdecec}
fieldset{border:1px solid #ccc;margin:.5rem 0}
form.search{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:end}
dl{margin:0}dt{font-weight:bold;float:left;margin-right:.4rem}dd{margin:0}
@media (max-width:40rem){table{display:block;overflow-x:auto}header{flex-wrap:wrap}}
";

/// The stylesheet's CSP source (`sha256-<base64>`), so the policy allows
/// exactly this inline style and nothing else.
pub fn style_hash() -> String {
    use base64::Engine as _;
    let digest = ring::digest::digest(&ring::digest::SHA256, STYLE.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// A whole HTML page.
pub fn page(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    frame(title, session, None, body)
}

/// A page that reloads itself every `seconds`, for work still running: a
/// plain meta refresh, since the console serves no script.
pub fn refreshing_page(
    title: &str,
    session: Option<&Session>,
    seconds: u32,
    body: Markup,
) -> Markup {
    frame(title, session, Some(seconds), body)
}

fn frame(title: &str, session: Option<&Session>, refresh: Option<u32>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " — Sluice review console" }
                style { (PreEscaped(STYLE)) }
                meta name="htmx-config" content=(assets::HTMX_CONFIG);
                script src=(assets::HTMX_PATH) defer {}
            }
            body {
                header {
                    a href="/reviews" { "Sluice review console" }
                    @if let Some(session) = session {
                        (nav(session))
                        span {
                            "Signed in as " strong { (session.name) } " (" (session.role.as_str()) ")"
                            form method="post" action="/sign-out" {
                                (csrf_field(session))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sections the operator's role may open.
fn nav(session: &Session) -> Markup {
    html! {
        nav aria-label="Sections" {
            ul {
                li { a href="/reviews" { "Reviews" } }
                li { a href="/executions" { "Executions" } }
                @if session.may_operate() {
                    li { a href="/dead-letters" { "Dead letters" } }
                }
                li { a href="/switches" { "Switches" } }
            }
        }
    }
}

/// An instant as operators read it.
pub fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The hidden field every form of a session carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}
