//! The console's pages and the routes to them.

pub mod handoff;
pub mod item;
pub mod layout;
pub mod queue;
pub mod sign_in;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::auth::SignedIn;
use crate::state::AppState;

/// Every route of the console. Only `/sign-in` is served without a session.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in::show).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/reviews", get(queue::list))
        .route("/reviews/{id}", get(item::show))
        .route("/reviews/{id}/reject", post(item::reject))
        .route("/reviews/{id}/escalate", post(item::escalate))
        .with_state(state)
}

async fn home(_: SignedIn) -> Redirect {
    Redirect::to("/reviews")
}
