//! `ftpgate sftpgo-config`: the SFTPGo settings that put SFTPGo in front of this gateway.
//!
//! Every key written here is a real SFTPGo 2.7.x key, checked against SFTPGo's source (v2.7.5:
//! `sftpgo.json`, `internal/config/config.go`, `internal/ftpd/ftpd.go`,
//! `internal/common/common.go`, `internal/common/defender.go`, `internal/httpclient/httpclient.go`,
//! `internal/dataprovider/iplist.go`); `tests/integration/test_sftpgo_config.py` holds the key
//! list and checks the output against it.
//!
//! What is set:
//! - the external auth hook (`data_provider.external_auth_hook`, scope 1 = passwords) and the
//!   hook token header (`http.headers`, sent only to the hook URL);
//! - one FTP binding with explicit TLS (optional or required) or implicit TLS, the passive port
//!   range and the public passive address (`force_passive_ip`, or `passive_host` for a name);
//! - the FTPS certificate: files, or SFTPGo's own ACME client;
//! - the defender, and `max_per_host_connections` raised for venues where many cameras share one
//!   NAT address; `lockout.safe_ips` become the defender's safe list, an SFTPGo *IP list* (type 2,
//!   mode allow) that 2.7 keeps in its data provider, loaded at start from a `loaddata` file
//!   (`--format loaddata`, `SFTPGO_LOADDATA_FROM`). A safe-listed address is also exempt from
//!   `max_per_host_connections` (SFTPGo `common.go` `IsNewConnectionAllowed`);
//! - `setstat_mode: 2`, so clients never meet our (honest) 501 on chmod;
//! - `data_provider.users_base_dir` = `sftpgo.home_dir_base` (the pipe-file directory the hook
//!   answers as `home_dir`), and the SFTP service off unless `SSH` is an allowed protocol;
//! - PROXY protocol (required) from the load balancers given with `--proxy-allowed`.
//!
//! Environment form: SFTPGo reads `SFTPGO_<SECTION>__<KEY>`; lists of objects (bindings,
//! headers) by index (`SFTPGO_FTPD__BINDINGS__0__PORT`), lists of strings as one
//! comma-separated value (`SFTPGO_COMMON__PROXY_ALLOWED=10.0.0.1,10.0.0.2`).

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use crate::base::config::{Config, IpRange};

/// The SFTPGo release whose source the keys were checked against.
pub const SFTPGO_VERSION: &str = "2.7.5";
/// Header carrying `auth_hook.token` to `POST /ftp/auth`.
pub const TOKEN_HEADER: &str = "X-Ftpgate-Hook-Token";
/// `dataprovider.DumpVersion` in SFTPGo 2.7.x (the `version` of a loaddata file).
pub const LOADDATA_VERSION: u64 = 17;
/// SFTPGo IP list type "Defender" and mode "allow" (`internal/dataprovider/iplist.go`).
const IPLIST_TYPE_DEFENDER: u64 = 2;
const IPLIST_MODE_ALLOW: u64 = 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The JSON fragment and the same as environment variables, with notes (for reading).
    #[default]
    Text,
    /// The JSON fragment only, to merge into sftpgo.json.
    Json,
    /// `SFTPGO_…=value` lines only: a docker env_file, a systemd EnvironmentFile or a file in
    /// SFTPGo's `env.d/`.
    Env,
    /// The SFTPGo loaddata file with the defender safe list (from `lockout.safe_ips`).
    Loaddata,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    /// Explicit FTPS offered, plain FTP still accepted (tls_mode 0).
    Optional,
    /// Explicit FTPS required on control and data connections (tls_mode 1).
    Required,
    /// Implicit FTPS: TLS from the first byte (tls_mode 2).
    Implicit,
    /// No certificate: plain FTP only.
    Off,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DefenderDriver {
    /// In memory: one SFTPGo instance.
    #[default]
    Memory,
    /// In SFTPGo's data provider: several SFTPGo instances sharing one (PostgreSQL) provider.
    Provider,
}

impl DefenderDriver {
    fn as_str(self) -> &'static str {
        match self {
            DefenderDriver::Memory => "memory",
            DefenderDriver::Provider => "provider",
        }
    }
}

