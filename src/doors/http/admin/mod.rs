//! The admin REST API under `/api/v1` (issue 5): photographers, events, grants, usage, an
//! event's uploads, the audit log and admin tokens, described by an OpenAPI 3.1 document at
//! `/api/v1/openapi.json` that is generated from these handlers (utoipa).
//!
//! Handlers translate and dispatch to [`crate::ops::admin`], the functions the CLI calls too, so a
//! rule holds whichever way an operator works. What is added here is only what HTTP needs:
//! - [`Caller`]: `Authorization: Bearer <token>` checked against the stored token hashes; it
//!   runs before any other extractor, so an unauthenticated request learns nothing else.
//! - [`ApiJson`], [`ApiQuery`], [`ApiPath`]: axum's extractors with their rejections turned
//!   into this API's JSON errors.
//! - Identifiers are checked against the exact patterns the document declares (the core would
//!   also trim them), so what the document calls valid is what the API accepts.
//! - [`AdminApiError`]: `{"error": code, "message": sentence}` with 400/404/409 for the
//!   operator's mistakes and a 5xx only for the gateway's own failures.

mod audit;
mod cursor;
mod events;
mod grants;
mod notifications;
mod openapi;
mod photographers;
mod tokens;
mod uploads;
mod usage;

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::base::domain::{Door, EventStatus, Millis, NameClash, Role};
use crate::base::error::CoreError;
use crate::base::sniff::TypeGroup;
use crate::core::gateway::Gateway;
use crate::ops::admin::{self, AdminError};
use crate::store::catalog::AuditRecord;

/// The API's routes and its document. Mounted by the HTTP door next to HTTPFs.
pub fn routes() -> Router<Gateway> {
    let (router, doc) = openapi::router().split_for_parts();
    let doc = openapi::finish(doc);
    let body = Bytes::from(serde_json::to_vec(&doc).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise the OpenAPI document");
        b"{}".to_vec()
    }));
    router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .route("/api/v1/{*rest}", any(unknown_path))
}

async fn unknown_path() -> AdminApiError {
    AdminApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such admin API resource; the document is at /api/v1/openapi.json",
    )
}

// --- identifier patterns (the document declares these exact ones) --------------------------

// utoipa takes only literals in `pattern = …`; a test checks the document carries these.
/// Usernames: the core folds them to lowercase (as the CLI does); no surrounding spaces here.
#[cfg(test)]
pub(crate) const USERNAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$";
/// Event ids and token names are case-sensitive and lowercase.
#[cfg(test)]
pub(crate) const EVENT_ID_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{1,63}$";
/// Free text (event names, passwords): no control characters (Unicode Cc, as Rust counts them).
#[cfg(test)]
pub(crate) const NO_CONTROL_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// The largest quota or size the API accepts (2^53 - 1: exact in every JSON implementation).
pub(crate) const MAX_QUANTITY: i64 = 9_007_199_254_740_991;
/// Longest password accepted here, in characters (at most 1024 bytes, the core's limit).
pub(crate) const MAX_PASSWORD_CHARS: usize = 256;

fn ident_ok(s: &str, upper_ok: bool) -> bool {
    let b = s.as_bytes();
    let first = |c: u8| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || (upper_ok && c.is_ascii_uppercase())
    };
    (2..=64).contains(&b.len())
        && first(b[0])
        && b[1..]
            .iter()
            .all(|&c| first(c) || matches!(c, b'.' | b'_' | b'-'))
}

pub(crate) fn check_username(s: &str) -> Result<&str, AdminApiError> {
    if ident_ok(s, true) {
        Ok(s)
    } else {
        Err(AdminApiError::invalid(format!(
            "invalid username {s:?}: use 2 to 64 characters a-z 0-9 . _ - starting with a letter or digit"
        )))
    }
}

pub(crate) fn check_event_id(s: &str) -> Result<&str, AdminApiError> {
    if ident_ok(s, false) {
        Ok(s)
    } else {
        Err(AdminApiError::invalid(format!(
            "invalid event id {s:?}: use 2 to 64 characters a-z 0-9 . _ - starting with a letter or digit"
        )))
    }
}

