//! The embedded FTP/FTPS door: our own protocol layer on tokio + tokio-rustls, over the same
//! core as the SFTPGo door. No rule lives here: the door turns FTP commands into core calls and
//! core errors into replies.
//!
//! - [`codec`]: bounded control lines, Telnet stripping, the stream hand-over for `AUTH TLS`;
//! - [`command`]: the (fuzzed) command parser;
//! - [`reply`]: reply formatting and the one core-error → reply-code mapping;
//! - [`session`]: the per-connection state machine and command handlers;
//! - [`data`]: passive/active data connections, data TLS, the transfer pumps;
//! - [`listing`]: LIST / NLST / MLSD / MLST formats;
//! - [`tls`]: certificates and the control/data TLS configurations;
//! - [`proxy`]: PROXY protocol v1/v2 headers from a load balancer.
//!
//! Each connection is its own task: a failing session never affects another. Limits: total
//! sessions, sessions per client address (421 on connect) and per photographer (530 at login),
//! idle timeout, bounded lines and bounded work before login.

pub mod codec;
pub mod command;
pub mod data;
pub mod listing;
pub mod proxy;
pub mod reply;
pub(crate) mod session;
pub mod tls;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::base::config::FtpConfig;
use crate::core::gateway::Gateway;
use codec::Io;
use reply::Reply;

/// How long a connection may take to send its PROXY header.
const PROXY_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    per_user: HashMap<String, usize>,
}

pub(crate) struct Shared {
    pub gw: Gateway,
    pub cfg: FtpConfig,
    pub passive_range: (u16, u16),
    pub tls: tls::TlsSetup,
    pub next_port: AtomicU32,
    counts: Mutex<Counts>,
    live: AtomicUsize,
    all_gone: Notify,
}

/// A connection slot, released on drop (also when the session task panics).
pub(crate) struct ConnSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        if let Ok(mut c) = self.shared.counts.lock() {
            c.total = c.total.saturating_sub(1);
            if let Some(n) = c.per_ip.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    c.per_ip.remove(&self.ip);
                }
            }
        }
        if self.shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.all_gone.notify_waiters();
        }
    }
}

/// A logged-in photographer's slot, released on drop.
pub(crate) struct UserSlot {
    shared: Arc<Shared>,
    user: String,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        if let Ok(mut c) = self.shared.counts.lock()
            && let Some(n) = c.per_user.get_mut(&self.user)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_user.remove(&self.user);
            }
        }
    }
}

impl Shared {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnSlot, &'static str> {
        let ip = crate::base::domain::address_net(ip);
        let mut c = self
            .counts
            .lock()
            .map_err(|_| "internal error, try again later")?;
        if c.total >= self.cfg.max_sessions {
            return Err("Too many connections to this server, try again later");
        }
        let n = c.per_ip.get(&ip).copied().unwrap_or(0);
        if n >= self.cfg.max_sessions_per_ip {
            return Err("Too many connections from your address, try again later");
        }
        c.total += 1;
        c.per_ip.insert(ip, n + 1);
        self.live.fetch_add(1, Ordering::AcqRel);
        Ok(ConnSlot {
            shared: self.clone(),
            ip,
        })
    }

    pub(crate) fn admit_user(self: &Arc<Self>, user: &str) -> Option<UserSlot> {
        let mut c = self.counts.lock().ok()?;
        let n = c.per_user.get(user).copied().unwrap_or(0);
        if n >= self.cfg.max_sessions_per_user {
            return None;
        }
        c.per_user.insert(user.to_string(), n + 1);
        Some(UserSlot {
            shared: self.clone(),
            user: user.to_string(),
        })
    }
}

/// What the door listens on, for the start-up log.
#[derive(Clone, Debug)]
pub struct DoorInfo {
    pub listen: SocketAddr,
    pub implicit_tls_listen: Option<SocketAddr>,
    pub passive_ports: (u16, u16),
    pub fingerprint: String,
    pub cert_path: std::path::PathBuf,
    pub cert_generated: bool,
}

/// The FTP door with its listeners bound (so `ftpgate serve` fails at start-up, not later, when
/// a port is taken).
pub struct FtpDoor {
    shared: Arc<Shared>,
    listener: TcpListener,
    implicit: Option<TcpListener>,
    info: DoorInfo,
}

impl FtpDoor {
    pub async fn bind(gw: Gateway) -> anyhow::Result<FtpDoor> {
        let cfg = gw.config().clone();
        let passive_range = cfg.passive_port_range()?;
        if cfg.ftp.proxy_protocol && cfg.ftp.proxy_allowed.is_empty() {
            anyhow::bail!(
                "ftp.proxy_protocol is on but ftp.proxy_allowed is empty: list the addresses of \
                 the load balancers that send the PROXY header, e.g. \
                 FTPGATE_FTP__PROXY_ALLOWED='[10.0.0.5, 10.1.0.0/16]'"
            );
        }
        let tls = tls::setup(&cfg)?;
        let ftp = cfg.ftp.clone();
        let listener = TcpListener::bind(ftp.listen)
            .await
            .with_context(|| format!("cannot listen for FTP on {}", ftp.listen))?;
        let implicit = match ftp.implicit_tls_listen {
            Some(a) => Some(
                TcpListener::bind(a)
                    .await
                    .with_context(|| format!("cannot listen for implicit FTPS on {a}"))?,
            ),
            None => None,
        };
        let info = DoorInfo {
            listen: listener.local_addr()?,
            implicit_tls_listen: match &implicit {
                Some(l) => Some(l.local_addr()?),
                None => None,
            },
            passive_ports: passive_range,
            fingerprint: tls.fingerprint.clone(),
            cert_path: tls.cert_path.clone(),
            cert_generated: tls.generated,
        };
        let start = rand::random::<u32>();
        Ok(FtpDoor {
            shared: Arc::new(Shared {
                gw,
                cfg: ftp,
                passive_range,
                tls,
                next_port: AtomicU32::new(start),
                counts: Mutex::new(Counts::default()),
                live: AtomicUsize::new(0),
                all_gone: Notify::new(),
            }),
            listener,
            implicit,
            info,
        })
    }

