//! `/api/v1/events/{id}/uploads`: an event's files, newest first, a page at a time.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cursor::{decode_uploads, encode_uploads};
use super::{
    AdminApiError, ApiPath, ApiQuery, Caller, ErrorBody, check_event_id, check_username, time,
};
use crate::core::gateway::Gateway;
use crate::ops::admin;
use crate::store::catalog::EntryRow;

/// Rows per page when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 100;

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadsQuery {
    /// Rows per page (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this photographer's files.
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]
    pub photographer: Option<String>,
}

/// One stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct Upload {
    #[schema(example = "alice")]
    pub photographer: String,
    /// Path in the photographer's folder of the event (what they see under `/{event}/`).
    #[schema(example = "card1/DSC_0001.JPG")]
    pub path: String,
    pub size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: Option<String>,
    /// Detected from the content, not the name.
    #[schema(example = "image/jpeg")]
    pub content_type: Option<String>,
    /// Where the bytes are in the blob store (immutable; renames do not change it).
    pub object_key: Option<String>,
    /// When it was last written, renamed or touched.
    #[schema(format = DateTime)]
    pub uploaded_at: String,
    /// The client's address as the gateway saw it.
    pub uploader_ip: Option<String>,
    /// `reconcile --fix` found the object gone from the store.
    pub blob_missing: bool,
}

impl From<EntryRow> for Upload {
    fn from(e: EntryRow) -> Self {
        Upload {
            uploaded_at: time(e.updated_at),
            blob_missing: e.blob_missing != 0,
            photographer: e.photographer,
            path: e.path,
            size: e.size,
            sha256: e.sha256,
            content_type: e.content_type,
            object_key: e.object_key,
            uploader_ip: e.uploader_ip,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadPage {
    pub items: Vec<Upload>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "list_event_uploads",
    path = "/api/v1/events/{id}/uploads",
    tag = "uploads",
    summary = "An event's files, newest first",
    description = "Ordered by `uploaded_at`, then path, then photographer, all descending. \
                   Pages are cut by key, not offset: files added while paging do not shift \
                   later pages.",
    params(
        ("id" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$"),
        UploadsQuery,
    ),
    responses(
        (status = 200, description = "One page", body = UploadPage),
        (status = 404, description = "No such event", body = ErrorBody),
    )
)]
async fn list(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<UploadsQuery>,
) -> Result<Json<UploadPage>, AdminApiError> {
    let id = check_event_id(&id)?;
    let photographer = q.photographer.as_deref().map(check_username).transpose()?;
    let after = q.cursor.as_deref().map(decode_uploads).transpose()?;
    let (rows, next) = admin::event_uploads(
        gw.catalog(),
        id,
        photographer,
        after.as_ref(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    )
    .await?;
    Ok(Json(UploadPage {
        items: rows.into_iter().map(Upload::from).collect(),
        next_cursor: next.as_ref().map(encode_uploads),
    }))
}