pub(crate) fn check_password(p: &str) -> Result<(), AdminApiError> {
    if p.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AdminApiError::invalid(format!(
            "password must be at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

pub(crate) fn check_quantity(what: &str, v: Option<i64>, min: i64) -> Result<(), AdminApiError> {
    match v {
        Some(n) if !(min..=MAX_QUANTITY).contains(&n) => Err(AdminApiError::invalid(format!(
            "{what} must be from {min} to {MAX_QUANTITY}"
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn parse_time(what: &str, s: &str) -> Result<Millis, AdminApiError> {
    admin::parse_time(s).map_err(|e| AdminApiError::invalid(format!("{what}: {e}")))
}

pub(crate) fn time(ms: Millis) -> String {
    crate::base::domain::rfc3339(ms)
}

pub(crate) fn opt_time(ms: Option<Millis>) -> Option<String> {
    ms.map(time)
}

/// For `PATCH` bodies: a field that is absent stays as it is (`None`), `null` clears it
/// (`Some(None)`), a value sets it (`Some(Some(v))`). Use with `#[serde(default)]`.
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A whole number as JSON Schema counts one: `5` and `5.0` both (serde takes only the first).
struct WholeNumber(i64);

impl<'de> Deserialize<'de> for WholeNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = WholeNumber;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<WholeNumber, E> {
                Ok(WholeNumber(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<WholeNumber, E> {
                i64::try_from(v)
                    .map(WholeNumber)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<WholeNumber, E> {
                // 2^63 as f64 is just out of i64's range; everything below it converts exactly.
                if v.fract() == 0.0
                    && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v)
                {
                    Ok(WholeNumber(v as i64))
                } else {
                    Err(E::custom(format!("{v} is not a whole number in range")))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Optional integer fields of request bodies (with `#[serde(default)]`).
pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<WholeNumber>::deserialize(d)?.map(|n| n.0))
}

/// Clearable integer fields of `PATCH` bodies (with `#[serde(default)]`), see [`double_option`].
pub(crate) fn double_opt_int<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<i64>>, D::Error> {
    Ok(Some(opt_int(d)?))
}

// --- schema types shared by several resources --------------------------------------------

/// The file types an event may allow, as groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Jpeg,
    Png,
    Heif,
    Raw,
    Xmp,
    Video,
}

impl From<FileType> for TypeGroup {
    fn from(t: FileType) -> TypeGroup {
        match t {
            FileType::Jpeg => TypeGroup::Jpeg,
            FileType::Png => TypeGroup::Png,
            FileType::Heif => TypeGroup::Heif,
            FileType::Raw => TypeGroup::Raw,
            FileType::Xmp => TypeGroup::Xmp,
            FileType::Video => TypeGroup::Video,
        }
    }
}

impl From<TypeGroup> for FileType {
    fn from(g: TypeGroup) -> FileType {
        match g {
            TypeGroup::Jpeg => FileType::Jpeg,
            TypeGroup::Png => FileType::Png,
            TypeGroup::Heif => FileType::Heif,
            TypeGroup::Raw => FileType::Raw,
            TypeGroup::Xmp => FileType::Xmp,
            TypeGroup::Video => FileType::Video,
        }
    }
}

/// An event's stored `allowed_types`, as the API shows them (`None`: the deployment's default).
pub(crate) fn file_types(stored: Option<&str>) -> Option<Vec<FileType>> {
    stored.map(|s| {
        admin::stored_type_groups(s)
            .into_iter()
            .map(FileType::from)
            .collect()
    })
}

/// What a photographer may do in an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GrantRole {
    /// List, download, upload, overwrite, create directories, rename, delete (own files).
    Uploader,
    /// List and download.
    Viewer,
}

impl From<GrantRole> for Role {
    fn from(r: GrantRole) -> Role {
        match r {
            GrantRole::Uploader => Role::Uploader,
            GrantRole::Viewer => Role::Viewer,
        }
    }
}

impl GrantRole {
    pub(crate) fn of(stored: &str) -> GrantRole {
        match Role::parse(stored) {
            Ok(Role::Uploader) => GrantRole::Uploader,
            _ => GrantRole::Viewer,
        }
    }
}

/// An event's state: `open` (uploads allowed within its window), `closed` (read-only),
/// `archived` (gone from photographers' trees).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    Open,
    Closed,
    Archived,
}

/// What an upload does when the photographer already has a different photo under its name:
/// `keep_both` (the default: the new photo takes the name, the earlier one stays, superseded),
/// `replace` (the earlier one is deleted) or `refuse` (the upload fails: FTP 553, HTTPFs 409).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnNameClash {
    KeepBoth,
    Replace,
    Refuse,
}

impl From<OnNameClash> for NameClash {
    fn from(c: OnNameClash) -> NameClash {
        match c {
            OnNameClash::KeepBoth => NameClash::KeepBoth,
            OnNameClash::Replace => NameClash::Replace,
            OnNameClash::Refuse => NameClash::Refuse,
        }
    }
}

impl OnNameClash {
    pub(crate) fn of(stored: &str) -> OnNameClash {
        match NameClash::of(stored) {
            NameClash::KeepBoth => OnNameClash::KeepBoth,
            NameClash::Replace => OnNameClash::Replace,
            NameClash::Refuse => OnNameClash::Refuse,
        }
    }
}

impl From<EventState> for EventStatus {
    fn from(s: EventState) -> EventStatus {
        match s {
            EventState::Open => EventStatus::Open,
            EventState::Closed => EventStatus::Closed,
            EventState::Archived => EventStatus::Archived,
        }
    }
}

impl EventState {
    pub(crate) fn of(stored: &str) -> EventState {
        match EventStatus::parse(stored) {
            Ok(EventStatus::Open) => EventState::Open,
            Ok(EventStatus::Archived) => EventState::Archived,
            _ => EventState::Closed,
        }
    }
}

// --- errors --------------------------------------------------------------------------------

/// Every error answer of the admin API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid`, `unauthorized`, `unknown_photographer`, `unknown_event`,
    /// `no_such_grant`, `photographer_exists`, `event_exists`, `grant_exists`, `not_found`,
    /// `bad_json`, `invalid_body`, `unsupported_media_type`, `body_too_large`, `invalid_query`,
    /// `invalid_path`, `internal`…
    #[schema(example = "unknown_event")]
    pub error: String,
    /// What went wrong, in one sentence for a person.
    #[schema(example = "no event with id gala-2026")]
    pub message: String,
}

#[derive(Debug)]
pub struct AdminApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AdminApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl From<AdminError> for AdminApiError {
    fn from(e: AdminError) -> Self {
        let msg = e.to_string();
        match e {
            AdminError::Invalid(m) => Self::invalid(m),
            AdminError::PhotographerExists(_) => {
                Self::new(StatusCode::CONFLICT, "photographer_exists", msg)
            }
            AdminError::EventExists(_) => Self::new(StatusCode::CONFLICT, "event_exists", msg),
            AdminError::UnknownPhotographer(_) => {
                Self::new(StatusCode::NOT_FOUND, "unknown_photographer", msg)
            }
            AdminError::UnknownEvent(_) => Self::new(StatusCode::NOT_FOUND, "unknown_event", msg),
            AdminError::NoSuchGrant(..) => Self::new(StatusCode::NOT_FOUND, "no_such_grant", msg),
            AdminError::Core(c) => c.into(),
        }
    }
}

impl From<CoreError> for AdminApiError {
    fn from(e: CoreError) -> Self {
        let status = super::status_of(&e);
        if status.is_server_error() {
            // The details (SQL, paths) go to the log, not to the client.
            e.log_failure("admin API request failed");
            return Self::new(
                status,
                "internal",
                "the gateway could not complete the request; its log has the details",
            );
        }
        let code = match status {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::CONFLICT => "conflict",
            StatusCode::UNAUTHORIZED => "unauthorized",
            _ => "invalid",
        };
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::new(status, code, e.to_string())
    }
}

impl IntoResponse for AdminApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(ErrorBody {
                error: self.code.to_string(),
                message: self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ftpgate admin API\""),
            );
        }
        resp
    }
}

// --- extractors ----------------------------------------------------------------------------

/// An authenticated admin API caller: the name of their token and their address.
pub struct Caller {
    pub token: String,
    pub ip: Option<IpAddr>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<Gateway> for Caller {
    type Rejection = AdminApiError;

    async fn from_request_parts(parts: &mut Parts, gw: &Gateway) -> Result<Self, Self::Rejection> {
        let Some(presented) = bearer(&parts.headers) else {
            return Err(AdminApiError::unauthorized(
                "send Authorization: Bearer <token>; `ftpgate admin-token create NAME` makes one",
            ));
        };
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        match admin::admin_token_holder(gw.catalog(), presented).await {
            Ok(Some(token)) => Ok(Caller { token, ip }),
            Ok(None) => {
                tracing::info!(ip = ?ip, "admin API request with an unknown or revoked token");
                Err(AdminApiError::unauthorized(
                    "unknown or revoked admin token",
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Caller {
    /// Records a change made through the API in the audit log (door `admin`, the token's name in
    /// `detail`).
    pub(crate) async fn record(
        &self,
        gw: &Gateway,
        action: &'static str,
        photographer: Option<&str>,
        event: Option<&str>,
    ) {
        self.record_on(gw, action, photographer, event, None).await;
    }

    /// [`Caller::record`] of a change to something else (`target`), such as another token.
    pub(crate) async fn record_on(
        &self,
        gw: &Gateway,
        action: &'static str,
        photographer: Option<&str>,
        event: Option<&str>,
        target: Option<&str>,
    ) {
        gw.catalog()
            .audit(&AuditRecord {
                door: Door::Admin.as_str(),
                action,
                result: "ok".into(),
                photographer: photographer.map(str::to_string),
                event: event.map(str::to_string),
                target: target.map(str::to_string),
                ip: self.ip.map(|ip| ip.to_string()),
                detail: Some(format!("admin token {}", self.token)),
                ..Default::default()
            })
            .await;
    }
}

/// A JSON body. A missing `Content-Type` is read as JSON; another media type is a 415.
pub struct ApiJson<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(ct) = ct.to_str() else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AdminApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(AdminApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            let status = rej.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "body_too_large"
            } else {
                "bad_body"
            };
            AdminApiError::new(status, code, rej.body_text())
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AdminApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_json",
                "this request needs a JSON object as its body",
            ));
        }
        // serde also reads a struct from an array of its fields in order; the API does not.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                    Ok(_) => AdminApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_body",
                        "the body must be a JSON object",
                    ),
                    Err(e) => AdminApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_json",
                        format!("Failed to parse the request body as JSON: {e}"),
                    ),
                },
            );
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let status = rej.status();
                let code = if status == StatusCode::BAD_REQUEST {
                    "bad_json"
                } else {
                    "invalid_body"
                };
                Err(AdminApiError::new(status, code, rej.body_text()))
            }
        }
    }
}

