//! Configuration: one optional TOML file, every key overridable by environment variables
//! (`FTPGATE_<KEY>` for top-level keys, `FTPGATE_<SECTION>__<KEY>` for nested ones, the same
//! convention SFTPGo uses). Every default is safe for a single machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::base::sniff::TypeGroup;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite catalog, local blobs and generated certificates live by default.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub catalog: CatalogConfig,
    pub blobs: BlobsConfig,
    pub auth_hook: AuthHookConfig,
    pub sftpgo: SftpgoConfig,
    pub upload: UploadConfig,
    pub lockout: LockoutConfig,
    pub ftp: FtpConfig,
    pub tls: TlsConfig,
    pub webhook: WebhookConfig,
    pub log: LogConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where upload notifications go (an event may set its own); none: no notifications.
    pub url: Option<String>,
    /// HMAC-SHA256 key for the `X-Ftpgate-Signature` header.
    pub secret: Option<String>,
    /// A notification still undelivered after this many seconds becomes dead (visible in the
    /// API and metrics) instead of being retried forever.
    pub max_age_secs: u64,
    pub timeout_secs: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: None,
            secret: None,
            max_age_secs: 86_400,
            timeout_secs: 10,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Base URL SFTPGo uses to reach this gateway; the auth response's HTTPFs endpoint is this + `/ftp/v1`.
    pub public_url: Option<String>,
    /// How long a `/readyz` answer is reused: each probe is a durable write, read and delete.
    pub readyz_cache_secs: u64,
    /// Seconds a client may take to send a whole request head, from connecting or from the
    /// head's first byte on a reused connection (slow-loris bound).
    pub header_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may sit idle between requests; longer than SFTPGo's
    /// own 90 s, so SFTPGo closes its idle connections first and never reuses one we closed.
    pub keep_alive_idle_secs: u64,
    /// Open connections at most; more are closed at once, so a flood cannot take the file
    /// descriptors the FTP door needs.
    pub max_connections: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// `sqlite://PATH` or `postgres://…`; default: SQLite file `catalog.db` in `data_dir`.
    pub url: Option<String>,
    pub max_connections: Option<u32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// `file:///abs/dir` (or a plain path) or `s3://BUCKET/prefix`; default: `data_dir/blobs`.
    pub url: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`); needed by most self-hosted S3 servers.
    pub path_style: Option<bool>,
    /// Allow `http://` endpoints (local test servers); implied by an http:// endpoint.
    pub allow_http: Option<bool>,
    /// Total memory for S3 upload buffers, in MiB; when spent, new uploads wait.
    pub upload_budget_mib: Option<u64>,
    /// Files up to this many MiB go as one PUT; larger ones as multipart.
    pub multipart_threshold_mib: Option<u64>,
    /// Size of every non-final multipart part, in MiB (R2 requires equal parts, S3 at least 5).
    pub part_size_mib: Option<u64>,
    /// Seconds a failing request is retried (with backoff) before the client gets an error.
    pub retry_timeout_secs: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthHookConfig {
    /// If set, `POST /ftp/auth` requires header `X-Ftpgate-Hook-Token: <token>`.
    pub token: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftpgoConfig {
    /// Absolute directory on the SFTPGo host; each user's `home_dir` (pipe temp files) is base/username.
    pub home_dir_base: String,
    /// `filters.external_auth_cache_time`: seconds SFTPGo reuses a hook login without calling us.
    pub external_auth_cache_time: u64,
    /// Protocols photographers may use through SFTPGo (`FTP`, `SSH`, `DAV`, `HTTP`).
    pub allowed_protocols: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadConfig {
    /// Per-file size limit in bytes (an event may set a lower one).
    pub max_file_size: u64,
    /// Accepted type groups, decided by magic bytes: jpeg, png, heif, raw, xmp, video.
    pub allowed_types: Vec<TypeGroup>,
    /// Suffixes of temporary names that clients rename to the final name once complete.
    pub temp_suffixes: Vec<String>,
    /// Files and directories one photographer may have in one event; a new directory past it
    /// is refused (directories count toward no byte or file quota).
    pub max_entries_per_namespace: u64,
    /// Seconds an upload body may go without a byte (either door) before it is aborted and its
    /// memory budget released.
    pub body_idle_timeout_secs: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutConfig {
    pub max_failures_per_user: u32,
    pub max_failures_per_ip: u32,
    pub window_secs: u64,
    pub cooldown_secs: u64,
    /// Addresses or CIDR ranges exempt from the per-IP limit (a venue's shared NAT).
    pub safe_ips: Vec<IpRange>,
}

/// The generated FTPS certificate (ignored when `ftp.tls_cert` is set).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// More DNS names or IP addresses the certificate is for, besides `ftp.passive_host`, the
    /// FTP listen address, this host's name and localhost.
    pub names: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FtpConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// Inclusive passive port range, "50000-50099".
    pub passive_ports: String,
    /// Address or DNS name announced in PASV replies (the public address behind NAT).
    pub passive_host: Option<String>,
    pub idle_timeout_secs: u64,
    /// How long a connection may take to log in (a slot held by a client that never does).
    pub login_timeout_secs: u64,
    pub max_sessions: usize,
    pub max_sessions_per_ip: usize,
    pub max_sessions_per_user: usize,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub require_tls: bool,
    pub implicit_tls_listen: Option<SocketAddr>,
    /// Accept PROXY protocol v1/v2 headers from a load balancer.
    pub proxy_protocol: bool,
    /// Who may send the PROXY header (the load balancers): addresses or CIDR ranges. Required
    /// with `proxy_protocol`; a connection from anyone else is dropped.
    pub proxy_allowed: Vec<IpRange>,
    /// PORT/EPRT (active mode); off by default.
    pub active_mode: bool,
    /// Seconds in-flight transfers get to finish on shutdown.
    pub shutdown_grace_secs: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `ftpgate=debug`; RUST_LOG overrides it.
    pub level: String,
}

/// An address (`10.1.2.3`) or a CIDR range (`10.0.0.0/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange(pub ipnet::IpNet);

impl IpRange {
    pub fn contains(&self, ip: &std::net::IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl std::str::FromStr for IpRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(net) = s.parse::<ipnet::IpNet>() {
            return Ok(IpRange(net));
        }
        s.parse::<std::net::IpAddr>()
            .map(|ip| IpRange(ipnet::IpNet::from(ip)))
            .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR range"))
    }
}

impl Serialize for IpRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            http: HttpConfig::default(),
            catalog: CatalogConfig::default(),
            blobs: BlobsConfig::default(),
            auth_hook: AuthHookConfig::default(),
            sftpgo: SftpgoConfig::default(),
            upload: UploadConfig::default(),
            lockout: LockoutConfig::default(),
            ftp: FtpConfig::default(),
            tls: TlsConfig::default(),
            webhook: WebhookConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            readyz_cache_secs: 5,
            header_read_timeout_secs: 30,
            keep_alive_idle_secs: 120,
            max_connections: 1024,
        }
    }
}

