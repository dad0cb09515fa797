//! The time clock at central: the tills upload their clockings (`POST /api/till/clock`, a
//! paired till's token, each event once by its id); managers and bookkeepers read the hours per
//! person and period (HTML and CSV, for wages or volunteer credit); a manager corrects mistakes
//! by adding a missing clocking or voiding a wrong one, each with a reason, both kept for good.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use chrono::{DateTime, Datelike as _, NaiveDate, NaiveTime, TimeZone as _, Utc};
use coop_domain::Role;
use coop_pos_till::clock::Event;
use coop_web::auth::{Bearer, CurrentUser};
use coop_web::{CsrfForm, Page};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{AppState, Error};
use crate::hours::{stretches, Clocking, Stretch};

/// Who reads the hours.
const READERS: [Role; 2] = [Role::Manager, Role::Bookkeeper];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    events: Vec<Event>,
}

/// `POST /api/till/clock`: a till's clockings; answers the ids central holds now (stored now or
/// before), so the till marks exactly those.
pub async fn upload(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    body: Bytes,
) -> Response {
    let Some(till) = super::api::till_of(&claims) else {
        return (
            StatusCode::FORBIDDEN,
            Json(
                json!({ "error": "forbidden", "message": "only a paired till uploads clockings" }),
            ),
        )
            .into_response();
    };
    let upload: Upload = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(
                json!({ "error": "malformed", "message": format!("not a list of clockings: {e}") }),
            ),
        )
            .into_response(),
    };
    if upload.events.len() > 500
        || upload
            .events
            .iter()
            .any(|e| e.sub.is_empty() || e.sub.len() > 200)
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "malformed", "message": "at most 500 clockings, each naming who" })),
        )
            .into_response();
    }
    let stored = crate::hours::store_clockings(&state.kit.db, till, &upload.events).await;
    match stored {
        Ok(taken) => Json(json!({ "taken": taken })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, till, "storing a till's clockings");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "unavailable", "message": "the till keeps them and tries again" })),
            )
                .into_response()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The period asked for, by default this month so far; as local days and as instants.
fn period(
    state: &AppState,
    p: &Period,
) -> Result<(NaiveDate, NaiveDate, DateTime<Utc>, DateTime<Utc>), Error> {
    let tz = state.kit.coop.time_zone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let parse = |s: &str, default: NaiveDate| -> Result<NaiveDate, Error> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(default);
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| coop_web::Error::BadRequest("a day is YYYY-MM-DD".into()).into())
    };
    let from = parse(&p.from, today.with_day(1).unwrap_or(today))?;
    let to = parse(&p.to, today)?;
    if !(2000..=2100).contains(&from.year()) || !(2000..=2100).contains(&to.year()) {
        return Err(coop_web::Error::BadRequest("a day between 2000 and 2100".into()).into());
    }
    if to < from || (to - from).num_days() > 400 {
        return Err(coop_web::Error::BadRequest(
            "the period runs forward, at most 400 days".into(),
        )
        .into());
    }
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map_or_else(
                || d.and_time(NaiveTime::MIN).and_utc(),
                |t| t.with_timezone(&Utc),
            )
    };
    let end = to.succ_opt().unwrap_or(to);
    Ok((from, to, start(from), start(end)))
}

/// One person's hours in the period.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub sub: String,
    pub name: String,
    pub hours: Decimal,
    pub stretches: usize,
    /// Open stretches and strays: for a manager to look at.
    pub unpaired: usize,
}