/// Options of `ftpgate sftpgo-config`. The hook URL, token, passive range and address, TLS
/// policy, safe IPs and `home_dir` base come from this gateway's configuration; these options
/// describe the SFTPGo side.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct Options {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Port of SFTPGo's FTP binding (inside its container if it runs in one).
    #[arg(long, default_value_t = 21)]
    pub ftp_port: u16,
    /// Address of SFTPGo's FTP binding; empty: all interfaces.
    #[arg(long, default_value = "")]
    pub ftp_address: String,
    /// Inclusive passive port range, e.g. 50000-50099 [default: ftp.passive_ports].
    #[arg(long)]
    pub passive_ports: Option<String>,
    /// Public IPv4 address (force_passive_ip) or DNS name (passive_host) announced in PASV
    /// replies [default: ftp.passive_host].
    #[arg(long)]
    pub passive_ip: Option<String>,
    /// FTPS policy [default: required if ftp.require_tls, else optional].
    #[arg(long, value_enum)]
    pub tls: Option<TlsMode>,
    /// PEM certificate (chain) on the SFTPGo host [default: /etc/sftpgo/tls/ftps.crt].
    #[arg(long, requires = "key_file", conflicts_with = "acme_domain")]
    pub cert_file: Option<String>,
    /// PEM private key on the SFTPGo host [default: /etc/sftpgo/tls/ftps.key].
    #[arg(long, requires = "cert_file")]
    pub key_file: Option<String>,
    /// Obtain the certificate with SFTPGo's ACME client (Let's Encrypt) for this DNS name.
    #[arg(long, requires = "acme_email")]
    pub acme_domain: Option<String>,
    /// ACME account e-mail.
    #[arg(long, requires = "acme_domain")]
    pub acme_email: Option<String>,
    /// Where SFTPGo keeps ACME certificates (writable by SFTPGo).
    #[arg(long, default_value = "/var/lib/sftpgo/certs")]
    pub acme_certs_path: String,
    /// Port SFTPGo listens on for the ACME HTTP-01 challenge (port 80 must reach it).
    #[arg(long, default_value_t = 80)]
    pub acme_http_port: u16,
    /// Concurrent connections from one IP address (common.max_per_host_connections). SFTPGo
    /// uses the same number as the per-user limit of concurrent transfers.
    #[arg(long, default_value_t = 200)]
    pub max_per_host: u32,
    /// Load balancers (addresses or CIDRs, comma-separated) that send the PROXY protocol
    /// header; makes the header required on the FTP binding and its passive ports.
    #[arg(long, value_delimiter = ',')]
    pub proxy_allowed: Vec<IpRange>,
    /// Defender driver: memory (one SFTPGo) or provider (several SFTPGo sharing a provider).
    #[arg(long, value_enum, default_value_t = DefenderDriver::Memory)]
    pub defender_driver: DefenderDriver,
    /// Path of the `--format loaddata` output on the SFTPGo host; adds SFTPGO_LOADDATA_FROM
    /// to the environment output.
    #[arg(long)]
    pub loaddata_file: Option<String>,
    /// Leave secrets out (for files that are committed): the hook-token header is written
    /// without its value, which SFTPGO_HTTP__HEADERS__0__VALUE must then supply.
    #[arg(long)]
    pub no_secrets: bool,
}

impl Default for Options {
    /// The same as the command line without options.
    fn default() -> Self {
        Options {
            format: Format::Text,
            ftp_port: 21,
            ftp_address: String::new(),
            passive_ports: None,
            passive_ip: None,
            tls: None,
            cert_file: None,
            key_file: None,
            acme_domain: None,
            acme_email: None,
            acme_certs_path: "/var/lib/sftpgo/certs".into(),
            acme_http_port: 80,
            max_per_host: 200,
            proxy_allowed: Vec::new(),
            defender_driver: DefenderDriver::Memory,
            loaddata_file: None,
            no_secrets: false,
        }
    }
}

pub const DEFAULT_CERT_FILE: &str = "/etc/sftpgo/tls/ftps.crt";
pub const DEFAULT_KEY_FILE: &str = "/etc/sftpgo/tls/ftps.key";

/// Everything `sftpgo-config` produces for one configuration.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The fragment to merge into sftpgo.json (only real SFTPGo keys).
    pub fragment: Value,
    /// Settings SFTPGo reads only from its environment or command line, not from sftpgo.json
    /// (`SFTPGO_GRACE_TIME`, `SFTPGO_LOADDATA_FROM`, `SFTPGO_LOADDATA_MODE`).
    pub process_env: Vec<(String, String)>,
    /// Environment variables deliberately left out (`--no-secrets`), with what they hold.
    pub withheld: Vec<(String, String)>,
    /// The loaddata file (defender safe list).
    pub loaddata: Value,
    /// Things the operator must know (printed as comments).
    pub notes: Vec<String>,
}

/// The public passive address: an IPv4 literal or a DNS name (SFTPGo announces IPv4 only).
enum PassiveAddr {
    Ip(String),
    Host(String),
}

fn passive_addr(s: &str) -> anyhow::Result<PassiveAddr> {
    let s = s.trim();
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => Ok(PassiveAddr::Ip(v4.to_string())),
        Ok(IpAddr::V6(_)) => anyhow::bail!(
            "passive address {s:?}: SFTPGo announces only IPv4 addresses in PASV replies (force_passive_ip)"
        ),
        Err(_) => {
            if is_dns_name(s) {
                Ok(PassiveAddr::Host(s.to_string()))
            } else {
                anyhow::bail!("passive address {s:?} is neither an IPv4 address nor a DNS name")
            }
        }
    }
}

fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn passive_range(s: &str) -> anyhow::Result<(u16, u16)> {
    let bad = || anyhow::anyhow!("passive ports {s:?}: not a port range like 50000-50099");
    let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
    let a: u16 = a.trim().parse().map_err(|_| bad())?;
    let b: u16 = b.trim().parse().map_err(|_| bad())?;
    if a == 0 {
        return Err(bad());
    }
    // ftpd/server.go uses the range only if end > start; otherwise it picks random ports,
    // which no firewall or published port list would let through.
    if b <= a {
        anyhow::bail!(
            "passive ports {s:?}: SFTPGo needs a range of at least two ports (end > start)"
        );
    }
    Ok((a, b))
}

/// The hook URL SFTPGo POSTs logins to: the public base URL + `/ftp/auth`.
pub fn hook_url(cfg: &Config) -> String {
    let endpoint = cfg.httpfs_endpoint();
    let base = endpoint.strip_suffix("/ftp/v1").unwrap_or(&endpoint);
    format!("{base}/ftp/auth")
}

/// Builds the fragment, the process environment, the loaddata file and the notes.
pub fn generate(cfg: &Config, opts: &Options) -> anyhow::Result<Generated> {
    let mut notes = Vec::new();
    let mut withheld = Vec::new();
    let hook = hook_url(cfg);

    // http: the hook token header, only for the hook URL.
    let mut http = Map::new();
    http.insert("timeout".into(), json!(20));
    match (&cfg.auth_hook.token, opts.no_secrets) {
        (_, true) => {
            http.insert(
                "headers".into(),
                json!([{ "key": TOKEN_HEADER, "url": hook }]),
            );
            withheld.push((
                "SFTPGO_HTTP__HEADERS__0__VALUE".to_string(),
                "the hook token (the same value as ftpgate's auth_hook.token)".to_string(),
            ));
        }
        (Some(token), false) => {
            http.insert(
                "headers".into(),
                json!([{ "key": TOKEN_HEADER, "value": token, "url": hook }]),
            );
        }
        (None, false) => notes.push(
            "auth_hook.token is not set: anyone who reaches the hook URL can try passwords. \
             Set it (here and in SFTPGo) for production."
                .into(),
        ),
    }

    // ftpd: one binding, passive range and address, certificate.
    let range_src = opts
        .passive_ports
        .clone()
        .unwrap_or_else(|| cfg.ftp.passive_ports.clone());
    let (pstart, pend) = passive_range(&range_src)?;
    let tls = opts.tls.unwrap_or(if cfg.ftp.require_tls {
        TlsMode::Required
    } else {
        TlsMode::Optional
    });
    let tls_mode = match tls {
        TlsMode::Optional | TlsMode::Off => 0,
        TlsMode::Required => 1,
        TlsMode::Implicit => 2,
    };
    let mut binding = Map::new();
    binding.insert("port".into(), json!(opts.ftp_port));
    binding.insert("address".into(), json!(opts.ftp_address));
    binding.insert("apply_proxy_config".into(), json!(true));
    binding.insert("tls_mode".into(), json!(tls_mode));
    binding.insert("min_tls_version".into(), json!(12));
    // 0: a data connection must come from the control connection's address.
    binding.insert("passive_connections_security".into(), json!(0));
    match opts
        .passive_ip
        .as_deref()
        .or(cfg.ftp.passive_host.as_deref())
    {
        Some(p) => match passive_addr(p)? {
            PassiveAddr::Ip(ip) => {
                binding.insert("force_passive_ip".into(), json!(ip));
            }
            PassiveAddr::Host(h) => {
                notes.push(format!(
                    "passive address {h:?} is a name: SFTPGo resolves it on every PASV (passive_host); \
                     an IPv4 address (force_passive_ip) is faster"
                ));
                binding.insert("passive_host".into(), json!(h));
            }
        },
        None => notes.push(
            "no public passive address (--passive-ip or ftp.passive_host): behind NAT or in a \
             container, PASV replies will carry an address cameras cannot reach"
                .into(),
        ),
    }
    let mut ftpd = Map::new();
    ftpd.insert(
        "bindings".into(),
        Value::Array(vec![Value::Object(binding)]),
    );
    ftpd.insert(
        "passive_port_range".into(),
        json!({ "start": pstart, "end": pend }),
    );
    ftpd.insert("disable_active_mode".into(), json!(!cfg.ftp.active_mode));

    let mut acme = None;
    if tls != TlsMode::Off {
        let (cert, key) = match (&opts.acme_domain, &opts.cert_file, &opts.key_file) {
            (Some(domain), _, _) => {
                let domain = domain.trim().to_ascii_lowercase();
                if !is_dns_name(&domain) {
                    anyhow::bail!("--acme-domain {domain:?} is not a DNS name");
                }
                let email = opts.acme_email.clone().unwrap_or_default();
                if !email.contains('@') {
                    anyhow::bail!("--acme-email {email:?} is not an e-mail address");
                }
                let certs = opts.acme_certs_path.trim_end_matches('/').to_string();
                if !certs.starts_with('/') {
                    anyhow::bail!("--acme-certs-path must be an absolute path");
                }
                acme = Some(json!({
                    "domains": [domain],
                    "email": email,
                    "certs_path": certs,
                    "http01_challenge": { "port": opts.acme_http_port },
                }));
                notes.push(format!(
                    "ACME: run `sftpgo acme run` once (same configuration) before the first start; \
                     SFTPGo renews the certificate itself and reloads it within 8 hours (or on SIGHUP); \
                     port 80 of {domain} must reach SFTPGo's port {}",
                    opts.acme_http_port
                ));
                (
                    format!("{certs}/{domain}.crt"),
                    format!("{certs}/{domain}.key"),
                )
            }
            (None, Some(c), Some(k)) => (c.clone(), k.clone()),
            _ => {
                notes.push(format!(
                    "FTPS certificate expected at {DEFAULT_CERT_FILE} and {DEFAULT_KEY_FILE} \
                     (readable by SFTPGo); pass --cert-file/--key-file or --acme-domain/--acme-email \
                     to change that"
                ));
                (DEFAULT_CERT_FILE.to_string(), DEFAULT_KEY_FILE.to_string())
            }
        };
        ftpd.insert("certificate_file".into(), json!(cert));
        ftpd.insert("certificate_key_file".into(), json!(key));
    } else {
        notes.push("FTPS is off: passwords and photos cross the network in clear text".into());
    }

    // common: setstat, connection limits, proxy protocol, defender.
    let mut common = Map::new();
    common.insert("setstat_mode".into(), json!(2));
    common.insert("max_per_host_connections".into(), json!(opts.max_per_host));
    if opts.proxy_allowed.is_empty() {
        common.insert("proxy_protocol".into(), json!(0));
    } else {
        // 2 = required: connections without a header, or from other addresses, are refused.
        common.insert("proxy_protocol".into(), json!(2));
        let allowed: Vec<String> = opts
            .proxy_allowed
            .iter()
            .map(|n| n.0.trunc().to_string())
            .collect();
        common.insert("proxy_allowed".into(), json!(allowed));
    }
    common.insert(
        "defender".into(),
        json!({
            "enabled": true,
            "driver": opts.defender_driver.as_str(),
            "ban_time": 30,
            "ban_time_increment": 50,
            "threshold": 15,
            "score_invalid": 2,
            "score_valid": 1,
            "score_limit_exceeded": 3,
            "score_no_auth": 0,
            "observation_time": 30,
        }),
    );
    if opts.defender_driver == DefenderDriver::Provider {
        notes.push(
            "defender driver `provider`: every SFTPGo instance must share one data provider \
             (PostgreSQL) with data_provider.is_shared = 1"
                .into(),
        );
    }

    let mut frag = Map::new();
    frag.insert("common".into(), Value::Object(common));
    frag.insert(
        "data_provider".into(),
        json!({
            "external_auth_hook": hook,
            // 1 = passwords only: cameras log in with a password.
            "external_auth_scope": 1,
            // The hook answers home_dir = home_dir_base/username; the same default if it did not.
            "users_base_dir": cfg.sftpgo.home_dir_base.trim_end_matches('/'),
        }),
    );
    frag.insert("http".into(), Value::Object(http));
    frag.insert("ftpd".into(), Value::Object(ftpd));
    if !cfg
        .sftpgo
        .allowed_protocols
        .iter()
        .any(|p| p.eq_ignore_ascii_case("SSH"))
    {
        // The hook refuses SSH logins anyway; do not listen at all.
        frag.insert("sftpd".into(), json!({ "bindings": [{ "port": 0 }] }));
    }
    if let Some(a) = acme {
        frag.insert("acme".into(), a);
    }

    // Settings outside sftpgo.json.
    let mut process_env = vec![(
        "SFTPGO_GRACE_TIME".to_string(),
        cfg.ftp.shutdown_grace_secs.to_string(),
    )];
    if let Some(f) = &opts.loaddata_file {
        if !f.starts_with('/') {
            anyhow::bail!("--loaddata-file must be an absolute path (SFTPGo requires one)");
        }
        process_env.push(("SFTPGO_LOADDATA_FROM".into(), f.clone()));
        // 0: entries already in SFTPGo's provider are updated from the file.
        process_env.push(("SFTPGO_LOADDATA_MODE".into(), "0".into()));
    } else if !cfg.lockout.safe_ips.is_empty() {
        notes.push(
            "lockout.safe_ips is set: load the defender safe list into SFTPGo \
             (--format loaddata, then --loaddata-file PATH)"
                .into(),
        );
    }

    let entries: Vec<Value> = cfg
        .lockout
        .safe_ips
        .iter()
        .map(|n| {
            json!({
                "ipornet": n.0.trunc().to_string(),
                "description": "ftpgate lockout.safe_ips",
                "type": IPLIST_TYPE_DEFENDER,
                "mode": IPLIST_MODE_ALLOW,
                // 0 = every protocol
                "protocols": 0,
            })
        })
        .collect();
    let loaddata = json!({ "ip_lists": entries, "version": LOADDATA_VERSION });

    Ok(Generated {
        fragment: Value::Object(frag),
        process_env,
        withheld,
        loaddata,
        notes,
    })
}

