//! SFTPGo's HTTPFs backend API: 13 endpoints under `/ftp/v1` (CONTRACT §1).
//!
//! The name is ONE percent-encoded path segment (`/stat/%2Fdir%2Ffile.jpg`). We route on the raw
//! path and decode the segment once ourselves (`+` stays `+`), so `%2F` is never a separator
//! and double-encoded input stays literal. Success is only ever 200 or 201.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use base64::Engine;
use futures_util::StreamExt;
use serde_json::json;

use super::ApiError;
use crate::base::domain::{Door, rfc3339};
use crate::base::error::CoreError;
use crate::base::vpath::VPath;
use crate::core::gateway::{FileInfo, Gateway};
use crate::core::identity::Session;
use crate::core::ingest::UploadOptions;

/// Go's `os.ModeDir` | 0755 and a plain 0644 file: what `ls -l` and FTP `LIST` show.
pub const DIR_MODE: u32 = (1 << 31) | 0o755;
pub const FILE_MODE: u32 = 0o644;
/// Linux `O_EXCL` as SFTPGo forwards it in `flags`.
const O_EXCL: i64 = 0o200;
/// SFTPGo's `CheckParentDir`: the parent must already exist.
const CHECK_PARENT_DIR: i64 = 1;

pub fn routes() -> Router<Gateway> {
    Router::new()
        .route("/ftp/v1/stat/{name}", get(stat))
        .route("/ftp/v1/open/{name}", get(open))
        .route(
            "/ftp/v1/create/{name}",
            post(create).layer(DefaultBodyLimit::disable()),
        )
        .route("/ftp/v1/rename/{name}", patch(rename))
        .route("/ftp/v1/remove/{name}", delete(remove))
        .route("/ftp/v1/mkdir/{name}", post(mkdir))
        .route("/ftp/v1/chmod/{name}", patch(chmod))
        .route("/ftp/v1/chtimes/{name}", patch(chtimes))
        .route("/ftp/v1/truncate/{name}", patch(truncate))
        .route("/ftp/v1/readdir/{name}", get(readdir))
        .route("/ftp/v1/dirsize/{name}", get(dirsize))
        .route("/ftp/v1/statvfs/{name}", get(statvfs))
        .route("/ftp/v1/mimetype/{name}", get(mimetype))
}

/// An authenticated HTTPFs call: who (from the key) and on which path (decoded once, checked).
pub struct Call {
    session: Session,
    path: VPath,
    query: Vec<(String, String)>,
    raw_query: String,
}

impl Call {
    /// A path in the query, as Go's `url.QueryEscape` encoded it ('+' is a space), decoded
    /// strictly (a bad escape or non-UTF-8 is an error, never silently repaired).
    fn path_param(&self, name: &str) -> Option<Result<VPath, crate::base::vpath::PathError>> {
        self.raw_query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| VPath::from_percent_encoded(&v.replace('+', "%20")))
        })
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn int_param(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.param(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError(CoreError::BadRequest(format!(
                        "query parameter {name} must be an integer"
                    )))
                })
            })
            .transpose()
    }
}

/// The caller's key: `X-API-KEY`, or the password of Basic auth.
fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok())
        && !k.is_empty()
    {
        return Some(k.to_string());
    }
    let basic = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (_, password) = decoded.split_once(':')?;
    (!password.is_empty()).then(|| password.to_string())
}

impl FromRequestParts<Gateway> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gw: &Gateway) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let key = presented_key(&parts.headers).ok_or(CoreError::Unauthorized)?;
        let session = gw
            .identity()
            .session_from_key(&key, ip, Door::Sftpgo)
            .await?;
        tracing::Span::current().record("user", tracing::field::display(&session.username));
        // "/ftp/v1/{op}/{name}": the name is the raw fifth piece, still percent-encoded.
        let raw = parts.uri.path().splitn(5, '/').nth(4).unwrap_or_default();
        let path = VPath::from_percent_encoded(raw)?;
        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let raw_query = parts.uri.query().unwrap_or_default().to_string();
        Ok(Call {
            session,
            path,
            query,
            raw_query,
        })
    }
}

fn file_info_json(fi: &FileInfo) -> serde_json::Value {
    let mut v = json!({
        "name": fi.name,
        "size": fi.size,
        "mode": if fi.is_dir { DIR_MODE } else { FILE_MODE },
        "last_modified": rfc3339(fi.mtime),
    });
    if let Some(m) = &fi.mime {
        v["mime"] = json!(m);
    }
    v
}

fn ok(message: &str) -> Response {
    (StatusCode::OK, Json(json!({ "message": message }))).into_response()
}

async fn stat(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    let fi = gw.stat(&c.session, &c.path).await?;
    Ok(Json(file_info_json(&fi)).into_response())
}

async fn readdir(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    let list = gw.read_dir(&c.session, &c.path).await?;
    Ok(Json(list.iter().map(file_info_json).collect::<Vec<_>>()).into_response())
}

async fn open(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    let offset = c.int_param("offset")?.unwrap_or(0);
    let offset = u64::try_from(offset)
        .map_err(|_| CoreError::BadRequest("offset must not be negative".into()))?;
    let d = gw.open(&c.session, &c.path, offset).await?;
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, d.size - d.offset)
        .body(Body::from_stream(d.stream))
        .map_err(|e| CoreError::Storage(e.to_string()))?)
}

/// How much of a refused upload's body we read and discard before answering. Closing a
/// socket with unread data makes the kernel send a reset, which can destroy our error reply
/// before the client reads it; draining a bounded amount lets the status arrive.
const DRAIN_LIMIT_BYTES: u64 = 64 << 20;
const DRAIN_LIMIT_TIME: std::time::Duration = std::time::Duration::from_secs(15);

