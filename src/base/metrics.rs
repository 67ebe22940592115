//! Prometheus metrics. The core and the doors record with the `metrics` macros (no-ops until
//! a recorder is installed, so unit tests need nothing); `ftpgate serve` installs the
//! Prometheus recorder and `/metrics` renders it.
//!
//! Names: `ftpgate_uploads_total{door,result}`, `ftpgate_upload_bytes_total{door}`,
//! `ftpgate_upload_duration_seconds{door}`, `ftpgate_auth_total{door,result}`,
//! `ftpgate_sessions_active{door}`, `ftpgate_blob_errors_total`, `ftpgate_outbox_pending`,
//! `ftpgate_outbox_dead`, `ftpgate_webhook_deliveries_total{result}`,
//! `ftpgate_http_connections_refused_total`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once; later calls return the same handle.
pub fn install() -> Option<&'static PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Some(h);
    }
    let buckets = [
        0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    ];
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("ftpgate_upload_duration_seconds".into()),
            &buckets,
        )
        .ok()?
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        return None;
    }
    // Make the series exist from the start, so dashboards show zeros rather than gaps.
    for door in ["sftpgo", "ftp"] {
        metrics::gauge!("ftpgate_sessions_active", "door" => door).set(0.0);
    }
    metrics::gauge!("ftpgate_outbox_pending").set(0.0);
    metrics::gauge!("ftpgate_outbox_dead").set(0.0);
    let _ = HANDLE.set(handle);
    HANDLE.get()
}

pub fn render() -> String {
    HANDLE.get().map(|h| h.render()).unwrap_or_default()
}

/// Counts an open session of a door for as long as the guard lives.
pub struct SessionGuard(&'static str);

impl SessionGuard {
    pub fn new(door: &'static str) -> SessionGuard {
        metrics::gauge!("ftpgate_sessions_active", "door" => door).increment(1.0);
        SessionGuard(door)
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        metrics::gauge!("ftpgate_sessions_active", "door" => self.0).decrement(1.0);
    }
}