/// Query parameters; unknown ones are refused (a misspelt filter must not silently widen a list).
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AdminApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|rej| {
                AdminApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rej.body_text())
            })
    }
}

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = AdminApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|rej| {
                let status = rej.status();
                if status.is_server_error() {
                    tracing::error!(error = %rej.body_text(), "admin API route without its parameters");
                }
                AdminApiError::new(status, "invalid_path", rej.body_text())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_the_documented_patterns() {
        for ok in ["ab", "a1", "0ab", "a.b-c_d", &"x".repeat(64)] {
            assert!(check_username(ok).is_ok(), "{ok}");
            assert!(check_event_id(ok).is_ok(), "{ok}");
        }
        assert!(
            check_username("Alice").is_ok(),
            "usernames fold, as in the CLI"
        );
        assert!(check_event_id("Wedding").is_err(), "event ids do not");
        for bad in [
            "a",
            "-ab",
            ".ab",
            "_ab",
            "a b",
            " ab",
            "ab ",
            "ab\n",
            "a/b",
            "ünï",
            "",
            "\u{212A}ab",
        ] {
            assert!(check_username(bad).is_err(), "{bad:?}");
            assert!(check_event_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_username(&"x".repeat(65)).is_err());
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer fgat_x"),
        );
        assert_eq!(bearer(&h), Some("fgat_x"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  fgat_y "),
        );
        assert_eq!(bearer(&h), Some("fgat_y"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn whole_numbers_are_read_as_json_schema_counts_them() {
        #[derive(Deserialize)]
        struct B {
            #[serde(default, deserialize_with = "opt_int")]
            n: Option<i64>,
            #[serde(default, deserialize_with = "double_opt_int")]
            m: Option<Option<i64>>,
        }
        let b = |s: &str| serde_json::from_str::<B>(s).map(|b| (b.n, b.m));
        assert_eq!(
            b(r#"{"n": 5, "m": 7.0}"#).unwrap(),
            (Some(5), Some(Some(7)))
        );
        assert_eq!(
            b(r#"{"n": 5e3, "m": null}"#).unwrap(),
            (Some(5000), Some(None))
        );
        assert_eq!(b("{}").unwrap(), (None, None));
        assert_eq!(b(r#"{"n": -0.0}"#).unwrap().0, Some(0));
        for bad in [
            r#"{"n": 5.5}"#,
            r#"{"n": "5"}"#,
            r#"{"n": true}"#,
            r#"{"n": 1e19}"#,
            r#"{"n": 18446744073709551615}"#,
            r#"{"m": [1]}"#,
        ] {
            assert!(b(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_media_types() {
        let mut h = HeaderMap::new();
        assert!(is_json(&h), "no Content-Type: read as JSON");
        for (ct, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(is_json(&h), ok, "{ct}");
        }
    }

    #[test]
    fn errors_map_to_statuses() {
        let s = |e: AdminError| AdminApiError::from(e).status;
        assert_eq!(s(AdminError::Invalid("x".into())), StatusCode::BAD_REQUEST);
        assert_eq!(
            s(AdminError::UnknownEvent("e".into())),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s(AdminError::UnknownPhotographer("p".into())),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s(AdminError::NoSuchGrant("p".into(), "e".into())),
            StatusCode::NOT_FOUND
        );
        assert_eq!(s(AdminError::EventExists("e".into())), StatusCode::CONFLICT);
        assert_eq!(
            s(AdminError::PhotographerExists("p".into())),
            StatusCode::CONFLICT
        );
        assert_eq!(
            s(AdminError::Core(CoreError::AlreadyExists)),
            StatusCode::CONFLICT
        );
        let internal =
            AdminApiError::from(AdminError::Core(CoreError::Catalog("SELECT secret".into())));
        assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !internal.message.contains("secret"),
            "no SQL in client answers"
        );
    }
}
