//! `/api/v1/events`: add, list, show (with usage counters), change settings and status.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    AdminApiError, ApiJson, ApiPath, Caller, ErrorBody, EventState, FileType, OnNameClash,
    check_event_id, check_quantity, double_opt_int, double_option, file_types, opt_int, opt_time,
    parse_time, time,
};
use crate::core::gateway::Gateway;
use crate::ops::admin::{self, EventPatch, MAX_EVENT_NAME};
use crate::store::catalog::EventRow;

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    #[schema(example = "gala-2026")]
    pub id: String,
    #[schema(example = "Summer Gala 2026")]
    pub name: String,
    pub status: EventState,
    /// Uploads are refused before this time (null: no start).
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// Uploads are refused from this time on (null: no end).
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// Quota of the whole event in bytes (null: none).
    pub max_bytes: Option<i64>,
    /// Quota of the whole event in files (null: none).
    pub max_files: Option<i64>,
    /// Largest single file in bytes (null: the deployment's limit).
    pub max_file_size: Option<i64>,
    /// File types accepted (null: the deployment's default).
    pub allowed_types: Option<Vec<FileType>>,
    /// Bytes stored, as the quota counts them.
    pub used_bytes: i64,
    /// Files stored, as the quota counts them.
    pub used_files: i64,
    pub on_name_clash: OnNameClash,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<EventRow> for Event {
    fn from(e: EventRow) -> Self {
        Event {
            status: EventState::of(&e.status),
            starts_at: opt_time(e.starts_at),
            ends_at: opt_time(e.ends_at),
            allowed_types: file_types(e.allowed_types.as_deref()),
            id: e.id,
            name: e.name,
            max_bytes: e.max_bytes,
            max_files: e.max_files,
            max_file_size: e.max_file_size,
            used_bytes: e.used_bytes,
            used_files: e.used_files,
            on_name_clash: OnNameClash::of(&e.on_name_clash),
            created_at: time(e.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub items: Vec<Event>,
}

/// A new event; it starts `open`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[schema(example = "gala-2026", pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")]
    pub id: String,
    /// Defaults to the id (so does an empty or blank name).
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
    /// RFC 3339; must be before `ends_at` when both are set.
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    #[serde(default, deserialize_with = "opt_int")]
    #[schema(minimum = 0, maximum = 9007199254740991_i64)]
    pub max_bytes: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    #[schema(minimum = 0, maximum = 9007199254740991_i64)]
    pub max_files: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    #[schema(minimum = 1, maximum = 9007199254740991_i64)]
    pub max_file_size: Option<i64>,
    #[schema(min_items = 1)]
    pub allowed_types: Option<Vec<FileType>>,
    /// Default `keep_both`.
    pub on_name_clash: Option<OnNameClash>,
}

/// Changes to an event. An absent field stays as it is; `null` clears a window bound, a quota,
/// the size limit or the allowed types (back to the deployment's default).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventChanges {
    /// A blank name sets the name back to the id; null leaves it.
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
    /// null leaves it.
    pub status: Option<EventState>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 9007199254740991_i64)]
    pub max_bytes: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 9007199254740991_i64)]
    pub max_files: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_opt_int")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 9007199254740991_i64)]
    pub max_file_size: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<FileType>>, min_items = 1)]
    pub allowed_types: Option<Option<Vec<FileType>>>,
    /// null leaves it.
    pub on_name_clash: Option<OnNameClash>,
}

fn check_name(name: Option<&str>) -> Result<(), AdminApiError> {
    match name {
        Some(n) if n.chars().count() > MAX_EVENT_NAME => Err(AdminApiError::invalid(format!(
            "event name must be at most {MAX_EVENT_NAME} characters"
        ))),
        _ => Ok(()),
    }
}

fn time_change(
    what: &str,
    v: Option<Option<String>>,
) -> Result<Option<Option<i64>>, AdminApiError> {
    v.map(|t| t.map(|s| parse_time(what, &s)).transpose())
        .transpose()
}

fn quantity_change(
    what: &str,
    v: Option<Option<i64>>,
    min: i64,
) -> Result<Option<Option<i64>>, AdminApiError> {
    check_quantity(what, v.flatten(), min)?;
    Ok(v)
}

fn types_change(
    v: Option<Option<Vec<FileType>>>,
) -> Option<Option<Vec<crate::base::sniff::TypeGroup>>> {
    v.map(|t| t.map(|list| list.into_iter().map(Into::into).collect()))
}

impl EventChanges {
    fn into_patch(self) -> Result<EventPatch, AdminApiError> {
        check_name(self.name.as_deref())?;
        Ok(EventPatch {
            name: self.name,
            status: self.status.map(Into::into),
            starts_at: time_change("starts_at", self.starts_at)?,
            ends_at: time_change("ends_at", self.ends_at)?,
            max_bytes: quantity_change("max_bytes", self.max_bytes, 0)?,
            max_files: quantity_change("max_files", self.max_files, 0)?,
            max_file_size: quantity_change("max_file_size", self.max_file_size, 1)?,
            allowed_types: types_change(self.allowed_types),
            on_name_clash: self.on_name_clash.map(Into::into),
        })
    }
}

