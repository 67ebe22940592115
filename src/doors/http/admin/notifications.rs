//! `/api/v1/notifications`: the upload-notification outbox, so an operator sees what is still
//! pending and what went dead (undelivered past `webhook.max_age_secs`); and
//! `/api/v1/events/{id}/webhook`: where one event's notifications go instead of the
//! deployment's webhook.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminApiError, ApiJson, ApiPath, ApiQuery, Caller, opt_time, time};
use crate::core::gateway::Gateway;
use crate::ops::admin::{self, AdminError};

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(set_webhook))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationFilter {
    /// `pending`, `delivered` or `dead` (default: every status).
    #[param(pattern = "^(pending|delivered|dead)$")]
    pub status: Option<String>,
    /// Rows, newest first (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// One notification (its payload is what the receiver gets).
#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub event: String,
    pub photographer: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub next_attempt_at: String,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    pub last_error: Option<String>,
    pub url: String,
    /// The JSON body sent to the receiver.
    pub payload: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<Notification>,
}

#[utoipa::path(
    get,
    operation_id = "list_notifications",
    path = "/api/v1/notifications",
    tag = "notifications",
    summary = "Upload notifications, newest first",
    params(NotificationFilter),
    responses((status = 200, description = "Notifications", body = NotificationList))
)]
async fn list(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiQuery(f): ApiQuery<NotificationFilter>,
) -> Result<Json<NotificationList>, AdminApiError> {
    let limit = f.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AdminError::Invalid("limit must be between 1 and 1000".into()).into());
    }
    if let Some(s) = &f.status
        && !matches!(s.as_str(), "pending" | "delivered" | "dead")
    {
        return Err(AdminError::Invalid("status must be pending, delivered or dead".into()).into());
    }
    let rows = admin::list_notifications(gw.catalog(), f.status.as_deref(), limit).await?;
    Ok(Json(NotificationList {
        items: rows
            .into_iter()
            .map(|r| Notification {
                id: r.id,
                event: r.event,
                photographer: r.photographer,
                status: r.status,
                attempts: r.attempts,
                created_at: time(r.created_at),
                next_attempt_at: time(r.next_attempt_at),
                delivered_at: opt_time(r.delivered_at),
                last_error: r.last_error,
                url: r.url,
                payload: r.payload,
            })
            .collect(),
    }))
}

/// Where an event's notifications go; both null: the deployment's webhook.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventWebhook {
    /// `http://` or `https://` URL, or null.
    #[schema(
        max_length = 2048,
        pattern = "^https?://[^/?#@:\\[\\]\\u0000-\\u0020\\u007f-\\u009f]+(:([1-5]?[0-9]{1,4}|6[0-4][0-9]{3}))?([/?#][^\\u0000-\\u001f\\u007f-\\u009f]*)?$"
    )]
    pub url: Option<String>,
    /// HMAC-SHA256 key for `webhook-signature` (and `X-Ftpgate-Signature`), or null. Never
    /// shown back.
    #[schema(max_length = 1024, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub secret: Option<String>,
    /// Only these notification types are sent for this event; null or absent: all of them.
    #[serde(default)]
    #[schema(min_items = 1)]
    pub types: Option<Vec<NotificationType>>,
}

/// The type of a notification (its CloudEvent `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum NotificationType {
    #[serde(rename = "photo.created")]
    PhotoCreated,
    #[serde(rename = "photo.superseded")]
    PhotoSuperseded,
    #[serde(rename = "photo.deleted")]
    PhotoDeleted,
    #[serde(rename = "upload.rejected")]
    UploadRejected,
}

impl NotificationType {
    fn name(self) -> &'static str {
        match self {
            NotificationType::PhotoCreated => "photo.created",
            NotificationType::PhotoSuperseded => "photo.superseded",
            NotificationType::PhotoDeleted => "photo.deleted",
            NotificationType::UploadRejected => "upload.rejected",
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventWebhookState {
    pub url: Option<String>,
    pub has_secret: bool,
    /// The types sent; null: all.
    pub types: Option<Vec<NotificationType>>,
}

#[utoipa::path(
    put,
    operation_id = "set_event_webhook",
    path = "/api/v1/events/{id}/webhook",
    tag = "notifications",
    summary = "Send this event's notifications to its own receiver (null: the deployment's)",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")),
    request_body = EventWebhook,
    responses(
        (status = 200, description = "Saved", body = EventWebhookState),
        (status = 404, description = "No such event", body = super::ErrorBody),
    )
)]
async fn set_webhook(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EventWebhook>,
) -> Result<Json<EventWebhookState>, AdminApiError> {
    let types: Option<Vec<String>> = body
        .types
        .as_ref()
        .map(|t| t.iter().map(|t| t.name().to_string()).collect());
    admin::set_event_webhook(
        gw.catalog(),
        &id,
        body.url.as_deref(),
        body.secret.as_deref(),
        types.as_deref(),
    )
    .await?;
    // Where an event's photos are announced is a mutation like any other: audited.
    caller
        .record(&gw, "admin.event.webhook", None, Some(&id))
        .await;
    Ok(Json(EventWebhookState {
        url: body.url.filter(|u| !u.is_empty()),
        has_secret: body.secret.is_some_and(|s| !s.is_empty()),
        types: body.types,
    }))
}
