//! SFTPGo's external authentication hook (CONTRACT §3): SFTPGo POSTs the login, we answer 200
//! with a user that passes its `ValidateUser`, or 401. Never 200 with an empty body: SFTPGo
//! reads that as "success, keep the stored user".

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::base::domain::Door;
use crate::core::gateway::Gateway;
use crate::core::namespace;

pub const TOKEN_HEADER: &str = "x-ftpgate-hook-token";

/// SFTPGo's permission names for each role (DESIGN §2).
pub const UPLOADER_PERMISSIONS: &[&str] = &[
    "list",
    "download",
    "upload",
    "overwrite",
    "create_dirs",
    "rename",
    "delete",
    "chtimes",
];
pub const VIEWER_PERMISSIONS: &[&str] = &["list", "download"];
const ALL_PROTOCOLS: &[&str] = &["SSH", "FTP", "DAV", "HTTP"];

pub fn routes() -> Router<Gateway> {
    Router::new().route("/ftp/auth", post(auth))
}

/// What SFTPGo sends (all keys always present except `user`; unknown ones ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AuthRequest {
    username: String,
    ip: String,
    password: String,
    protocol: String,
}

fn deny() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "message": "authentication failed" })),
    )
        .into_response()
}

async fn auth(
    State(gw): State<Gateway>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(token) = &gw.config().auth_hook.token {
        let sent = headers
            .get(TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(sent, token.as_bytes())) {
            tracing::warn!("auth hook called without the right token");
            return deny();
        }
    }
    let Ok(req) = serde_json::from_slice::<AuthRequest>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": "invalid JSON" })),
        )
            .into_response();
    };
    let cfg = gw.config();
    if !cfg
        .sftpgo
        .allowed_protocols
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&req.protocol))
    {
        return deny();
    }
    if req.password.is_empty() {
        // Keys, keyboard-interactive and certificates are not photographers' credentials here.
        return deny();
    }
    // SFTPGo always sends the client's address. A call without one (or with junk) is not
    // SFTPGo's: count it against the caller's own address, never against none at all.
    let ip: Option<IpAddr> = req.ip.parse().ok().or_else(|| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    });
    let photographer = match gw
        .identity()
        .login(&req.username, &req.password, ip, Door::Sftpgo)
        .await
    {
        Ok(p) => p,
        Err(_) => return deny(),
    };
    let session = crate::core::identity::Session {
        username: match crate::base::domain::Username::parse(&photographer.username) {
            Ok(u) => u,
            Err(_) => return deny(),
        },
        ip,
        door: Door::Sftpgo,
    };
    let events = match namespace::visible_events(gw.catalog(), &session).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "auth hook could not read grants");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "message": "try again" })),
            )
                .into_response();
        }
    };
    let mut permissions: BTreeMap<String, &[&str]> = BTreeMap::new();
    permissions.insert("/".into(), &["list"]);
    for a in &events {
        let perms = if a.read_only.is_none() {
            UPLOADER_PERMISSIONS
        } else {
            VIEWER_PERMISSIONS
        };
        permissions.insert(format!("/{}", a.ns.event), perms);
    }
    let denied: Vec<&str> = ALL_PROTOCOLS
        .iter()
        .copied()
        .filter(|p| {
            !cfg.sftpgo
                .allowed_protocols
                .iter()
                .any(|a| a.eq_ignore_ascii_case(p))
        })
        .collect();
    let key = match gw.identity().issue_httpfs_key(&photographer, ip).await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "auth hook could not issue an HTTPFs key");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "message": "temporarily unavailable" })),
            )
                .into_response();
        }
    };
    let username = photographer.username.clone();
    let user = json!({
        "status": 1,
        "username": username,
        "home_dir": format!("{}/{}", cfg.sftpgo.home_dir_base.trim_end_matches('/'), username),
        "permissions": permissions,
        "filters": {
            "external_auth_cache_time": cfg.sftpgo.external_auth_cache_time,
            "max_upload_file_size": cfg.upload.max_file_size,
            "denied_protocols": denied,
        },
        "filesystem": {
            "provider": 6,
            "httpconfig": {
                "endpoint": cfg.httpfs_endpoint(),
                "username": username,
                "api_key": { "status": "Plain", "payload": key },
            }
        },
        "description": "managed by ftpgate",
    });
    (StatusCode::OK, Json(user)).into_response()
}
