//! `/api/v1/photographers`: add, list, show, disable/enable, set a password, revoke HTTPFs keys,
//! lift lock-outs.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    AdminApiError, ApiJson, ApiPath, Caller, ErrorBody, check_password, check_username, time,
};
use crate::core::gateway::Gateway;
use crate::ops::admin;
use crate::store::catalog::PhotographerRow;

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(revoke_keys))
        .routes(routes!(unlock))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PhotographerStatus {
    Active,
    Disabled,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Photographer {
    #[schema(example = "alice")]
    pub username: String,
    pub status: PhotographerStatus,
    /// Bumped when the HTTPFs keys are revoked (and on disabling): keys of an older generation
    /// are refused.
    pub key_generation: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<PhotographerRow> for Photographer {
    fn from(p: PhotographerRow) -> Self {
        Photographer {
            status: if p.status == "active" {
                PhotographerStatus::Active
            } else {
                PhotographerStatus::Disabled
            },
            username: p.username,
            key_generation: p.key_generation,
            created_at: time(p.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotographerList {
    pub items: Vec<Photographer>,
}

/// A new photographer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPhotographer {
    /// Folded to lowercase.
    #[schema(example = "alice", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]
    pub username: String,
    /// Omit (or null) to have a strong one generated and returned once.
    #[schema(
        min_length = 8,
        max_length = 256,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub password: Option<String>,
}

/// The photographer just added, with the generated password if none was given.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPhotographer {
    pub username: String,
    pub status: PhotographerStatus,
    pub key_generation: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Only when generated: shown this once, never stored in clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Changes to a photographer; absent or null fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotographerChanges {
    /// `disabled` refuses logins and revokes the HTTPFs keys; `active` allows logins again.
    pub status: Option<PhotographerStatus>,
    /// A new password.
    #[schema(
        min_length = 8,
        max_length = 256,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub password: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "list_photographers",
    path = "/api/v1/photographers",
    tag = "photographers",
    summary = "List photographers",
    responses((status = 200, description = "Every photographer, by username", body = PhotographerList))
)]
async fn list(
    State(gw): State<Gateway>,
    _caller: Caller,
) -> Result<Json<PhotographerList>, AdminApiError> {
    let items = admin::list_photographers(gw.catalog()).await?;
    Ok(Json(PhotographerList {
        items: items.into_iter().map(Photographer::from).collect(),
    }))
}

#[utoipa::path(
    post,
    operation_id = "create_photographer",
    path = "/api/v1/photographers",
    tag = "photographers",
    summary = "Add a photographer",
    request_body = NewPhotographer,
    responses(
        (status = 201, description = "Added", body = CreatedPhotographer,
         headers(("Location" = String, description = "The photographer's URL"))),
        (status = 409, description = "A photographer with that username exists", body = ErrorBody),
    )
)]
async fn create(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiJson(req): ApiJson<NewPhotographer>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<CreatedPhotographer>,
    ),
    AdminApiError,
> {
    let name = check_username(&req.username)?;
    if let Some(p) = &req.password {
        check_password(p)?;
    }
    let (user, generated) = admin::add_photographer(gw.catalog(), name, req.password).await?;
    caller
        .record(&gw, "admin.photographer.add", Some(user.as_str()), None)
        .await;
    let p = Photographer::from(admin::get_photographer(gw.catalog(), user.as_str()).await?);
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/photographers/{}", p.username),
        )],
        Json(CreatedPhotographer {
            username: p.username,
            status: p.status,
            key_generation: p.key_generation,
            created_at: p.created_at,
            password: generated,
        }),
    ))
}

