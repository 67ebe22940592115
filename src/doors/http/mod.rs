//! The HTTP door: SFTPGo's external auth hook (`POST /ftp/auth`), the HTTPFs backend
//! (`/ftp/v1/…`, CONTRACT §1) and health endpoints. Handlers translate and dispatch; the rules
//! live in the core. Core errors map to HTTP status codes here, once.

mod admin;
mod auth_hook;
mod health;
mod httpfs;
mod serve;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::base::error::CoreError;
use crate::core::gateway::Gateway;

pub use serve::serve;

/// Every request gets an id (or keeps the caller's `x-request-id`), echoed in the response and
/// carried by every log line of the request. The span records method and path only: keys and
/// tokens travel in headers, which are never logged.
pub fn router(gw: Gateway) -> Router {
    use tower_http::request_id::{
        MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
    };

    #[derive(Clone, Copy)]
    struct UlidRequestId;
    impl MakeRequestId for UlidRequestId {
        fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
            axum::http::HeaderValue::from_str(&ulid::Ulid::new().to_string())
                .ok()
                .map(RequestId::new)
        }
    }

    // `user` is filled in once a key or token names the caller. 5xx answers are logged by
    // the handlers themselves (kind at ERROR, detail at WARN), so the trace layer stays quiet:
    // a 501 for chmod or a 507 for a full quota is part of the contract, not a failure.
    let trace = tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let client = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default();
            let path = req.uri().path();
            let door = if path.starts_with("/ftp/") {
                "sftpgo"
            } else if path.starts_with("/api/") {
                "admin"
            } else {
                "http"
            };
            tracing::info_span!("request", request_id = %id, door = %door, client = %client,
                user = tracing::field::Empty, method = %req.method(), path = %path)
        })
        .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG));
    Router::new()
        .merge(auth_hook::routes())
        .merge(httpfs::routes())
        .merge(health::routes())
        .fallback(unmatched)
        .method_not_allowed_fallback(wrong_method)
        .merge(admin::routes())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(UlidRequestId))
        .with_state(gw)
}

/// Requests that match no route can still carry an upload body (a client that sent a raw '/'
/// in an HTTPFs name): read it, bounded, before answering, so the answer is not lost to a
/// TCP reset.
async fn unmatched(body: axum::body::Body) -> Response {
    httpfs::drain(body.into_data_stream()).await;
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "message": "Not Found", "error": "no such endpoint" })),
    )
        .into_response()
}

async fn wrong_method(body: axum::body::Body) -> Response {
    httpfs::drain(body.into_data_stream()).await;
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(json!({ "message": "Method Not Allowed", "error": "this endpoint takes another method" })),
    )
        .into_response()
}

/// SFTPGo reads only the status (CONTRACT §1.4): 401/403 → permission denied, 404 → not found,
/// 501 → unsupported, anything else but 200/201 → a generic failure. The JSON body is for people
/// reading logs.
pub fn status_of(e: &CoreError) -> StatusCode {
    match e {
        CoreError::NotFound => StatusCode::NOT_FOUND,
        CoreError::Denied(_) => StatusCode::FORBIDDEN,
        CoreError::Unauthorized | CoreError::LockedOut => StatusCode::UNAUTHORIZED,
        CoreError::BadName(_) | CoreError::BadRequest(_) | CoreError::Aborted => {
            StatusCode::BAD_REQUEST
        }
        CoreError::NotAllowedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        // Not a 4xx SFTPGo maps to "permission denied" or "not found": a failed transfer.
        CoreError::Incomplete(_) => StatusCode::UNPROCESSABLE_ENTITY,
        CoreError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        CoreError::QuotaExceeded(_) => StatusCode::INSUFFICIENT_STORAGE,
        CoreError::AlreadyExists
        | CoreError::NameTaken
        | CoreError::NotEmpty
        | CoreError::NotADirectory
        | CoreError::IsADirectory => StatusCode::CONFLICT,
        CoreError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
        CoreError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        CoreError::Catalog(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub struct ApiError(pub CoreError);

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError(e)
    }
}

impl From<crate::base::vpath::PathError> for ApiError {
    fn from(e: crate::base::vpath::PathError) -> Self {
        ApiError(CoreError::BadName(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        match &self.0 {
            // Answers of the contract that refuse nothing: a missing file (SFTPGo stats
            // before every upload), chmod's 501.
            CoreError::NotFound | CoreError::Unsupported(_) => {
                tracing::debug!(status = status.as_u16(), reason = %self.0, "answered");
            }
            CoreError::Storage(_) | CoreError::Catalog(_) => self.0.log_failure("request failed"),
            // A refusal: one line with the caller (in the span), the reason and the reply.
            e => {
                tracing::info!(status = status.as_u16(), reason = %e.public_message(), "request refused")
            }
        }
        (status, axum::Json(json!({ "message": status.canonical_reason().unwrap_or(""), "error": self.0.public_message() })))
            .into_response()
    }
}