impl Default for SftpgoConfig {
    fn default() -> Self {
        SftpgoConfig {
            home_dir_base: "/var/lib/sftpgo/ftpgate".into(),
            external_auth_cache_time: 60,
            allowed_protocols: vec!["FTP".into()],
        }
    }
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            max_file_size: 2 << 30,
            allowed_types: vec![
                TypeGroup::Jpeg,
                TypeGroup::Png,
                TypeGroup::Heif,
                TypeGroup::Raw,
            ],
            temp_suffixes: vec![".filepart".into(), ".part".into(), ".tmp".into()],
            max_entries_per_namespace: 200_000,
            body_idle_timeout_secs: 60,
        }
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures_per_user: 5,
            max_failures_per_ip: 50,
            window_secs: 900,
            cooldown_secs: 900,
            safe_ips: Vec::new(),
        }
    }
}

impl Default for FtpConfig {
    fn default() -> Self {
        FtpConfig {
            enabled: true,
            listen: SocketAddr::from(([0, 0, 0, 0], 2121)),
            passive_ports: "50000-50099".into(),
            passive_host: None,
            idle_timeout_secs: 600,
            login_timeout_secs: 60,
            max_sessions: 1000,
            max_sessions_per_ip: 100,
            max_sessions_per_user: 20,
            tls_cert: None,
            tls_key: None,
            require_tls: false,
            implicit_tls_listen: None,
            proxy_protocol: false,
            proxy_allowed: Vec::new(),
            active_mode: false,
            shutdown_grace_secs: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

impl Config {
    /// Defaults, then the TOML file (if given), then `FTPGATE_…` environment variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Config::load_with(file, None)
    }

    /// [`Config::load`], with `--data-dir` (when given) over the file and the environment.
    pub fn load_with(file: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default())).merge(sources(file)?);
        if let Some(d) = data_dir {
            fig = fig.merge(Serialized::default("data_dir", d));
        }
        let cfg: Config = fig.extract().map_err(explain)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Whether the file, the environment or `--data-dir` says where the gateway's data is
    /// (`data_dir` or `catalog.url`); if not, `./data` is only a guess from the working
    /// directory.
    pub fn names_location(file: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<bool> {
        let fig = sources(file)?;
        Ok(data_dir.is_some() || fig.contains("data_dir") || fig.contains("catalog.url"))
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !self.sftpgo.home_dir_base.starts_with('/') {
            anyhow::bail!("sftpgo.home_dir_base must be an absolute path on the SFTPGo host");
        }
        if self.upload.max_file_size == 0 {
            anyhow::bail!("upload.max_file_size must be greater than 0");
        }
        if let Some(u) = &self.http.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            anyhow::bail!("http.public_url must start with http:// or https://");
        }
        for (name, v) in [
            (
                "http.header_read_timeout_secs",
                self.http.header_read_timeout_secs,
            ),
            ("http.keep_alive_idle_secs", self.http.keep_alive_idle_secs),
            (
                "upload.body_idle_timeout_secs",
                self.upload.body_idle_timeout_secs,
            ),
        ] {
            if v == 0 {
                anyhow::bail!("{name} must be at least 1 (seconds)");
            }
        }
        if self.http.max_connections == 0 {
            anyhow::bail!("http.max_connections must be at least 1");
        }
        self.passive_port_range()?;
        Ok(())
    }

    /// Anyone who reaches `POST /ftp/auth` can guess passwords and mint HTTPFs keys, so an
    /// HTTP door reachable from other hosts must demand the hook token.
    pub fn require_hook_token(&self) -> anyhow::Result<()> {
        let has_token = self
            .auth_hook
            .token
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty());
        if !self.http.listen.ip().is_loopback() && !has_token {
            anyhow::bail!(
                "http.listen is {} (reachable from other hosts) but auth_hook.token is not set: \
                 set FTPGATE_AUTH_HOOK__TOKEN (or auth_hook.token in the config file) to a long \
                 random secret, e.g. `openssl rand -hex 32`, and give SFTPGo the same value as \
                 the X-Ftpgate-Hook-Token header; or listen on 127.0.0.1",
                self.http.listen
            );
        }
        Ok(())
    }

