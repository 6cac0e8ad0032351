//! Who is asking: the session cookie, looked up server-side. A request
//! without a live session is redirected to the sign-in page, never served.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HeaderMap};
use axum::http::request::Parts;
use axum::response::Redirect;

use crate::error::Error;
use crate::session::{self, Session};
use crate::state::AppState;

/// The signed-in operator of a request.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session id (the cookie's value).
    pub id: String,
    /// The session.
    pub session: Session,
}

impl SignedIn {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), Error> {
        if self.session.csrf_matches(presented) {
            Ok(())
        } else {
            Err(Error::Csrf)
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Redirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let id = session_cookie(&parts.headers).ok_or_else(to_sign_in)?;
        let session = state.sessions.get(&id).ok_or_else(to_sign_in)?;
        Ok(Self { id, session })
    }
}

fn to_sign_in() -> Redirect {
    Redirect::to("/sign-in")
}

/// The value of the `sluice_session` cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == session::COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value starting a session.
pub fn set_cookie(id: &str, max_age_s: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}",
        session::COOKIE
    )
}

/// The `Set-Cookie` value ending a session.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; sluice_session=abc123; x=y"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc123"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let cookie = set_cookie("abc", 60, true);
        assert!(cookie.contains("HttpOnly; SameSite=Strict; Path=/"));
        assert!(cookie.ends_with("; Secure"));
        assert!(!set_cookie("abc", 60, false).contains("Secure"));
    }
}
