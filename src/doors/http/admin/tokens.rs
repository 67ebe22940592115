//! `/api/v1/tokens`: list and revoke admin API tokens. Creating one is for the CLI only
//! (`ftpgate admin-token create NAME`), so a leaked token cannot mint itself a successor that
//! outlives its revocation.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminApiError, ApiPath, Caller, ErrorBody, opt_time, time};
use crate::base::error::CoreError;
use crate::core::gateway::Gateway;
use crate::ops::admin::{self, AdminError, AdminTokenRow};

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke))
}

/// An admin token (never the token itself, nor its hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminToken {
    #[schema(example = "ci-deploy")]
    pub name: String,
    /// false once revoked.
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// To the minute.
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

impl From<AdminTokenRow> for AdminToken {
    fn from(t: AdminTokenRow) -> Self {
        AdminToken {
            active: t.revoked_at.is_none(),
            name: t.name,
            created_at: time(t.created_at),
            last_used_at: opt_time(t.last_used_at),
            revoked_at: opt_time(t.revoked_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTokenList {
    pub items: Vec<AdminToken>,
}

#[utoipa::path(
    get,
    operation_id = "list_admin_tokens",
    path = "/api/v1/tokens",
    tag = "tokens",
    summary = "List admin tokens, active ones first",
    responses((status = 200, description = "Every token, revoked ones included", body = AdminTokenList))
)]
async fn list(
    State(gw): State<Gateway>,
    _caller: Caller,
) -> Result<Json<AdminTokenList>, AdminApiError> {
    let items = admin::list_admin_tokens(gw.catalog()).await?;
    Ok(Json(AdminTokenList {
        items: items.into_iter().map(AdminToken::from).collect(),
    }))
}

#[utoipa::path(
    delete,
    operation_id = "revoke_admin_token",
    path = "/api/v1/tokens/{name}",
    tag = "tokens",
    summary = "Revoke an admin token",
    description = "Refused from its next request on, on every replica. The token that makes \
                   the request cannot revoke itself (409): use another token or the CLI, so a \
                   script cannot lock its operator out by mistake.",
    params(("name" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No active token of that name", body = ErrorBody),
        (status = 409, description = "That is the token making this request", body = ErrorBody),
    )
)]
async fn revoke(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, AdminApiError> {
    if name == caller.token {
        return Err(AdminApiError::new(
            StatusCode::CONFLICT,
            "own_token",
            format!(
                "{name} is the token making this request; revoke it with another token or `ftpgate admin-token revoke {name}`"
            ),
        ));
    }
    match admin::revoke_admin_token(gw.catalog(), &name).await {
        Ok(()) => {}
        Err(AdminError::Core(CoreError::NotFound)) => {
            return Err(AdminApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no active admin token named {name}"),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    caller
        .record_on(&gw, "admin.token.revoke", None, None, Some(&name))
        .await;
    Ok(StatusCode::NO_CONTENT)
}
