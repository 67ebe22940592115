//! `ftpgate serve`: builds the core from the configuration, starts the doors, and shuts down
//! gracefully on SIGINT/SIGTERM (stop accepting, let in-flight uploads finish for a grace
//! period, then abort the rest cleanly).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::base::config::Config;
use crate::core::gateway::Gateway;
use crate::store::blobs::BlobStore;
use crate::store::catalog::{Catalog, redact_url};

pub async fn build_gateway(cfg: Arc<Config>) -> anyhow::Result<Gateway> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data_dir {}", cfg.data_dir.display()))?;
    let catalog = Catalog::connect(&cfg.catalog_url(), cfg.catalog.max_connections).await?;
    let blobs = BlobStore::open(&cfg).await?;
    Ok(Gateway::new(cfg, catalog, blobs).await?)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

pub async fn serve(cfg: Arc<Config>) -> anyhow::Result<()> {
    crate::base::metrics::install();
    let gw = build_gateway(cfg.clone()).await?;
    let listener = tokio::net::TcpListener::bind(cfg.http.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.http.listen))?;
    tracing::info!(
        listen = %cfg.http.listen,
        httpfs_endpoint = %cfg.httpfs_endpoint(),
        catalog = %redact_url(&cfg.catalog_url()),
        "ftpgate HTTP door ready (auth hook POST /ftp/auth, HTTPFs /ftp/v1)"
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let outbox_worker = tokio::spawn(crate::core::outbox::run_worker(
        gw.catalog().clone(),
        cfg.clone(),
        gw.inner.outbox_wake.clone(),
        stop_rx.clone(),
    ));
    let ftp = if cfg.ftp.enabled {
        // Bound here, so a taken port or a bad certificate stops start-up with a clear error.
        let door = crate::doors::ftp::FtpDoor::bind(gw.clone()).await?;
        let info = door.info();
        tracing::info!(
            listen = %info.listen,
            implicit_tls_listen = ?info.implicit_tls_listen,
            passive_ports = %format!("{}-{}", info.passive_ports.0, info.passive_ports.1),
            passive_host = ?cfg.ftp.passive_host,
            require_tls = cfg.ftp.require_tls,
            tls_certificate = %info.cert_path.display(),
            tls_certificate_generated = info.cert_generated,
            tls_sha256_fingerprint = %info.fingerprint,
            "ftpgate FTP/FTPS door ready"
        );
        Some(tokio::spawn(door.run(stop_rx.clone())))
    } else {
        None
    };
    let mut http_stop = stop_rx.clone();
    let http = tokio::spawn(crate::doors::http::serve(
        gw.clone(),
        listener,
        async move {
            let _ = http_stop.changed().await;
        },
    ));

    shutdown_signal().await;
    tracing::info!(
        grace_secs = cfg.ftp.shutdown_grace_secs,
        "shutting down: finishing in-flight transfers"
    );
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(cfg.ftp.shutdown_grace_secs);
    let ftp_done = async {
        // The FTP door enforces the grace period itself, then aborts what is left.
        if let Some(t) = ftp {
            match tokio::time::timeout(grace + Duration::from_secs(10), t).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::error!(error = %e, "FTP door stopped with an error"),
                Ok(Err(e)) => tracing::error!(error = %e, "FTP door task failed"),
                Err(_) => tracing::warn!("FTP door did not stop in time"),
            }
        }
    };
    let http_done = async {
        match tokio::time::timeout(grace, http).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "HTTP door stopped with an error"),
            Ok(Err(e)) => tracing::error!(error = %e, "HTTP door task failed"),
            Err(_) => tracing::warn!("grace period over: aborting the remaining transfers"),
        }
    };
    tokio::join!(ftp_done, http_done);
    let _ = tokio::time::timeout(Duration::from_secs(5), outbox_worker).await;
    gw.catalog().close().await;
    tracing::info!("stopped");
    Ok(())
}
