//! `GET /switches` (every switch that has been set: where it stands, who
//! changed it, when and why, breaker trips marked), `GET /switches/{key}`
//! (one switch and its audit trail) and `POST /switches` (turn one off or
//! on with a reason).
//!
//! Everyone signed in reads the list; only sre and admin see the forms,
//! change a switch and read its trail, and the ledger checks the role again
//! when it audits the change. The change itself is
//! `sluice_ops::switches::apply`, the same as `sluice switch off|on`: audited
//! first under the operator's own token, then written to the bucket.

use axum::extract::{Form, Path, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use sluice_bus::{KeyedSwitch, Switch, SwitchState, Switches};
use sluice_ops::switches::{self, Change};

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::{item, layout};
use crate::session::Session;
use crate::state::AppState;

/// Who may change switches (and read their trail).
const OPERATORS_ONLY: &str = "only SREs and admins turn switches off and on";

/// The change form, the same for a listed switch (the key is a hidden
/// field) and for a new key (typed in). Missing fields are empty, so they
/// get the console's own answer rather than a bare rejection.
#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    reason: String,
}

/// `GET /switches`.
pub async fn list(State(state): State<AppState>, signed_in: SignedIn) -> Result<Html<String>> {
    let session = &signed_in.session;
    let bucket = Switches::open(&state.bus).await?;
    let all = switches::list(&bucket).await?;
    let body = html! {
        h1 { "Switches" }
        p { "A switch that is off holds everything it covers, a whole workflow or one of its actions: "
            "nothing is decided or executed and nothing is lost; turning it on resumes the work at once. "
            "A switch that is not listed has never been set and is on." }
        @if !session.may_operate() {
            p { "Your role (" (session.role.as_str()) ") can read the switches; "
                "only SREs and admins turn them off and on." }
        }
        @if all.is_empty() {
            p { "No switch has been set: everything is on." }
        } @else {
            (table(session, &all))
        }
        @if session.may_operate() {
            (another(session))
        }
    };
    Ok(Html(
        layout::page("Switches", Some(session), body).into_string(),
    ))
}

/// `GET /switches/{key}`.
pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(key): Path<String>,
) -> Result<Html<String>> {
    let session = &signed_in.session;
    if !session.may_operate() {
        return Err(Error::Forbidden(OPERATORS_ONLY));
    }
    let bucket = Switches::open(&state.bus).await?;
    let trail = switches::trail(&bucket, &session.ledger, &key).await?;
    let title = format!("Switch {key}");
    let now = switches::state_of(trail.current.as_ref());
    let body = html! {
        p { a href="/switches" { "← Switches" } }
        h1 { (title) }
        @match &trail.current {
            Some(current) => (summary(&current.switch)),
            None => p { "Never set: on." },
        }
        (forms(session, &key, now))
        @if trail.audit.is_empty() {
            p { "No change of this switch has been audited." }
        } @else {
            (item::trail(&trail.audit))
        }
    };
    Ok(Html(
        layout::page(&title, Some(session), body).into_string(),
    ))
}

/// `POST /switches`: CSRF, then the role, then the key and the reason;
/// nothing is changed unless all pass and the ledger audits the change.
pub async fn change(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(input): Form<ChangeForm>,
) -> Result<Redirect> {
    signed_in.check_csrf(&input.csrf)?;
    let session = &signed_in.session;
    if !session.may_operate() {
        return Err(Error::Forbidden(OPERATORS_ONLY));
    }
    let (key, reason) = (input.key.trim(), input.reason.trim());
    let change = match SwitchState::parse(&input.state) {
        Some(SwitchState::Off) => Change::off(key, reason)?,
        Some(SwitchState::On) => Change::on(key, reason)?,
        _ => return Err(Error::BadRequest("a switch is turned off or on")),
    };
    let bucket = Switches::open(&state.bus).await?;
    let changed = switches::apply(&bucket, &session.ledger, &change).await?;
    Ok(Redirect::to(&format!("/switches/{}", changed.key)))
}

