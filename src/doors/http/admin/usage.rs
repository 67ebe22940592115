//! Usage summaries: per event (`/api/v1/events/{id}/usage`) and per photographer
//! (`/api/v1/photographers/{username}/usage`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    AdminApiError, ApiPath, Caller, ErrorBody, FileType, GrantRole, check_event_id, check_username,
    file_types,
};
use crate::core::gateway::Gateway;
use crate::ops::admin::{self, UsageLine};

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new()
        .routes(routes!(event_usage))
        .routes(routes!(photographer_usage))
}

/// An event's limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventLimits {
    pub max_bytes: Option<i64>,
    pub max_files: Option<i64>,
    pub max_file_size: Option<i64>,
    /// null: the deployment's default.
    pub allowed_types: Option<Vec<FileType>>,
}

/// One photographer in an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotographerInEvent {
    pub username: String,
    /// null: no grant (any more); their files stay.
    pub role: Option<GrantRole>,
    /// The grant's byte quota (null: none).
    pub max_bytes: Option<i64>,
    /// Bytes in the files they stored.
    pub bytes: i64,
    pub files: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventUsage {
    pub event: String,
    /// Bytes stored, as the event quota counts them.
    pub bytes: i64,
    /// Files stored, as the event quota counts them.
    pub files: i64,
    pub limits: EventLimits,
    /// What the event quota still allows (null: no quota).
    pub remaining_bytes: Option<i64>,
    pub remaining_files: Option<i64>,
    /// Everyone with a grant or with files in the event, by username.
    pub photographers: Vec<PhotographerInEvent>,
}

/// One event of a photographer.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOfPhotographer {
    pub event: String,
    /// null: no grant (any more); their files stay.
    pub role: Option<GrantRole>,
    pub max_bytes: Option<i64>,
    pub bytes: i64,
    pub files: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotographerUsage {
    pub username: String,
    /// Totals over all events.
    pub bytes: i64,
    pub files: i64,
    /// Every event they hold a grant on or have files in, by id.
    pub events: Vec<EventOfPhotographer>,
}

fn remaining(max: Option<i64>, used: i64) -> Option<i64> {
    max.map(|m| m.saturating_sub(used).max(0))
}

fn role(line: &UsageLine) -> Option<GrantRole> {
    line.role.as_deref().map(GrantRole::of)
}

#[utoipa::path(
    get,
    operation_id = "get_event_usage",
    path = "/api/v1/events/{id}/usage",
    tag = "usage",
    summary = "Usage of an event: totals, limits and per photographer",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")),
    responses(
        (status = 200, description = "The event's usage", body = EventUsage),
        (status = 404, description = "No such event", body = ErrorBody),
    )
)]
async fn event_usage(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<EventUsage>, AdminApiError> {
    let id = check_event_id(&id)?;
    let (ev, lines) = admin::event_usage(gw.catalog(), id).await?;
    Ok(Json(EventUsage {
        remaining_bytes: remaining(ev.max_bytes, ev.used_bytes),
        remaining_files: remaining(ev.max_files, ev.used_files),
        limits: EventLimits {
            max_bytes: ev.max_bytes,
            max_files: ev.max_files,
            max_file_size: ev.max_file_size,
            allowed_types: file_types(ev.allowed_types.as_deref()),
        },
        photographers: lines
            .iter()
            .map(|l| PhotographerInEvent {
                username: l.key.clone(),
                role: role(l),
                max_bytes: l.max_bytes,
                bytes: l.bytes,
                files: l.files,
            })
            .collect(),
        event: ev.id,
        bytes: ev.used_bytes,
        files: ev.used_files,
    }))
}

#[utoipa::path(
    get,
    operation_id = "get_photographer_usage",
    path = "/api/v1/photographers/{username}/usage",
    tag = "usage",
    summary = "Usage of a photographer, per event",
    params(("username" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")),
    responses(
        (status = 200, description = "The photographer's usage", body = PhotographerUsage),
        (status = 404, description = "No such photographer", body = ErrorBody),
    )
)]
async fn photographer_usage(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<PhotographerUsage>, AdminApiError> {
    let name = check_username(&username)?;
    let (p, lines) = admin::photographer_usage(gw.catalog(), name).await?;
    Ok(Json(PhotographerUsage {
        username: p.username,
        bytes: lines.iter().fold(0i64, |a, l| a.saturating_add(l.bytes)),
        files: lines.iter().fold(0i64, |a, l| a.saturating_add(l.files)),
        events: lines
            .iter()
            .map(|l| EventOfPhotographer {
                event: l.key.clone(),
                role: role(l),
                max_bytes: l.max_bytes,
                bytes: l.bytes,
                files: l.files,
            })
            .collect(),
    }))
}
