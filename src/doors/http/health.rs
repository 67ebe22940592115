//! `/healthz`: the process answers. `/readyz`: the catalog and the blob store answer too.
//! `/readyz` is unauthenticated and each probe costs durable writes (on S3: LIST, PUT, GET,
//! DELETE), so one answer is reused for `http.readyz_cache_secs` and concurrent callers share
//! one probe; the answer says only ok or failing per part (the causes go to the log).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::core::gateway::Gateway;

type ReadyCache = Arc<tokio::sync::Mutex<Option<(Instant, bool, bool)>>>;

pub fn routes() -> Router<Gateway> {
    let cache: ReadyCache = Arc::default();
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/readyz",
            get(move |State(gw): State<Gateway>| readyz(gw, cache.clone())),
        )
        .route("/metrics", get(metrics))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn metrics() -> ([(axum::http::header::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        crate::base::metrics::render(),
    )
}

async fn readyz(gw: Gateway, cache: ReadyCache) -> (StatusCode, Json<serde_json::Value>) {
    let ttl = Duration::from_secs(gw.config().http.readyz_cache_secs);
    let mut slot = cache.lock().await;
    let (catalog_ok, blobs_ok) = match *slot {
        Some((at, c, b)) if at.elapsed() < ttl => (c, b),
        _ => {
            let (c, b) = probe(&gw).await;
            *slot = Some((Instant::now(), c, b));
            (c, b)
        }
    };
    drop(slot);
    let ready = catalog_ok && blobs_ok;
    let word = |ok: bool| if ok { "ok" } else { "failing" };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": ready, "catalog": word(catalog_ok), "blobs": word(blobs_ok) })),
    )
}

async fn probe(gw: &Gateway) -> (bool, bool) {
    let limit = Duration::from_secs(5);
    let catalog = match tokio::time::timeout(limit, gw.catalog().ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_string()),
    };
    let blobs = match tokio::time::timeout(limit, gw.blobs().probe()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_string()),
    };
    if let Err(e) = &catalog {
        tracing::warn!(error = %e, "readiness: the catalog is failing");
    }
    if let Err(e) = &blobs {
        tracing::warn!(error = %e, "readiness: the blob store is failing");
    }
    (catalog.is_ok(), blobs.is_ok())
}