pub(crate) async fn drain(mut stream: axum::body::BodyDataStream) {
    let mut seen = 0u64;
    let _ = tokio::time::timeout(DRAIN_LIMIT_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len() as u64;
            if seen > DRAIN_LIMIT_BYTES {
                break;
            }
        }
    })
    .await;
}

async fn create(
    State(gw): State<Gateway>,
    call: Result<Call, ApiError>,
    body: Body,
) -> Result<Response, ApiError> {
    let mut stream = body.into_data_stream();
    let (c, opts) = match call.and_then(|c| {
        let flags = c.int_param("flags")?.unwrap_or(0);
        let checks = c.int_param("checks")?.unwrap_or(0);
        let opts = UploadOptions {
            exclusive: flags & O_EXCL != 0,
            parent_must_exist: checks & CHECK_PARENT_DIR != 0,
        };
        Ok((c, opts))
    }) {
        Ok(v) => v,
        Err(e) => {
            drain(stream).await;
            return Err(e);
        }
    };
    // In its own task: if the client (SFTPGo) goes away, the body stream ends in an error and
    // the upload is aborted cleanly, instead of the future being dropped halfway.
    let task = tokio::spawn(async move {
        let mut upload = match gw.begin_upload(&c.session, &c.path, opts).await {
            Ok(u) => u,
            Err(e) => {
                drain(stream).await;
                return Err(e);
            }
        };
        // A stalled body holds S3 buffer memory every other upload needs: bound the wait.
        let stall = Duration::from_secs(gw.config().upload.body_idle_timeout_secs);
        loop {
            let res = match tokio::time::timeout(stall, stream.next()).await {
                Ok(None) => break,
                Ok(Some(Ok(bytes))) => upload.write(bytes).await,
                Ok(Some(Err(_))) => Err(CoreError::Aborted),
                Err(_) => {
                    tracing::warn!(
                        path = %c.path, idle_secs = stall.as_secs(),
                        "upload body stalled: aborted, nothing stored (upload.body_idle_timeout_secs)"
                    );
                    upload.abort(&CoreError::Aborted).await;
                    return Err(CoreError::Aborted);
                }
            };
            if let Err(e) = res {
                upload.abort(&e).await;
                if !matches!(e, CoreError::Aborted) {
                    drain(stream).await;
                }
                return Err(e);
            }
        }
        upload.finish().await
    });
    match task.await {
        Ok(Ok(_)) => {
            Ok((StatusCode::CREATED, Json(json!({ "message": "created" }))).into_response())
        }
        Ok(Err(e)) => Err(e.into()),
        Err(e) => Err(CoreError::Storage(format!("upload task failed: {e}")).into()),
    }
}

async fn rename(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    let target = c
        .path_param("target")
        .ok_or_else(|| CoreError::BadRequest("missing target".into()))??;
    gw.rename(&c.session, &c.path, &target).await?;
    Ok(ok("renamed"))
}

async fn remove(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    gw.remove(&c.session, &c.path).await?;
    Ok(ok("removed"))
}

async fn mkdir(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    gw.mkdir(&c.session, &c.path).await?;
    Ok((StatusCode::CREATED, Json(json!({ "message": "created" }))).into_response())
}

/// Photos have no Unix modes; SFTPGo's `setstat_mode` keeps clients from asking.
async fn chmod(_c: Call) -> Result<Response, ApiError> {
    Err(CoreError::Unsupported("chmod: files here have no Unix permissions").into())
}

async fn chtimes(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    let mt = c
        .param("modification_time")
        .ok_or_else(|| CoreError::BadRequest("missing modification_time".into()))?;
    let mt = crate::base::domain::parse_rfc3339(mt)
        .ok_or_else(|| CoreError::BadRequest("modification_time must be RFC 3339".into()))?;
    gw.set_mtime(&c.session, &c.path, mt).await?;
    Ok(ok("times set"))
}

async fn truncate(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    let size = c
        .int_param("size")?
        .ok_or_else(|| CoreError::BadRequest("missing size".into()))?;
    let size = u64::try_from(size)
        .map_err(|_| CoreError::BadRequest("size must not be negative".into()))?;
    gw.truncate(&c.session, &c.path, size).await?;
    Ok(ok("truncated"))
}

async fn dirsize(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    let (files, size) = gw.dir_size(&c.session, &c.path).await?;
    Ok(Json(json!({ "files": files, "size": size })).into_response())
}

async fn statvfs(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    const BLOCK: u64 = 4096;
    let s = gw.space(&c.session, &c.path).await?;
    Ok(Json(json!({
        "bsize": BLOCK,
        "frsize": BLOCK,
        "blocks": s.total_bytes.div_ceil(BLOCK),
        "bfree": s.free_bytes / BLOCK,
        "bavail": s.free_bytes / BLOCK,
        "files": s.total_files,
        "ffree": s.free_files,
        "favail": s.free_files,
        "fsid": 0,
        "flag": 0,
        "namemax": crate::base::vpath::MAX_SEGMENT_BYTES,
    }))
    .into_response())
}

async fn mimetype(State(gw): State<Gateway>, c: Call) -> Result<Response, ApiError> {
    let fi = gw.stat(&c.session, &c.path).await?;
    let mime = if fi.is_dir {
        "inode/directory".to_string()
    } else {
        fi.mime.unwrap_or_else(|| "application/octet-stream".into())
    };
    Ok(Json(json!({ "mime": mime })).into_response())
}
