//! `/api/v1/grants`: who may use which event, in which role, with which byte quota.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    AdminApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody, GrantRole, check_event_id,
    check_quantity, check_username, double_opt_int, opt_int, time,
};
use crate::base::error::CoreError;
use crate::core::gateway::Gateway;
use crate::ops::admin::{self, AdminError};
use crate::store::catalog::GrantRow;

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Grant {
    #[schema(example = "alice")]
    pub username: String,
    #[schema(example = "gala-2026")]
    pub event: String,
    pub role: GrantRole,
    /// This photographer's byte quota in this event (null: only the event's quota applies).
    pub max_bytes: Option<i64>,
    /// Bytes counted against `max_bytes`.
    pub used_bytes: i64,
    pub used_files: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<GrantRow> for Grant {
    fn from(g: GrantRow) -> Self {
        Grant {
            role: GrantRole::of(&g.role),
            username: g.photographer,
            event: g.event,
            max_bytes: g.max_bytes,
            used_bytes: g.used_bytes,
            used_files: g.used_files,
            created_at: time(g.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantList {
    pub items: Vec<Grant>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GrantFilter {
    /// Only grants on this event.
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")]
    pub event: Option<String>,
    /// Only grants of this photographer.
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]
    pub username: Option<String>,
}

/// A new grant. The photographer and the event must exist.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    #[schema(example = "alice", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]
    pub username: String,
    #[schema(example = "gala-2026", pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")]
    pub event: String,
    /// Defaults to `uploader`.
    pub role: Option<GrantRole>,
    /// Byte quota of this photographer in this event (null or absent: none).
    #[serde(default, deserialize_with = "opt_int")]
    #[schema(minimum = 0, maximum = 9007199254740991_i64)]
    pub max_bytes: Option<i64>,
}

/// Changes to a grant; an absent field stays as it is, `max_bytes: null` removes the quota.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantChanges {
    /// null leaves it.
    pub role: Option<GrantRole>,
    #[serde(default, deserialize_with = "double_opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 9007199254740991_i64)]
    pub max_bytes: Option<Option<i64>>,
}

#[utoipa::path(
    get,
    operation_id = "list_grants",
    path = "/api/v1/grants",
    tag = "grants",
    summary = "List grants, optionally of one event and/or one photographer",
    params(GrantFilter),
    responses((status = 200, description = "Grants by event, then username", body = GrantList))
)]
async fn list(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiQuery(f): ApiQuery<GrantFilter>,
) -> Result<Json<GrantList>, AdminApiError> {
    let event = f.event.as_deref().map(check_event_id).transpose()?;
    let user = f.username.as_deref().map(check_username).transpose()?;
    let items = admin::find_grants(gw.catalog(), event, user).await?;
    Ok(Json(GrantList {
        items: items.into_iter().map(Grant::from).collect(),
    }))
}

#[utoipa::path(
    post,
    operation_id = "create_grant",
    path = "/api/v1/grants",
    tag = "grants",
    summary = "Grant a photographer access to an event",
    request_body = NewGrant,
    responses(
        (status = 201, description = "Granted", body = Grant,
         headers(("Location" = String, description = "The grant's URL"))),
        (status = 404, description = "No such photographer or event", body = ErrorBody),
        (status = 409, description = "The photographer already has a grant on the event (change it with PATCH)", body = ErrorBody),
    )
)]
async fn create(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiJson(req): ApiJson<NewGrant>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Grant>), AdminApiError> {
    let user = check_username(&req.username)?;
    let event = check_event_id(&req.event)?;
    check_quantity("max_bytes", req.max_bytes, 0)?;
    let role = req.role.unwrap_or(GrantRole::Uploader).into();
    let g = match admin::create_grant(gw.catalog(), user, event, role, req.max_bytes).await {
        Ok(g) => g,
        Err(AdminError::Core(CoreError::AlreadyExists)) => {
            let user = user.to_ascii_lowercase();
            return Err(AdminApiError::new(
                StatusCode::CONFLICT,
                "grant_exists",
                format!(
                    "{user} already has a grant on event {event}; change it with PATCH /api/v1/grants/{user}/{event}"
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    caller
        .record(
            &gw,
            "admin.grant.add",
            Some(&g.photographer),
            Some(&g.event),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/grants/{}/{}", g.photographer, g.event),
        )],
        Json(g.into()),
    ))
}

#[utoipa::path(
    get,
    operation_id = "get_grant",
    path = "/api/v1/grants/{username}/{event}",
    tag = "grants",
    summary = "Show one grant",
    params(
        ("username" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"),
        ("event" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$"),
    ),
    responses(
        (status = 200, description = "The grant", body = Grant),
        (status = 404, description = "No such grant", body = ErrorBody),
    )
)]
async fn get_one(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiPath((username, event)): ApiPath<(String, String)>,
) -> Result<Json<Grant>, AdminApiError> {
    let user = check_username(&username)?;
    let event = check_event_id(&event)?;
    Ok(Json(
        admin::get_grant(gw.catalog(), user, event).await?.into(),
    ))
}

#[utoipa::path(
    patch,
    operation_id = "update_grant",
    path = "/api/v1/grants/{username}/{event}",
    tag = "grants",
    summary = "Change the role or the byte quota of a grant",
    params(
        ("username" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"),
        ("event" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$"),
    ),
    request_body = GrantChanges,
    responses(
        (status = 200, description = "The grant as changed", body = Grant),
        (status = 404, description = "No such grant", body = ErrorBody),
    )
)]
async fn update(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiPath((username, event)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<GrantChanges>,
) -> Result<Json<Grant>, AdminApiError> {
    let user = check_username(&username)?;
    let event = check_event_id(&event)?;
    check_quantity("max_bytes", req.max_bytes.flatten(), 0)?;
    let changed = req.role.is_some() || req.max_bytes.is_some();
    let g = admin::set_grant(
        gw.catalog(),
        user,
        event,
        req.role.map(Into::into),
        req.max_bytes,
    )
    .await?;
    if changed {
        caller
            .record(
                &gw,
                "admin.grant.update",
                Some(&g.photographer),
                Some(&g.event),
            )
            .await;
    }
    Ok(Json(g.into()))
}

#[utoipa::path(
    delete,
    operation_id = "delete_grant",
    path = "/api/v1/grants/{username}/{event}",
    tag = "grants",
    summary = "Remove a grant",
    description = "The photographer loses access to the event; their files stay.",
    params(
        ("username" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"),
        ("event" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such grant", body = ErrorBody),
    )
)]
async fn delete(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiPath((username, event)): ApiPath<(String, String)>,
) -> Result<StatusCode, AdminApiError> {
    let user = check_username(&username)?;
    let event = check_event_id(&event)?;
    admin::revoke_grant(gw.catalog(), user, event).await?;
    let user = user.to_ascii_lowercase();
    caller
        .record(&gw, "admin.grant.remove", Some(&user), Some(event))
        .await;
    Ok(StatusCode::NO_CONTENT)
}
