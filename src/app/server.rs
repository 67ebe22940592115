//! The application: builds the core from the configuration, binds the doors, and runs until a
//! shutdown future resolves (stop accepting, let in-flight uploads finish for a grace period,
//! then abort the rest cleanly). `main.rs` owns the signals; tests start an [`App`] in process
//! on port 0 and read the addresses it bound.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::base::config::Config;
use crate::core::gateway::Gateway;
use crate::doors::ftp::{DoorInfo, FtpDoor};
use crate::store::blobs::BlobStore;
use crate::store::catalog::{Catalog, redact_url};

pub async fn build_gateway(cfg: Arc<Config>) -> anyhow::Result<Gateway> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data_dir {}", cfg.data_dir.display()))?;
    let catalog = Catalog::connect(&cfg.catalog_url(), cfg.catalog.max_connections).await?;
    let blobs = BlobStore::open(&cfg).await?;
    Ok(Gateway::new(cfg, catalog, blobs).await?)
}

/// A gateway with its listeners bound, not yet serving.
pub struct App {
    gw: Gateway,
    http: TcpListener,
    http_addr: SocketAddr,
    ftp: Option<FtpDoor>,
}

impl App {
    /// Connects the catalog and blob store and binds every listener, so a taken port or a bad
    /// certificate stops start-up with a clear error instead of failing later.
    pub async fn build(cfg: Arc<Config>) -> anyhow::Result<App> {
        cfg.require_hook_token()?;
        if let Some(u) = &cfg.webhook.url {
            crate::core::outbox::check_webhook_url(u)
                .map_err(|e| anyhow::anyhow!("webhook.url: {e}"))?;
        }
        let gw = build_gateway(cfg.clone()).await?;
        let http = TcpListener::bind(cfg.http.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cfg.http.listen))?;
        let http_addr = http.local_addr()?;
        let ftp = if cfg.ftp.enabled {
            Some(FtpDoor::bind(gw.clone()).await?)
        } else {
            None
        };
        Ok(App {
            gw,
            http,
            http_addr,
            ftp,
        })
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gw
    }

    /// Where the HTTP door (auth hook, HTTPFs, admin API) really listens (port 0 resolved).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// What the embedded FTP door bound, when it is enabled.
    pub fn ftp_info(&self) -> Option<&DoorInfo> {
        self.ftp.as_ref().map(|d| d.info())
    }

    /// Serves until `shutdown` resolves, then drains within the grace period.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let App {
            gw,
            http,
            http_addr,
            ftp,
        } = self;
        let cfg = gw.config_shared();
        let data_dir = std::path::absolute(&cfg.data_dir).unwrap_or_else(|_| cfg.data_dir.clone());
        tracing::info!(
            data_dir = %data_dir.display(),
            catalog = %redact_url(&cfg.catalog_url()),
            blobs = %gw.blobs().describe(),
            "ftpgate starting: operator commands must use this catalog (--data-dir or --config)"
        );
        tracing::info!(
            listen = %http_addr,
            httpfs_endpoint = %cfg.httpfs_endpoint(),
            catalog = %redact_url(&cfg.catalog_url()),
            "ftpgate HTTP door ready (auth hook POST /ftp/auth, HTTPFs /ftp/v1)"
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let outbox_worker = tokio::spawn(crate::core::outbox::run_worker(
            gw.catalog().clone(),
            cfg.clone(),
            gw.outbox_wake(),
            stop_rx.clone(),
        ));
        let ftp = ftp.map(|door| {
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
            // Deliberate: many cameras cannot do FTPS, so plain logins stay allowed on every
            // interface by default; say so where the operator looks first.
            if !cfg.ftp.require_tls && !info.listen.ip().is_loopback() {
                tracing::warn!(
                    listen = %info.listen,
                    "the FTP door accepts plaintext logins from the network: passwords of \
                     clients not using FTPS travel readable; set ftp.require_tls=true to refuse \
                     them once every camera does FTPS"
                );
            }
            tokio::spawn(door.run(stop_rx.clone()))
        });
        let mut http_stop = stop_rx.clone();
        let http = tokio::spawn(crate::doors::http::serve(gw.clone(), http, async move {
            let _ = http_stop.changed().await;
        }));

        shutdown.await;
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
}

/// `ftpgate serve`: the application with Prometheus metrics, until `shutdown` (main.rs passes
/// SIGINT/SIGTERM).
pub async fn serve(cfg: Arc<Config>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    crate::base::metrics::install();
    App::build(cfg).await?.run_until(shutdown).await
}
