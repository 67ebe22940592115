//! `spawn_gateway()`: the whole application in process, on port 0, with a fresh catalog
//! (a temporary SQLite file, or a new PostgreSQL database when `Backend::Postgres`) and local
//! blobs in a temporary directory. Tests drive the core through the same functions the doors
//! call, without the built binary. Dropping the handle stops the application and removes its
//! files.
#![allow(dead_code)] // each test file uses a different part of the helper

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use ftpgate::app::server::App;
use ftpgate::base::config::Config;
use ftpgate::base::domain::{Door, Role, Username};
use ftpgate::base::error::CoreResult;
use ftpgate::base::vpath::VPath;
use ftpgate::core::gateway::Gateway;
use ftpgate::core::identity::Session;
use ftpgate::core::ingest::{Committed, UploadOptions};
use ftpgate::ops::admin;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The catalogs to run a core test on: SQLite always; PostgreSQL when it answers at
/// 127.0.0.1:5432 (required when CI=true).
pub async fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if tokio::net::TcpStream::connect("127.0.0.1:5432")
        .await
        .is_ok()
    {
        v.push(Backend::Postgres);
    } else if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true and PostgreSQL does not answer at 127.0.0.1:5432");
    }
    v
}

pub struct TestGateway {
    pub gw: Gateway,
    pub http: SocketAddr,
    pub ftp: Option<SocketAddr>,
    dir: PathBuf,
    pg_database: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub async fn spawn_gateway(backend: Backend) -> TestGateway {
    spawn_gateway_with(backend, |_| {}).await
}

/// Like [`spawn_gateway`], with the configuration changed by `tweak` first.
pub async fn spawn_gateway_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestGateway {
    let dir = std::env::temp_dir().join(format!("ftpgate-rt-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut cfg = Config {
        data_dir: dir.clone(),
        ..Default::default()
    };
    cfg.http.listen = "127.0.0.1:0".parse().expect("addr");
    cfg.ftp.listen = "127.0.0.1:0".parse().expect("addr");
    cfg.ftp.implicit_tls_listen = None;
    // Notifications are queued (and inspected by the tests) but never delivered: the port is
    // closed and the tests read the outbox.
    cfg.webhook.url = Some("http://127.0.0.1:9/unused".into());
    let mut pg_database = None;
    if backend == Backend::Postgres {
        let name = format!(
            "ftpgate_rt_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(PG_ADMIN_URL)
            .await
            .expect("PostgreSQL at 127.0.0.1:5432");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        cfg.catalog.url = Some(format!("postgres://postgres@127.0.0.1:5432/{name}"));
        pg_database = Some(name);
    }
    tweak(&mut cfg);
    let app = App::build(Arc::new(cfg)).await.expect("the app builds");
    let gw = app.gateway().clone();
    let http = app.http_addr();
    let ftp = app.ftp_info().map(|i| i.listen);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestGateway {
        gw,
        http,
        ftp,
        dir,
        pg_database,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestGateway {
    /// Stops the application and waits for it, then removes its files and database.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        if let Some(db) = self.pg_database.take()
            && let Ok(mut conn) =
                <sqlx::PgConnection as sqlx::Connection>::connect(PG_ADMIN_URL).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// A photographer with a grant of `role` on `event` (both created when missing), and the
    /// core session a door would hold after their login.
    pub async fn photographer(&self, name: &str, event: &str, role: Role) -> Session {
        let c = self.gw.catalog();
        if admin::get_event(c, event).await.is_err() {
            admin::add_event(c, event, None).await.expect("event");
        }
        if admin::get_photographer(c, name).await.is_err() {
            admin::add_photographer(c, name, Some("correct horse battery".into()))
                .await
                .expect("photographer");
        }
        admin::add_grant(c, name, event, role).await.expect("grant");
        Session {
            username: Username::parse(name).expect("username"),
            ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            door: Door::Ftp,
        }
    }

    /// Uploads `bytes` at `path` in `chunk`-sized writes, as a door would stream them.
    pub async fn upload(&self, s: &Session, path: &str, bytes: &[u8]) -> CoreResult<Committed> {
        let mut up = self
            .gw
            .begin_upload(s, &vpath(path), UploadOptions::default())
            .await?;
        for chunk in bytes.chunks(64 * 1024) {
            if let Err(e) = up.write(Bytes::copy_from_slice(chunk)).await {
                up.abort(&e).await;
                return Err(e);
            }
        }
        up.finish().await
    }

    /// Payloads of the queued notifications, oldest first.
    pub async fn notifications(&self) -> Vec<serde_json::Value> {
        let mut rows = admin::list_notifications(self.gw.catalog(), None, 1000)
            .await
            .expect("outbox");
        rows.reverse();
        rows.iter()
            .map(|r| serde_json::from_str(&r.payload).expect("payload is JSON"))
            .collect()
    }
}

pub fn vpath(p: &str) -> VPath {
    VPath::parse(p.as_bytes()).expect("a valid test path")
}

/// A small but complete JPEG (SOI, a segment, a scan, EOI) whose bytes differ with `seed`.
pub fn jpeg(seed: u8, len: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    v.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    while v.len() + 2 < len {
        // entropy-coded bytes never contain 0xFF here, so no marker appears by accident
        v.push(((v.len() as u8) ^ seed) & 0x7F);
    }
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

/// Runs `test` on a fresh gateway for each backend that answers (SQLite, PostgreSQL).
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestGateway) -> Fut,
    Fut: std::future::Future<Output = TestGateway>,
{
    for b in backends().await {
        let tg = spawn_gateway(b).await;
        let tg = test(tg).await;
        tg.shutdown().await;
    }
}