/// The clockings around the period (a day either side, so that a stretch across midnight
/// pairs), per person, and their names.
async fn clockings(
    state: &AppState,
    sub: Option<&str>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<BTreeMap<String, (String, Vec<Stretch>)>, Error> {
    let rows = sqlx::query!(
        r#"select e.event_id, e.sub, e.kind, e.at, coalesce(c.name, e.sub) as "name!"
           from clock_event e left join cashier c using (sub)
           where e.voided_at is null and e.at >= $1 and e.at < $2 and ($3::text is null or e.sub = $3)
           order by e.sub, e.at, e.event_id"#,
        start - chrono::Duration::days(1),
        end + chrono::Duration::days(1),
        sub
    )
    .fetch_all(&state.kit.db)
    .await?;
    let mut by: BTreeMap<String, (String, Vec<Clocking>)> = BTreeMap::new();
    for r in rows {
        by.entry(r.sub)
            .or_insert_with(|| (r.name, Vec::new()))
            .1
            .push(Clocking {
                event_id: r.event_id,
                inward: r.kind == "in",
                at: r.at,
            });
    }
    Ok(by
        .into_iter()
        .map(|(sub, (name, cs))| {
            let within: Vec<Stretch> = stretches(&cs)
                .into_iter()
                .filter(|s| s.when().is_some_and(|w| w >= start && w < end))
                .collect();
            (sub, (name, within))
        })
        .filter(|(_, (_, s))| !s.is_empty())
        .collect())
}

fn people(by: BTreeMap<String, (String, Vec<Stretch>)>) -> Vec<Person> {
    let mut people: Vec<Person> = by
        .into_iter()
        .map(|(sub, (name, s))| Person {
            hours: s.iter().map(|x| x.hours).sum(),
            stretches: s.iter().filter(|x| x.is_complete()).count(),
            unpaired: s.iter().filter(|x| !x.is_complete()).count(),
            sub,
            name,
        })
        .collect();
    people.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.sub.cmp(&b.sub))
    });
    people
}

/// `GET /hours?from&to`: each person's hours in the period.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(p): Query<Period>,
) -> Result<Response, Error> {
    user.require_any(&READERS)?;
    let (from, to, start, end) = period(&state, &p)?;
    let people = people(clockings(&state, None, start, end).await?);
    let total: Decimal = people.iter().map(|p| p.hours).sum();
    Ok(page
        .render(
            "hours.html",
            &json!({ "people": people, "total": total, "from": from, "to": to }),
        )?
        .into_response())
}