/// The SFTPGo configuration fragment (merge into sftpgo.json).
pub fn fragment(cfg: &Config, opts: &Options) -> anyhow::Result<Value> {
    Ok(generate(cfg, opts)?.fragment)
}

/// Characters that env-file readers (docker, compose, systemd, SFTPGo's env.d) treat
/// differently from each other; such a value is refused rather than written ambiguously.
fn env_safe(name: &str, value: &str) -> anyhow::Result<()> {
    if value.trim() != value
        || value
            .chars()
            .any(|c| c.is_control() || matches!(c, '"' | '\'' | '`' | '\\' | '$' | '#'))
    {
        anyhow::bail!(
            "{name}: its value has spaces at an end, quotes, `$`, `#`, backslashes or control \
             characters, which env files do not carry the same way everywhere; use --format json, \
             or choose another value"
        );
    }
    Ok(())
}

/// Flattens a JSON fragment into SFTPGo's environment variables. Objects nest with `__`; lists
/// of objects are indexed (`…__BINDINGS__0__PORT`, read by SFTPGo's `loadBindingsFromEnv`);
/// lists of strings are one comma-separated value (viper's string-slice decoding).
pub fn env_lines(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                env_lines(&format!("{prefix}__{}", k.to_uppercase()), v, out)?;
            }
        }
        Value::Array(a) if a.is_empty() => {}
        Value::Array(a) if a.iter().all(Value::is_object) => {
            if a.len() > 10 {
                anyhow::bail!(
                    "{prefix}: SFTPGo reads at most 10 list entries from the environment"
                );
            }
            for (i, v) in a.iter().enumerate() {
                env_lines(&format!("{prefix}__{i}"), v, out)?;
            }
        }
        Value::Array(a) => {
            let mut items = Vec::new();
            for item in a {
                let s = match item {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => anyhow::bail!("{prefix}: mixed list cannot be an environment variable"),
                };
                if s.contains(',') || s.is_empty() {
                    anyhow::bail!("{prefix}: list item {s:?} cannot be written comma-separated");
                }
                items.push(s);
            }
            out.push((prefix.to_string(), items.join(",")));
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Null => {}
        other => out.push((prefix.to_string(), other.to_string())),
    }
    Ok(())
}