    pub fn catalog_url(&self) -> String {
        match &self.catalog.url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("catalog.db").display()),
        }
    }

    /// What SFTPGo puts before `/stat/…`: the public URL (or the listen address) + `/ftp/v1`.
    pub fn httpfs_endpoint(&self) -> String {
        let base = match &self.http.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let l = self.http.listen;
                let host = if l.ip().is_unspecified() {
                    "127.0.0.1".to_string()
                } else {
                    l.ip().to_string()
                };
                let host = if l.is_ipv6() && !l.ip().is_unspecified() {
                    format!("[{host}]")
                } else {
                    host
                };
                format!("http://{host}:{}", l.port())
            }
        };
        format!("{base}/ftp/v1")
    }

    pub fn passive_port_range(&self) -> anyhow::Result<(u16, u16)> {
        let s = self.ftp.passive_ports.trim();
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let a: u16 = a.trim().parse().map_err(|_| {
            anyhow::anyhow!("ftp.passive_ports: {s:?} is not a port range like 50000-50099")
        })?;
        let b: u16 = b.trim().parse().map_err(|_| {
            anyhow::anyhow!("ftp.passive_ports: {s:?} is not a port range like 50000-50099")
        })?;
        if a == 0 || b < a {
            anyhow::bail!("ftp.passive_ports: {s:?} is not a port range like 50000-50099");
        }
        Ok((a, b))
    }
}