/// `GET /hours.csv?from&to`: the same as CSV (`;`, `.` decimals), for wages or credit.
pub async fn csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<Period>,
) -> Result<Response, Error> {
    user.require_any(&READERS)?;
    let (from, to, start, end) = period(&state, &p)?;
    let mut body = String::from("member_id;name;hours;stretches;unpaired\n");
    for p in people(clockings(&state, None, start, end).await?) {
        let _ = writeln!(
            body,
            "{};{};{};{};{}",
            csv_text(&p.sub),
            csv_text(&p.name),
            p.hours,
            p.stretches,
            p.unpaired
        );
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"hours-{from}-{to}.csv\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// A text cell: quoted, its quotes doubled, and never read as a formula by a spreadsheet.
fn csv_text(s: &str) -> String {
    let s = s.replace('"', "\"\"");
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("\"'{s}\"")
    } else {
        format!("\"{s}\"")
    }
}

#[derive(Debug, Clone, Serialize)]
struct EventRow {
    event_id: Uuid,
    kind: String,
    at: DateTime<Utc>,
    till_id: Option<String>,
    recorded_by: Option<String>,
    reason: Option<String>,
    voided_at: Option<DateTime<Utc>>,
    voided_by: Option<String>,
    void_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /hours/{sub}?from&to`: one person's clockings and stretches; for a manager, the forms to
/// add a missing clocking and to void a wrong one.
pub async fn person(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(sub): Path<String>,
    Query(p): Query<Period>,
    Query(d): Query<Done>,
) -> Result<Response, Error> {
    user.require_any(&READERS)?;
    let (from, to, start, end) = period(&state, &p)?;
    let name = sqlx::query_scalar!("select name from cashier where sub = $1", sub)
        .fetch_optional(&state.kit.db)
        .await?;
    let events = sqlx::query_as!(
        EventRow,
        "select event_id, kind, at, till_id, recorded_by, reason, voided_at, voided_by, void_reason
         from clock_event where sub = $1 and at >= $2 and at < $3 order by at, event_id",
        sub,
        start,
        end
    )
    .fetch_all(&state.kit.db)
    .await?;
    if name.is_none() && events.is_empty() {
        return Err(coop_web::Error::NotFound.into());
    }
    let by = clockings(&state, Some(&sub), start, end).await?;
    let stretches = by.get(&sub).map(|(_, s)| s.clone()).unwrap_or_default();
    let hours: Decimal = stretches.iter().map(|s| s.hours).sum();
    Ok(page
        .render(
            "hours_person.html",
            &json!({
                "sub": sub, "name": name.unwrap_or_else(|| sub.clone()),
                "events": events, "stretches": stretches, "hours": hours,
                "from": from, "to": to,
                "manager": user.has(Role::Manager),
                "done": d.done.as_deref().filter(|d| ["added", "voided"].contains(d)),
            }),
        )?
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct Correction {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    reason: String,
}

/// `POST /hours/{sub}/events`: a manager adds a clocking the person forgot, with the reason.
pub async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(sub): Path<String>,
    CsrfForm(f): CsrfForm<Correction>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let bad = |m: &str| -> Error { coop_web::Error::BadRequest(m.into()).into() };
    let kind = coop_pos_till::clock::Kind::parse(f.kind.trim()).ok_or_else(|| bad("in or out"))?;
    let day = NaiveDate::parse_from_str(f.day.trim(), "%Y-%m-%d")
        .map_err(|_| bad("the day is YYYY-MM-DD"))?;
    let time =
        NaiveTime::parse_from_str(f.time.trim(), "%H:%M").map_err(|_| bad("the time is HH:MM"))?;
    let reason = f.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(bad("a correction says why, in up to 500 characters"));
    }
    let at = state
        .kit
        .coop
        .time_zone
        .from_local_datetime(&day.and_time(time))
        .earliest()
        .ok_or_else(|| bad("that time does not exist on that day"))?
        .with_timezone(&Utc);
    if at > Utc::now() {
        return Err(bad("a clocking cannot be in the future"));
    }
    // Nobody corrects their own hours: another manager does.
    if sub == user.sub {
        return Err(coop_web::Error::Forbidden.into());
    }
    let known = sqlx::query_scalar!(
        r#"select exists (select 1 from cashier where sub = $1)
                  or exists (select 1 from clock_event where sub = $1) as "x!""#,
        sub
    )
    .fetch_one(&state.kit.db)
    .await?;
    if !known {
        return Err(coop_web::Error::NotFound.into());
    }
    sqlx::query!(
        "insert into clock_event (event_id, sub, kind, at, recorded_by, reason)
         values ($1, $2, $3, $4, $5, $6)",
        Uuid::new_v4(),
        sub,
        kind.as_str(),
        at,
        user.sub,
        reason
    )
    .execute(&state.kit.db)
    .await?;
    tracing::info!(%sub, kind = kind.as_str(), %at, manager = %user.sub, "a clocking was added by a manager");
    Ok(Redirect::to(&state.kit.service.url(&format!(
        "/hours/{sub}?from={}&to={}&done=added",
        day.with_day(1).unwrap_or(day),
        day
    )))
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct Void {
    #[serde(default)]
    reason: String,
}

/// `POST /hours/events/{id}/void`: a manager voids a wrong clocking, with the reason; once.
pub async fn void(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(f): CsrfForm<Void>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let reason = f.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(
            coop_web::Error::BadRequest("a void says why, in up to 500 characters".into()).into(),
        );
    }
    // Nobody voids their own clockings: another manager does.
    let row = sqlx::query!(
        "update clock_event set voided_at = now(), voided_by = $2, void_reason = $3
         where event_id = $1 and voided_at is null and sub <> $2
         returning sub, at",
        id,
        user.sub,
        reason
    )
    .fetch_optional(&state.kit.db)
    .await?
    .ok_or(coop_web::Error::NotFound)?;
    tracing::info!(event = %id, manager = %user.sub, "a clocking was voided by a manager");
    let day = row.at.with_timezone(&state.kit.coop.time_zone).date_naive();
    Ok(Redirect::to(&state.kit.service.url(&format!(
        "/hours/{}?from={}&to={}&done=voided",
        row.sub,
        day.with_day(1).unwrap_or(day),
        day
    )))
    .into_response())
}