/// The fragment as `SFTPGO_…` variables, followed by the process settings.
pub fn env_vars(g: &Generated) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Value::Object(m) = &g.fragment {
        for (k, v) in m {
            env_lines(&format!("SFTPGO_{}", k.to_uppercase()), v, &mut out)?;
        }
    }
    out.extend(g.process_env.iter().cloned());
    for (k, v) in &out {
        env_safe(k, v)?;
    }
    Ok(out)
}

fn comment_block(s: &mut String, lines: &[String]) {
    for l in lines {
        s.push_str("# ");
        s.push_str(l);
        s.push('\n');
    }
}

fn env_body(g: &Generated) -> anyhow::Result<String> {
    let mut s = String::new();
    for (k, v) in env_vars(g)? {
        s.push_str(&k);
        s.push('=');
        s.push_str(&v);
        s.push('\n');
    }
    for (k, what) in &g.withheld {
        s.push_str(&format!("# {k} is not written here: set it to {what}.\n"));
    }
    Ok(s)
}

/// The output of `ftpgate sftpgo-config` in the chosen format.
pub fn render(cfg: &Config, opts: &Options) -> anyhow::Result<String> {
    let g = generate(cfg, opts)?;
    let notes: Vec<String> = g.notes.iter().map(|n| format!("note: {n}")).collect();
    let mut s = String::new();
    match opts.format {
        Format::Json => {
            s.push_str(&serde_json::to_string_pretty(&g.fragment)?);
            s.push('\n');
        }
        Format::Loaddata => {
            s.push_str(&serde_json::to_string_pretty(&g.loaddata)?);
            s.push('\n');
        }
        Format::Env => {
            comment_block(
                &mut s,
                &[
                    format!(
                        "SFTPGo {SFTPGO_VERSION} settings for ftpgate, written by `ftpgate sftpgo-config --format env`."
                    ),
                    "Do not edit: change ftpgate's configuration or the options, and write it again."
                        .into(),
                ],
            );
            comment_block(&mut s, &notes);
            s.push_str(&env_body(&g)?);
        }
        Format::Text => {
            comment_block(
                &mut s,
                &[
                    format!("SFTPGo {SFTPGO_VERSION} configuration for ftpgate."),
                    "1) Merge this into sftpgo.json (or use --format json):".into(),
                ],
            );
            comment_block(&mut s, &notes);
            s.push_str(&serde_json::to_string_pretty(&g.fragment)?);
            s.push_str("\n\n");
            comment_block(
                &mut s,
                &[
                    "2) Or the same as environment variables (--format env), with the settings \
                     SFTPGo takes only from its environment (SFTPGO_GRACE_TIME, SFTPGO_LOADDATA_*):"
                        .into(),
                ],
            );
            s.push_str(&env_body(&g)?);
            if !cfg.lockout.safe_ips.is_empty() {
                s.push('\n');
                comment_block(
                    &mut s,
                    &[
                        "3) The defender safe list, for SFTPGO_LOADDATA_FROM (--format loaddata):"
                            .into(),
                    ],
                );
                s.push_str(&serde_json::to_string_pretty(&g.loaddata)?);
                s.push('\n');
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        opts: Options,
    }

    fn parse(args: &[&str]) -> Options {
        let mut v = vec!["sftpgo-config"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v).unwrap().opts
    }

    fn env_map(cfg: &Config, opts: &Options) -> std::collections::BTreeMap<String, String> {
        env_vars(&generate(cfg, opts).unwrap())
            .unwrap()
            .into_iter()
            .collect()
    }

    /// The SFTPGo 2.7.5 keys this module may write (sftpgo.json; bindings/headers by field).
    const KNOWN: &[&str] = &[
        "common.setstat_mode",
        "common.max_per_host_connections",
        "common.proxy_protocol",
        "common.proxy_allowed",
        "common.defender.enabled",
        "common.defender.driver",
        "common.defender.ban_time",
        "common.defender.ban_time_increment",
        "common.defender.threshold",
        "common.defender.score_invalid",
        "common.defender.score_valid",
        "common.defender.score_limit_exceeded",
        "common.defender.score_no_auth",
        "common.defender.observation_time",
        "data_provider.external_auth_hook",
        "data_provider.external_auth_scope",
        "data_provider.users_base_dir",
        "http.timeout",
        "http.headers[].key",
        "http.headers[].value",
        "http.headers[].url",
        "ftpd.bindings[].port",
        "ftpd.bindings[].address",
        "ftpd.bindings[].apply_proxy_config",
        "ftpd.bindings[].tls_mode",
        "ftpd.bindings[].min_tls_version",
        "ftpd.bindings[].force_passive_ip",
        "ftpd.bindings[].passive_host",
        "ftpd.bindings[].passive_connections_security",
        "ftpd.passive_port_range.start",
        "ftpd.passive_port_range.end",
        "ftpd.disable_active_mode",
        "ftpd.certificate_file",
        "ftpd.certificate_key_file",
        "sftpd.bindings[].port",
        "acme.domains",
        "acme.email",
        "acme.certs_path",
        "acme.http01_challenge.port",
    ];

    fn leaf_paths(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaf_paths(&p, v, out);
                }
            }
            Value::Array(a) if a.iter().any(Value::is_object) => {
                for v in a {
                    leaf_paths(&format!("{prefix}[]"), v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }

    fn full_cfg() -> (Config, Options) {
        let mut cfg = Config::default();
        cfg.auth_hook.token = Some("t0k".into());
        cfg.lockout.safe_ips = vec!["203.0.113.7/24".parse().unwrap()];
        let opts = parse(&[
            "--passive-ip",
            "198.51.100.10",
            "--acme-domain",
            "ftp.example.com",
            "--acme-email",
            "ops@example.com",
            "--proxy-allowed",
            "10.0.0.0/8,192.168.1.5",
            "--loaddata-file",
            "/etc/sftpgo/ftpgate-loaddata.json",
        ]);
        (cfg, opts)
    }

    #[test]
    fn defaults_match_the_command_line_without_options() {
        assert_eq!(parse(&[]), Options::default());
        // and the plain command still works on a default configuration
        let text = render(&Config::default(), &Options::default()).unwrap();
        assert!(text.contains("\"external_auth_scope\": 1"));
    }

    #[test]
    fn hook_url_and_token_header() {
        let mut cfg = Config::default();
        cfg.auth_hook.token = Some("t0k".into());
        let f = fragment(&cfg, &Options::default()).unwrap();
        assert_eq!(
            f["data_provider"]["external_auth_hook"],
            "http://127.0.0.1:8080/ftp/auth"
        );
        assert_eq!(f["http"]["headers"][0]["key"], TOKEN_HEADER);
        assert_eq!(
            f["http"]["headers"][0]["url"],
            "http://127.0.0.1:8080/ftp/auth"
        );
        let text = render(&cfg, &Options::default()).unwrap();
        assert!(text.contains("SFTPGO_HTTP__HEADERS__0__VALUE=t0k"));
        assert!(text.contains("SFTPGO_DATA_PROVIDER__EXTERNAL_AUTH_SCOPE=1"));
        cfg.http.public_url = Some("https://gw.internal:8443/".into());
        assert_eq!(hook_url(&cfg), "https://gw.internal:8443/ftp/auth");
    }

    #[test]
    fn every_key_is_a_known_sftpgo_key() {
        let (cfg, opts) = full_cfg();
        for o in [opts, Options::default()] {
            let mut paths = Vec::new();
            leaf_paths("", &fragment(&cfg, &o).unwrap(), &mut paths);
            for p in paths {
                assert!(KNOWN.contains(&p.as_str()), "{p} is not an SFTPGo key");
            }
        }
    }

    #[test]
    fn env_lists_are_indexed_for_objects_and_comma_joined_for_strings() {
        let (cfg, opts) = full_cfg();
        let env = env_map(&cfg, &opts);
        assert_eq!(env["SFTPGO_FTPD__BINDINGS__0__PORT"], "21");
        assert_eq!(
            env["SFTPGO_FTPD__BINDINGS__0__FORCE_PASSIVE_IP"],
            "198.51.100.10"
        );
        assert_eq!(
            env["SFTPGO_COMMON__PROXY_ALLOWED"],
            "10.0.0.0/8,192.168.1.5/32"
        );
        assert_eq!(env["SFTPGO_COMMON__PROXY_PROTOCOL"], "2");
        assert_eq!(env["SFTPGO_ACME__DOMAINS"], "ftp.example.com");
        assert_eq!(env["SFTPGO_ACME__HTTP01_CHALLENGE__PORT"], "80");
        assert_eq!(
            env["SFTPGO_FTPD__CERTIFICATE_FILE"],
            "/var/lib/sftpgo/certs/ftp.example.com.crt"
        );
        assert_eq!(env["SFTPGO_COMMON__DEFENDER__ENABLED"], "true");
        assert_eq!(env["SFTPGO_SFTPD__BINDINGS__0__PORT"], "0");
        assert_eq!(
            env["SFTPGO_LOADDATA_FROM"],
            "/etc/sftpgo/ftpgate-loaddata.json"
        );
        assert_eq!(env["SFTPGO_LOADDATA_MODE"], "0");
        assert_eq!(env["SFTPGO_GRACE_TIME"], "30");
        assert!(
            !env.keys()
                .any(|k| k.starts_with("SFTPGO_COMMON__PROXY_ALLOWED__"))
        );
    }

    #[test]
    fn env_output_matches_json_output() {
        let (cfg, mut opts) = full_cfg();
        opts.format = Format::Json;
        let json: Value = serde_json::from_str(&render(&cfg, &opts).unwrap()).unwrap();
        opts.format = Format::Env;
        let env_text = render(&cfg, &opts).unwrap();
        let mut from_json = Vec::new();
        env_lines("SFTPGO_FTPD", &json["ftpd"], &mut from_json).unwrap();
        for (k, v) in from_json {
            assert!(env_text.contains(&format!("\n{k}={v}\n")), "{k} missing");
        }
    }

    #[test]
    fn passive_address_ip_or_name() {
        let mut cfg = Config::default();
        cfg.ftp.passive_host = Some("ftp.example.com".into());
        let f = fragment(&cfg, &Options::default()).unwrap();
        assert_eq!(f["ftpd"]["bindings"][0]["passive_host"], "ftp.example.com");
        assert!(f["ftpd"]["bindings"][0].get("force_passive_ip").is_none());
        let o = parse(&["--passive-ip", "192.0.2.1"]);
        let f = fragment(&cfg, &o).unwrap();
        assert_eq!(f["ftpd"]["bindings"][0]["force_passive_ip"], "192.0.2.1");
        let o = parse(&["--passive-ip", "2001:db8::1"]);
        assert!(fragment(&cfg, &o).is_err());
        let o = parse(&["--passive-ip", "bad name!"]);
        assert!(fragment(&cfg, &o).is_err());
    }

    #[test]
    fn passive_range_needs_two_ports() {
        let cfg = Config::default();
        let f = fragment(&cfg, &parse(&["--passive-ports", "50000-50099"])).unwrap();
        assert_eq!(
            f["ftpd"]["passive_port_range"],
            json!({"start": 50000, "end": 50099})
        );
        // the default comes from ftp.passive_ports
        let f = fragment(&cfg, &Options::default()).unwrap();
        assert_eq!(
            f["ftpd"]["passive_port_range"],
            json!({"start": 50000, "end": 50099})
        );
        for bad in ["50000-50000", "50000", "0-10", "9-5", "a-b"] {
            assert!(
                fragment(&cfg, &parse(&["--passive-ports", bad])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tls_modes_and_certificates() {
        let mut cfg = Config::default();
        let f = fragment(&cfg, &Options::default()).unwrap();
        assert_eq!(f["ftpd"]["bindings"][0]["tls_mode"], 0);
        assert_eq!(f["ftpd"]["certificate_file"], DEFAULT_CERT_FILE);
        cfg.ftp.require_tls = true;
        let f = fragment(&cfg, &Options::default()).unwrap();
        assert_eq!(f["ftpd"]["bindings"][0]["tls_mode"], 1);
        let f = fragment(&cfg, &parse(&["--tls", "implicit"])).unwrap();
        assert_eq!(f["ftpd"]["bindings"][0]["tls_mode"], 2);
        let f = fragment(&cfg, &parse(&["--tls", "off"])).unwrap();
        assert_eq!(f["ftpd"]["bindings"][0]["tls_mode"], 0);
        assert!(f["ftpd"].get("certificate_file").is_none());
        let f = fragment(
            &cfg,
            &parse(&["--cert-file", "/c.pem", "--key-file", "/k.pem"]),
        )
        .unwrap();
        assert_eq!(f["ftpd"]["certificate_file"], "/c.pem");
        assert_eq!(f["ftpd"]["certificate_key_file"], "/k.pem");
        assert!(f.get("acme").is_none());
        // a certificate needs its key, ACME needs an e-mail
        assert!(Cli::try_parse_from(["x", "--cert-file", "/c.pem"]).is_err());
        assert!(Cli::try_parse_from(["x", "--acme-domain", "a.example"]).is_err());
    }

    #[test]
    fn no_secrets_leaves_the_token_out() {
        let (cfg, mut opts) = full_cfg();
        opts.no_secrets = true;
        for fmt in [Format::Text, Format::Json, Format::Env] {
            opts.format = fmt;
            let out = render(&cfg, &opts).unwrap();
            assert!(!out.contains("t0k"), "{fmt:?}");
            assert!(out.contains(TOKEN_HEADER), "{fmt:?}");
        }
        opts.format = Format::Env;
        let out = render(&cfg, &opts).unwrap();
        assert!(out.contains("SFTPGO_HTTP__HEADERS__0__KEY=X-Ftpgate-Hook-Token\n"));
        assert!(out.contains("# SFTPGO_HTTP__HEADERS__0__VALUE is not written here"));
        // the header is written even without a token in this configuration
        let out = render(&Config::default(), &opts).unwrap();
        assert!(out.contains("SFTPGO_HTTP__HEADERS__0__URL=http://127.0.0.1:8080/ftp/auth\n"));
    }

    #[test]
    fn no_token_no_header() {
        let f = fragment(&Config::default(), &Options::default()).unwrap();
        assert!(f["http"].get("headers").is_none());
    }

    #[test]
    fn env_refuses_values_that_env_files_mangle() {
        let mut cfg = Config::default();
        for bad in ["a$b", "a#b", "a\"b", "a b ", "a\nb"] {
            cfg.auth_hook.token = Some(bad.into());
            let o = Options {
                format: Format::Env,
                ..Options::default()
            };
            assert!(render(&cfg, &o).is_err(), "{bad:?}");
        }
        cfg.auth_hook.token = Some("Zm9v-bar_123".into());
        assert!(render(&cfg, &Options::default()).is_ok());
    }

    #[test]
    fn safe_ips_become_the_defender_safe_list() {
        let (cfg, mut opts) = full_cfg();
        opts.format = Format::Loaddata;
        let l: Value = serde_json::from_str(&render(&cfg, &opts).unwrap()).unwrap();
        assert_eq!(l["version"], LOADDATA_VERSION);
        assert_eq!(
            l["ip_lists"],
            json!([{
                "ipornet": "203.0.113.0/24", "description": "ftpgate lockout.safe_ips",
                "type": 2, "mode": 1, "protocols": 0
            }])
        );
        let empty = generate(&Config::default(), &Options::default()).unwrap();
        assert_eq!(empty.loaddata["ip_lists"], json!([]));
    }

    #[test]
    fn ssh_allowed_keeps_sftpd() {
        let mut cfg = Config::default();
        assert_eq!(
            fragment(&cfg, &Options::default()).unwrap()["sftpd"]["bindings"][0]["port"],
            0
        );
        cfg.sftpgo.allowed_protocols = vec!["FTP".into(), "ssh".into()];
        assert!(
            fragment(&cfg, &Options::default())
                .unwrap()
                .get("sftpd")
                .is_none()
        );
    }

    #[test]
    fn users_base_dir_follows_home_dir_base() {
        let mut cfg = Config::default();
        cfg.sftpgo.home_dir_base = "/srv/sftpgo/data/ftpgate/".into();
        let f = fragment(&cfg, &Options::default()).unwrap();
        assert_eq!(
            f["data_provider"]["users_base_dir"],
            "/srv/sftpgo/data/ftpgate"
        );
    }

    #[test]
    fn defender_is_valid_for_sftpgo() {
        // defender.go validate(): every score below the threshold, positive times.
        let f = fragment(&Config::default(), &Options::default()).unwrap();
        let d = &f["common"]["defender"];
        let t = d["threshold"].as_i64().unwrap();
        for k in [
            "score_invalid",
            "score_valid",
            "score_limit_exceeded",
            "score_no_auth",
        ] {
            assert!(d[k].as_i64().unwrap() < t, "{k}");
        }
        for k in ["ban_time", "ban_time_increment", "observation_time"] {
            assert!(d[k].as_i64().unwrap() > 0, "{k}");
        }
    }
}
