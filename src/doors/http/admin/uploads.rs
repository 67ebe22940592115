//! `/api/v1/events/{id}/uploads`: an event's files, newest first, a page at a time (superseded
//! photos included); `/api/v1/uploads/{id}`: one photo, and `/content` its bytes.

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
use crate::store::catalog::admin_queries::UploadRow;

/// Rows per page when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 100;

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(content))
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
    /// `captured_at`: by the cameras' capture time, earliest first (photos without one last);
    /// default: newest upload first.
    #[param(inline)]
    pub sort: Option<UploadSort>,
    /// Only photos from the camera body with this serial number.
    #[param(max_length = 128)]
    pub camera_serial: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
pub enum UploadSort {
    #[serde(rename = "captured_at")]
    CapturedAt,
    #[serde(rename = "uploaded_at")]
    UploadedAt,
}

/// One stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct Upload {
    /// The photo's id (`/api/v1/uploads/{id}`); it never changes, through renames too.
    #[schema(example = "01jz8k3v5q9x2m4n6p8r0t2w4y")]
    pub id: String,
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
    /// Set when a newer photo took this one's name (the event keeps both): this one is out of
    /// the photographer's folder, kept and counted in the quota.
    pub superseded_by: Option<String>,
    /// What the photo says of itself, as in its notification: `captured_at`, `camera`
    /// (`make`, `model`, `serial`), `lens`, `width`, `height`, `orientation`, `exposure`
    /// (`iso`, `aperture`, `shutter`, `focal_length_mm`), `rating`, `gps` (`lat`, `lon`,
    /// `alt_m`), `iptc` (`byline`, `caption`, `headline`, `keywords`, `copyright`), `preview`;
    /// null when it could not be read.
    #[schema(value_type = Option<Object>)]
    pub photo: Option<serde_json::Value>,
    /// Why the metadata could not be read.
    pub photo_error: Option<String>,
}

impl From<UploadRow> for Upload {
    fn from(e: UploadRow) -> Self {
        Upload {
            id: crate::base::domain::photo_id(e.object_key.as_deref().unwrap_or_default())
                .to_string(),
            superseded_by: e.superseded_by,
            photo: crate::core::outbox::photo_object(e.meta.as_deref()),
            photo_error: e.meta_error,
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
    description = "Ordered by `uploaded_at`, then path, then photographer, all descending; \
                   with `sort=captured_at` by capture time, then path, then photographer, \
                   ascending (photos without a capture time last). Superseded photos are \
                   listed too, with `superseded_by`. Pages are cut by key, not offset: files \
                   added while paging do not shift later pages.",
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
    if q.camera_serial
        .as_ref()
        .is_some_and(|c| c.chars().count() > 128)
    {
        return Err(AdminApiError::invalid(
            "camera_serial is at most 128 characters",
        ));
    }
    let filter = admin::UploadFilter {
        photographer,
        camera_serial: q.camera_serial.as_deref(),
        order: match q.sort {
            Some(UploadSort::CapturedAt) => admin::UploadOrder::Captured,
            _ => admin::UploadOrder::Uploaded,
        },
    };
    let (rows, next) = admin::event_uploads(
        gw.catalog(),
        id,
        &filter,
        after.as_ref(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    )
    .await?;
    Ok(Json(UploadPage {
        items: rows.into_iter().map(Upload::from).collect(),
        next_cursor: next.as_ref().map(encode_uploads),
    }))
}

/// One photo, and how it stands to the photo it replaced or was replaced by.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadDetail {
    #[serde(flatten)]
    pub upload: Upload,
    /// The earlier photo this one took the name of (the event keeps both), if any.
    pub supersedes: Option<String>,
}

/// Photo ids are the lowercase ULIDs of their object keys.
fn check_photo_id(id: &str) -> Result<&str, AdminApiError> {
    if id.len() == 26
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    {
        Ok(id)
    } else {
        Err(AdminApiError::invalid(format!(
            "invalid photo id {id:?}: 26 characters 0-9 a-z, as listed in an event's uploads"
        )))
    }
}

async fn find(gw: &Gateway, id: &str) -> Result<UploadRow, AdminApiError> {
    let id = check_photo_id(id)?;
    gw.catalog()
        .upload_by_id(id)
        .await
        .map_err(AdminApiError::from)?
        .ok_or_else(|| {
            AdminApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                format!("no photo with id {id}"),
            )
        })
}

#[utoipa::path(
    get,
    operation_id = "get_upload",
    path = "/api/v1/uploads/{id}",
    tag = "uploads",
    summary = "One photo",
    description = "A photo in a photographer's folder or a superseded one, with what it supersedes \
                   or is superseded by.",
    params(("id" = String, Path, pattern = "^[0-9a-z]{26}$")),
    responses(
        (status = 200, description = "The photo", body = UploadDetail),
        (status = 404, description = "No such photo", body = ErrorBody),
    )
)]
async fn get_one(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UploadDetail>, AdminApiError> {
    let row = find(&gw, &id).await?;
    let supersedes = gw
        .catalog()
        .superseded_by(&id)
        .await
        .map_err(AdminApiError::from)?;
    Ok(Json(UploadDetail {
        upload: row.into(),
        supersedes,
    }))
}

#[utoipa::path(
    get,
    operation_id = "get_upload_content",
    path = "/api/v1/uploads/{id}/content",
    tag = "uploads",
    summary = "A photo's bytes",
    description = "Exactly the bytes that were uploaded, superseded photos included.",
    params(("id" = String, Path, pattern = "^[0-9a-z]{26}$")),
    responses(
        (status = 200, description = "The photo", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such photo", body = ErrorBody),
    )
)]
async fn content(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::response::Response, AdminApiError> {
    let row = find(&gw, &id).await?;
    let key = row.object_key.clone().unwrap_or_default();
    let stream = gw
        .blobs()
        .read(&key, 0)
        .await
        .map_err(AdminApiError::from)?;
    let name = row
        .path
        .rsplit('/')
        .next()
        .unwrap_or("photo")
        .replace(['"', '\\'], "_");
    axum::response::Response::builder()
        .status(axum::http::StatusCode::OK)
        .header(
            axum::http::header::CONTENT_TYPE,
            row.content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        )
        .header(axum::http::header::CONTENT_LENGTH, row.size)
        .header(
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", name.escape_default()),
        )
        .body(axum::body::Body::from_stream(stream))
        .map_err(|e| AdminApiError::from(crate::base::error::CoreError::Storage(e.to_string())))
}