#[utoipa::path(
    get,
    operation_id = "list_events",
    path = "/api/v1/events",
    tag = "events",
    summary = "List events",
    responses((status = 200, description = "Every event, by id", body = EventList))
)]
async fn list(
    State(gw): State<Gateway>,
    _caller: Caller,
) -> Result<Json<EventList>, AdminApiError> {
    let items = admin::list_events(gw.catalog()).await?;
    Ok(Json(EventList {
        items: items.into_iter().map(Event::from).collect(),
    }))
}

#[utoipa::path(
    post,
    operation_id = "create_event",
    path = "/api/v1/events",
    tag = "events",
    summary = "Add an event",
    request_body = NewEvent,
    responses(
        (status = 201, description = "Added", body = Event,
         headers(("Location" = String, description = "The event's URL"))),
        (status = 409, description = "An event with that id exists", body = ErrorBody),
    )
)]
async fn create(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiJson(req): ApiJson<NewEvent>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Event>), AdminApiError> {
    let id = check_event_id(&req.id)?.to_string();
    let name = req.name.clone();
    check_name(name.as_deref())?;
    // The same checks as a PATCH of a fresh event; `create_event` runs them before writing.
    let patch = EventChanges {
        name: None,
        status: None,
        starts_at: req.starts_at.map(Some),
        ends_at: req.ends_at.map(Some),
        max_bytes: req.max_bytes.map(Some),
        max_files: req.max_files.map(Some),
        max_file_size: req.max_file_size.map(Some),
        allowed_types: req.allowed_types.map(Some),
        on_name_clash: req.on_name_clash,
    }
    .into_patch()?;
    let ev = admin::create_event(gw.catalog(), &id, name.as_deref(), &patch).await?;
    caller
        .record(&gw, "admin.event.add", None, Some(&ev.id))
        .await;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/events/{}", ev.id))],
        Json(ev.into()),
    ))
}

#[utoipa::path(
    get,
    operation_id = "get_event",
    path = "/api/v1/events/{id}",
    tag = "events",
    summary = "Show an event with its settings and usage counters",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 404, description = "No such event", body = ErrorBody),
    )
)]
async fn get_one(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Event>, AdminApiError> {
    let id = check_event_id(&id)?;
    Ok(Json(admin::get_event(gw.catalog(), id).await?.into()))
}

#[utoipa::path(
    patch,
    operation_id = "update_event",
    path = "/api/v1/events/{id}",
    tag = "events",
    summary = "Change an event's name, status, window, quotas or allowed types",
    description = "Applied in one statement; uploads see the new settings on their next check. \
                   Lowering a quota below the usage is allowed: further uploads are refused.",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")),
    request_body = EventChanges,
    responses(
        (status = 200, description = "The event as changed", body = Event),
        (status = 404, description = "No such event", body = ErrorBody),
    )
)]
async fn update(
    State(gw): State<Gateway>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<EventChanges>,
) -> Result<Json<Event>, AdminApiError> {
    let id = check_event_id(&id)?;
    let patch = req.into_patch()?;
    let ev = admin::update_event(gw.catalog(), id, &patch).await?;
    if patch != EventPatch::default() {
        caller
            .record(&gw, "admin.event.update", None, Some(&ev.id))
            .await;
    }
    Ok(Json(ev.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_bodies_tell_absent_from_null() {
        let c: EventChanges =
            serde_json::from_str(r#"{"max_bytes": null, "ends_at": "2026-06-01T18:00:00Z"}"#)
                .unwrap();
        let p = c.into_patch().unwrap();
        assert_eq!(p.max_bytes, Some(None), "null clears");
        assert_eq!(p.max_files, None, "absent stays");
        assert_eq!(p.ends_at, Some(Some(1_780_336_800_000)));
        let c: EventChanges =
            serde_json::from_str(r#"{"allowed_types": ["jpeg", "raw"], "status": "closed"}"#)
                .unwrap();
        let p = c.into_patch().unwrap();
        assert_eq!(
            p.allowed_types,
            Some(Some(vec![
                crate::base::sniff::TypeGroup::Jpeg,
                crate::base::sniff::TypeGroup::Raw
            ]))
        );
        assert_eq!(p.status, Some(crate::base::domain::EventStatus::Closed));
    }

    #[test]
    fn patch_bodies_are_checked() {
        for body in [
            r#"{"max_bytes": -1}"#,
            r#"{"max_file_size": 0}"#,
            r#"{"max_files": 9007199254740992}"#,
            r#"{"starts_at": "tomorrow"}"#,
        ] {
            let c: EventChanges = serde_json::from_str(body).unwrap();
            assert!(c.into_patch().is_err(), "{body}");
        }
        for body in [
            r#"{"bogus": 1}"#,
            r#"{"status": "paused"}"#,
            r#"{"allowed_types": ["gif"]}"#,
            r#"{"max_bytes": "10"}"#,
            r#"{"max_bytes": 1.5}"#,
        ] {
            assert!(
                serde_json::from_str::<EventChanges>(body).is_err(),
                "{body}"
            );
        }
    }
}