#[utoipa::path(
    get,
    operation_id = "get_photographer",
    path = "/api/v1/photographers/{username}",
    tag = "photographers",
    summary = "Show a photographer",
    params(("username" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")),
    responses(
        (status = 200, description = "The photographer", body = Photographer),
        (status = 404, description = "No such photographer", body = ErrorBody),
    )
)]
async fn get_one(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<Photographer>, AdminApiError> {
    let name = check_username(&username)?;
    Ok(Json(
        admin::get_photographer(gw.catalog(), name).await?.into(),
    ))
}

#[utoipa::path(
    patch,
    operation_id = "update_photographer",
    path = "/api/v1/photographers/{username}",
    tag = "photographers",
    summary = "Disable, enable or set the password of a photographer",
    params(("username" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")),
    request_body = PhotographerChanges,
    responses(
        (status = 200, description = "The photographer as changed", body = Photographer),
        (status = 404, description = "No such photographer", body = ErrorBody),
    )
)]
async fn update(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
    ApiJson(req): ApiJson<PhotographerChanges>,
) -> Result<Json<Photographer>, AdminApiError> {
    let name = check_username(&username)?;
    if let Some(p) = &req.password {
        check_password(p)?;
    }
    let current = admin::get_photographer(gw.catalog(), name).await?;
    let user = current.username.as_str();
    // The password first: if it is refused, nothing has changed.
    if let Some(p) = req.password {
        admin::set_password(gw.catalog(), user, Some(p)).await?;
        caller
            .record(&gw, "admin.photographer.password", Some(user), None)
            .await;
    }
    if let Some(status) = req.status {
        let active = status == PhotographerStatus::Active;
        // Setting the status it already has changes nothing, and records nothing.
        if admin::set_photographer_active(gw.catalog(), user, active).await? {
            let action = if active {
                "admin.photographer.enable"
            } else {
                "admin.photographer.disable"
            };
            caller.record(&gw, action, Some(user), None).await;
        }
    }
    Ok(Json(
        admin::get_photographer(gw.catalog(), user).await?.into(),
    ))
}

#[utoipa::path(
    post,
    operation_id = "revoke_photographer_keys",
    path = "/api/v1/photographers/{username}/revoke-keys",
    tag = "photographers",
    summary = "Revoke a photographer's HTTPFs keys",
    description = "Every HTTPFs key issued so far is refused within seconds on every replica; the next login gets a new one.",
    params(("username" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")),
    responses(
        (status = 200, description = "Revoked; the new key generation is shown", body = Photographer),
        (status = 404, description = "No such photographer", body = ErrorBody),
    )
)]
async fn revoke_keys(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<Photographer>, AdminApiError> {
    let name = check_username(&username)?;
    admin::revoke_keys(gw.catalog(), name).await?;
    let p = admin::get_photographer(gw.catalog(), name).await?;
    caller
        .record(
            &gw,
            "admin.photographer.revoke_keys",
            Some(&p.username),
            None,
        )
        .await;
    Ok(Json(p.into()))
}

/// What `unlock` cleared.
#[derive(Serialize, ToSchema)]
pub struct Unlocked {
    pub username: String,
    /// Addresses the photographer was locked out from or had failed logins from.
    pub addresses_cleared: u64,
}

#[utoipa::path(
    post,
    operation_id = "unlock_photographer",
    path = "/api/v1/photographers/{username}/unlock",
    tag = "photographers",
    summary = "Lift a photographer's lock-outs",
    description = "Clears the photographer's lock-outs and failed-login counts from every address, on every replica (per-address limits over all usernames stay). Audited as `admin.photographer.unlock`.",
    params(("username" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")),
    responses(
        (status = 200, description = "Unlocked", body = Unlocked),
        (status = 404, description = "No such photographer", body = ErrorBody),
    )
)]
async fn unlock(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<Unlocked>, AdminApiError> {
    let name = check_username(&username)?;
    let p = admin::get_photographer(gw.catalog(), name).await?;
    let n = admin::unlock_photographer(gw.catalog(), &p.username).await?;
    caller
        .record(&gw, "admin.photographer.unlock", Some(&p.username), None)
        .await;
    Ok(Json(Unlocked {
        username: p.username,
        addresses_cleared: n,
    }))
}