    pub fn info(&self) -> &DoorInfo {
        &self.info
    }

    /// Accepts connections until `shutdown` turns true; then stops accepting, lets running
    /// transfers finish for `ftp.shutdown_grace_secs` (sessions abort what is left cleanly) and
    /// returns once every session has ended.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let FtpDoor {
            shared,
            listener,
            implicit,
            ..
        } = self;
        loop {
            let implicit_accept = async {
                match &implicit {
                    Some(l) => l.accept().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = listener.accept() => accepted(&shared, r, &shutdown, false).await,
                r = implicit_accept => accepted(&shared, r, &shutdown, true).await,
                _ = session::wait_shutdown(&mut shutdown) => break,
            }
        }
        drop(listener);
        drop(implicit);
        let live = shared.live.load(Ordering::Acquire);
        if live > 0 {
            tracing::info!(sessions = live, "FTP door: waiting for sessions to end");
        }
        let grace = Duration::from_secs(shared.cfg.shutdown_grace_secs) + Duration::from_secs(5);
        let wait = async {
            loop {
                let notified = shared.all_gone.notified();
                if shared.live.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(grace, wait).await.is_err() {
            tracing::warn!("FTP door: sessions still running after the grace period");
        }
        tracing::info!("FTP door stopped");
        Ok(())
    }
}

/// Binds and runs the FTP door until `shutdown` turns true (see [`FtpDoor::run`]).
pub async fn serve(gw: Gateway, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    FtpDoor::bind(gw).await?.run(shutdown).await
}

async fn accepted(
    shared: &Arc<Shared>,
    r: std::io::Result<(TcpStream, SocketAddr)>,
    shutdown: &watch::Receiver<bool>,
    implicit: bool,
) {
    match r {
        Ok((tcp, peer)) => {
            let shared = shared.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                if let Err(e) = connection(shared, tcp, peer, shutdown, implicit).await {
                    tracing::debug!(peer = %reply::show_addr(&peer), error = %e, "FTP connection ended with an error");
                }
            });
        }
        Err(e) => {
            // Out of file descriptors and the like: do not spin.
            tracing::warn!(error = %e, "FTP accept failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn connection(
    shared: Arc<Shared>,
    mut tcp: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
    implicit: bool,
) -> anyhow::Result<()> {
    let _ = tcp.set_nodelay(true);
    // Clients send ABOR as TCP urgent data (ftplib: `sendall(b"ABOR\r\n", MSG_OOB)`); without
    // this the urgent byte (the final LF) would be taken out of the stream. See ControlTcp.
    let _ = socket2::SockRef::from(&tcp).set_out_of_band_inline(true);
    let socket_local = tcp.local_addr()?;
    let (client, local) = if shared.cfg.proxy_protocol {
        let from = data::canonical(peer.ip());
        if !shared.cfg.proxy_allowed.iter().any(|r| r.contains(&from)) {
            // Anyone else could name any client address: escape limits and lock-out, or
            // claim another client's passive data connection.
            tracing::warn!(peer = %from, "FTP connection dropped: not in ftp.proxy_allowed");
            return Ok(());
        }
        let h = tokio::time::timeout(PROXY_HEADER_TIMEOUT, proxy::read_header(&mut tcp))
            .await
            .context("no PROXY header in time")??;
        (
            h.source.unwrap_or(peer),
            h.destination.unwrap_or(socket_local),
        )
    } else {
        (peer, socket_local)
    };
    let ip = data::canonical(client.ip());
    let slot = match shared.admit(ip) {
        Ok(s) => s,
        Err(why) => {
            tracing::warn!(client = %ip, why, "FTP connection refused");
            if !implicit {
                use tokio::io::AsyncWriteExt;
                let _ = tokio::time::timeout(
                    Duration::from_secs(5),
                    tcp.write_all(&Reply::new(421, why).to_wire()),
                )
                .await;
            }
            return Ok(());
        }
    };
    let _gauge = crate::base::metrics::SessionGuard::new("ftp");
    let io: Box<dyn Io> = if implicit {
        let s = tokio::time::timeout(data::TLS_TIMEOUT, shared.tls.control.accept(tcp))
            .await
            .context("implicit TLS handshake timed out")?
            .context("implicit TLS handshake failed")?;
        Box::new(s)
    } else {
        Box::new(codec::ControlTcp(tcp))
    };
    let s = session::Session::new(
        shared,
        io,
        session::Addrs {
            client,
            local,
            socket_local,
        },
        implicit,
        shutdown,
    );
    s.run(slot).await;
    Ok(())
}