/// The configuration file (if any) and the `FTPGATE_` environment, without the defaults.
fn sources(file: Option<&Path>) -> anyhow::Result<Figment> {
    let mut fig = Figment::new();
    if let Some(f) = file {
        if !f.exists() {
            anyhow::bail!("config file {} does not exist", f.display());
        }
        fig = fig.merge(Toml::file(f));
    }
    // FTPGATE_CONFIG names the file itself; FTPGATE_BIN and FTPGATE_TEST_* belong to the
    // test harness. Every other FTPGATE_ variable must be a real key (typos are errors).
    Ok(fig.merge(
        Env::prefixed("FTPGATE_")
            .filter(|k| {
                let k = k.as_str().to_ascii_lowercase();
                k != "config" && k != "bin" && !k.starts_with("test_")
            })
            .split("__"),
    ))
}

/// A configuration error in plain words: the key, where it came from (the file or the
/// variable), and for an unknown key the valid ones.
fn explain(errors: figment::Error) -> anyhow::Error {
    use figment::error::Kind;
    let lines: Vec<String> = errors
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let from = match &e.metadata {
                Some(m) if m.name.contains("environment") => {
                    format!("environment variable FTPGATE_{}", e.path.join("__").to_uppercase())
                }
                Some(m) => match &m.source {
                    Some(figment::Source::File(p)) => format!("config file {}", p.display()),
                    Some(src) => format!("{src}"),
                    None => m.name.to_string(),
                },
                None => "the defaults".into(),
            };
            match &e.kind {
                Kind::UnknownField(field, valid) => {
                    let section = e.path[..e.path.len().saturating_sub(1)].join(".");
                    let valid = valid.join(", ");
                    if section.is_empty() {
                        format!("unknown key {field} (from {from}); valid keys: {valid}")
                    } else {
                        format!("unknown key {section}.{field} (from {from}); valid keys in {section}: {valid}")
                    }
                }
                kind => format!("{key}: {} (from {from})", plain(&kind.to_string())),
            }
        })
        .collect();
    anyhow::anyhow!("invalid configuration: {}", lines.join("; "))
}

/// serde's messages quote names in backticks, nested ones too; people read them better bare.
fn plain(msg: &str) -> String {
    msg.replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.httpfs_endpoint(), "http://127.0.0.1:8080/ftp/v1");
        assert!(c.catalog_url().starts_with("sqlite://"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API fixes the closure's error type
    fn env_overrides_nested_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FTPGATE_HTTP__LISTEN", "127.0.0.1:9999");
            jail.set_env("FTPGATE_DATA_DIR", "/tmp/x");
            jail.set_env(
                "FTPGATE_LOCKOUT__SAFE_IPS",
                "[10.0.0.0/8, 192.168.1.7, ::1]",
            );
            jail.set_env("FTPGATE_UPLOAD__ALLOWED_TYPES", "[jpeg, raw]");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.http.listen.port(), 9999);
            assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
            assert_eq!(c.lockout.safe_ips.len(), 3);
            assert!(c.lockout.safe_ips[1].contains(&"192.168.1.7".parse().unwrap()));
            assert_eq!(
                c.upload.allowed_types,
                vec![TypeGroup::Jpeg, TypeGroup::Raw]
            );
            Ok(())
        });
    }
}
