//! `/api/v1/audit`: the audit log (logins, file operations, refusals, admin changes), newest
//! first, filtered by event, photographer, client address and time range.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cursor::{decode_audit, encode_audit};
use super::{AdminApiError, ApiQuery, Caller, check_event_id, check_username, parse_time, time};
use crate::base::domain::Username;
use crate::core::gateway::Gateway;
use crate::ops::admin;
use crate::store::catalog::{AuditQuery, AuditRow};

/// Rows per page when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 100;

pub fn routes() -> OpenApiRouter<Gateway> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{1,63}$")]
    pub event: Option<String>,
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]
    pub photographer: Option<String>,
    /// The client address, exactly (IPv4 or IPv6).
    #[param(pattern = "^[0-9A-Fa-f:.]{2,45}$")]
    pub ip: Option<String>,
    /// From this time on (inclusive), RFC 3339.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Before this time (exclusive), RFC 3339.
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// One audit record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// `sftpgo`, `ftp` or `admin`.
    pub door: String,
    #[schema(example = "upload")]
    pub action: String,
    #[schema(example = "ok")]
    pub result: String,
    pub photographer: Option<String>,
    pub event: Option<String>,
    pub path: Option<String>,
    /// A rename's destination, and the like.
    pub target: Option<String>,
    pub ip: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub detail: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: time(r.at),
            door: r.door,
            action: r.action,
            result: r.result,
            photographer: r.photographer,
            event: r.event,
            path: r.path,
            target: r.target,
            ip: r.ip,
            size: r.size,
            sha256: r.sha256,
            detail: r.detail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

fn check_ip(s: &str) -> Result<String, AdminApiError> {
    let ok = (2..=45).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    if !ok {
        return Err(AdminApiError::invalid(format!(
            "invalid ip {s:?}: give an IPv4 or IPv6 address"
        )));
    }
    // The doors record addresses in their canonical form; compare in that form too.
    Ok(s.parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .unwrap_or_else(|_| s.to_string()))
}

#[utoipa::path(
    get,
    operation_id = "query_audit",
    path = "/api/v1/audit",
    tag = "audit",
    summary = "Query the audit log, newest first",
    params(AuditFilter),
    responses((status = 200, description = "One page", body = AuditPage))
)]
async fn list(
    State(gw): State<Gateway>,
    _caller: Caller,
    ApiQuery(f): ApiQuery<AuditFilter>,
) -> Result<Json<AuditPage>, AdminApiError> {
    let event = f.event.as_deref().map(check_event_id).transpose()?;
    let photographer = f
        .photographer
        .as_deref()
        .map(check_username)
        .transpose()?
        .map(|p| Username::parse(p).map(|u| u.to_string()))
        .transpose()
        .map_err(AdminApiError::invalid)?;
    let q = AuditQuery {
        photographer,
        event: event.map(str::to_string),
        ip: f.ip.as_deref().map(check_ip).transpose()?,
        since: f
            .since
            .as_deref()
            .map(|s| parse_time("since", s))
            .transpose()?,
        until: f
            .until
            .as_deref()
            .map(|s| parse_time("until", s))
            .transpose()?,
        before_id: f.cursor.as_deref().map(decode_audit).transpose()?,
        limit: f.limit.unwrap_or(DEFAULT_LIMIT),
    };
    let (rows, next) = admin::audit_page(gw.catalog(), &q).await?;
    Ok(Json(AuditPage {
        items: rows.into_iter().map(AuditEntry::from).collect(),
        next_cursor: next.map(encode_audit),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_compared_in_canonical_form() {
        assert_eq!(check_ip("10.0.0.1").unwrap(), "10.0.0.1");
        assert_eq!(check_ip("2001:DB8:0:0::1").unwrap(), "2001:db8::1");
        assert_eq!(check_ip("::").unwrap(), "::");
        assert!(check_ip("10.0.0.1; DROP").is_err());
        assert!(check_ip("x").is_err());
    }
}