fn table(session: &Session, all: &[KeyedSwitch]) -> Markup {
    let operate = session.may_operate();
    html! {
        table {
            caption { "Every switch that has been set, by key" }
            thead { tr {
                th scope="col" { "Switch" }
                th scope="col" { "State" }
                th scope="col" { "Changed by" }
                th scope="col" { "When" }
                th scope="col" { "Why" }
                @if operate { th scope="col" { "Change" } }
            } }
            tbody {
                @for s in all {
                    tr {
                        th scope="row" {
                            @if operate {
                                a href={ "/switches/" (s.key) } { (s.key) }
                            } @else {
                                (s.key)
                            }
                        }
                        td { (state(&s.switch)) }
                        td { (who(&s.switch)) }
                        td { (s.switch.at.map_or_else(|| "—".to_owned(), layout::instant)) }
                        td { (s.switch.reason) }
                        @if operate {
                            td { (forms(session, &s.key, s.switch.state)) }
                        }
                    }
                }
            }
        }
    }
}

fn summary(switch: &Switch) -> Markup {
    html! {
        table {
            caption { "Now" }
            tbody {
                tr { th scope="row" { "State" } td { (state(switch)) } }
                tr { th scope="row" { "Changed by" } td { (who(switch)) } }
                tr { th scope="row" { "When" } td {
                    (switch.at.map_or_else(|| "—".to_owned(), layout::instant))
                } }
                tr { th scope="row" { "Why" } td { (switch.reason) } }
            }
        }
    }
}

/// The state as an operator reads it; a breaker's doing says so.
fn state(switch: &Switch) -> Markup {
    let breaker = switches::by_breaker(switch);
    html! {
        @match switch.state {
            SwitchState::On => "on",
            SwitchState::Off if breaker => { "off — " strong { "breaker trip" } }
            SwitchState::Off => "off",
            SwitchState::HalfOpen => {
                "half-open: " (switch.canaries) " canaries left"
                @if breaker { " after a " strong { "breaker trip" } }
            }
        }
    }
}

/// Who set the value and how: an operator, the breaker (the gate's
/// service identity), or by hand outside Sluice (a bare `on`/`off`).
fn who(switch: &Switch) -> Markup {
    html! {
        @if switch.by.is_empty() {
            "unknown (" (switch.source) ")"
        } @else if switches::by_breaker(switch) {
            (switch.by) " (" strong { "breaker" } ")"
        } @else {
            (switch.by) " (" (switch.source) ")"
        }
    }
}

/// The changes an operator can make from `now`: off ↔ on, and either way
/// out of a breaker's half-open state.
fn forms(session: &Session, key: &str, now: SwitchState) -> Markup {
    if !session.may_operate() {
        return html! {};
    }
    let targets: &[SwitchState] = match now {
        SwitchState::On => &[SwitchState::Off],
        SwitchState::Off => &[SwitchState::On],
        SwitchState::HalfOpen => &[SwitchState::On, SwitchState::Off],
    };
    html! {
        @for to in targets {
            @let verb = to.as_str();
            @let field = format!("{verb}-{key}-reason");
            form class="decision" method="post" action="/switches" {
                (layout::csrf_field(session))
                input type="hidden" name="key" value=(key);
                input type="hidden" name="state" value=(verb);
                label for=(field) { "Why turn " (key) " " (verb) "?" }
                textarea id=(field) name="reason" rows="2" required {}
                button type="submit" { "Turn " (verb) }
            }
        }
    }
}

/// Turning off a switch that is not listed yet.
fn another(session: &Session) -> Markup {
    html! {
        section aria-labelledby="another" {
            h2 id="another" { "Turn off another switch" }
            form class="decision" method="post" action="/switches" {
                (layout::csrf_field(session))
                input type="hidden" name="state" value="off";
                label for="another-key" { "Switch" }
                p { "A workflow (" code { "reservation" } ") or one of its actions ("
                    code { "reservation.create_booking" } ")." }
                input type="text" id="another-key" name="key" required;
                label for="another-reason" { "Why turn it off?" }
                textarea id="another-reason" name="reason" rows="2" required {}
                button type="submit" { "Turn off" }
            }
        }
    }
}
