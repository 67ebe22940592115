//! TLS for the FTP door: the certificate (configured, or self-signed and generated into
//! `data_dir/ftp-tls/` on first start), and two rustls server configurations sharing one
//! resumption state:
//!
//! - control connections: TLS 1.2 and 1.3, TLS 1.3 session tickets sent as usual;
//! - data connections: the same, but **no TLS 1.3 session tickets** (lftp truncates uploads when
//!   a server sends post-handshake tickets on a data channel), while still **accepting
//!   resumption** of the control connection's session (FileZilla checks that the data channel
//!   resumes it). Both configs share a [`ServerSessionMemoryCache`] (TLS 1.2 session IDs) and one
//!   ticketer (TLS 1.2/1.3 tickets: rustls takes stateful TLS 1.3 tickets out of the cache on
//!   first use, so a client resuming the control session on every data connection needs
//!   stateless, reusable tickets encrypted with a key both configs hold).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ServerSessionMemoryCache;
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

use crate::base::config::Config;

pub struct TlsSetup {
    pub control: TlsAcceptor,
    pub data: TlsAcceptor,
    /// SHA-256 of the leaf certificate, `AB:CD:…` (what a camera shows when it asks to trust).
    pub fingerprint: String,
    pub cert_path: PathBuf,
    pub generated: bool,
}

pub fn fingerprint(der: &[u8]) -> String {
    let d = Sha256::digest(der);
    d.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn load_pem(
    cert: &Path,
    key: &Path,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read TLS certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("invalid PEM in {}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("no certificate in {}", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read TLS private key {}", key.display()))?;
    Ok((certs, key))
}

/// How long a generated certificate is valid, and how long before its end it is renewed.
const VALIDITY_DAYS: i64 = 730;
const RENEW_DAYS: i64 = 30;

/// What the generated certificate was made for, kept beside it (`cert.json`): a change of
/// names or an end within [`RENEW_DAYS`] makes a new one at start-up.
#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct Generated {
    names: Vec<String>,
    not_after: i64,
}

/// The names a generated certificate covers: the public name or address cameras dial
/// (`ftp.passive_host`), the listen address when it is a specific one, `tls.names`, this
/// host's name, and loopback; the first is also the subject's common name.
pub fn certificate_names(cfg: &Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        let n = n.trim().trim_end_matches('.').to_ascii_lowercase();
        let ok = !n.is_empty()
            && n.len() < 254
            && (n.parse::<std::net::IpAddr>().is_ok()
                || n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        if ok && !names.contains(&n) {
            names.push(n);
        }
    };
    if let Some(h) = &cfg.ftp.passive_host {
        add(h);
    }
    if !cfg.ftp.listen.ip().is_unspecified() {
        add(&cfg.ftp.listen.ip().to_string());
    }
    for n in &cfg.tls.names {
        add(n);
    }
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        add(&h);
    }
    for n in ["localhost", "127.0.0.1", "::1"] {
        add(n);
    }
    names
}

/// Creates a self-signed certificate for `names`, valid from yesterday for [`VALIDITY_DAYS`],
/// key readable by the owner only.
fn generate(dir: &Path, cert: &Path, key: &Path, names: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .context("cannot make a certificate for these names (ftp.passive_host, tls.names)")?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        rcgen::DnType::CommonName,
        names.first().map_or("localhost", |n| n.as_str()),
    );
    dn.push(rcgen::DnType::OrganizationName, "ftpgate (self-signed)");
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS);
    let signing_key = rcgen::KeyPair::generate().context("cannot generate a TLS key")?;
    let made = params
        .self_signed(&signing_key)
        .context("cannot generate a TLS certificate")?;
    let key_tmp = dir.join("key.pem.tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&key_tmp)
            .with_context(|| format!("cannot write {}", key_tmp.display()))?;
        f.write_all(signing_key.serialize_pem().as_bytes())?;
        f.sync_all()?;
    }
    let cert_tmp = dir.join("cert.pem.tmp");
    std::fs::write(&cert_tmp, made.pem())?;
    let meta = Generated {
        names: names.to_vec(),
        not_after: params.not_after.unix_timestamp(),
    };
    std::fs::write(dir.join("cert.json"), serde_json::to_vec_pretty(&meta)?)?;
    std::fs::rename(&key_tmp, key)?;
    std::fs::rename(&cert_tmp, cert)?;
    Ok(())
}

/// Why the generated certificate in `dir` must be made again, if it must.
fn renewal_reason(dir: &Path, names: &[String]) -> Option<String> {
    let Some(meta) = std::fs::read(dir.join("cert.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Generated>(&b).ok())
    else {
        return Some("it was made by an earlier version, for no useful name".into());
    };
    if meta.names != names {
        return Some(format!(
            "its names {:?} are not the configured ones {:?}",
            meta.names, names
        ));
    }
    let left = meta.not_after - time::OffsetDateTime::now_utc().unix_timestamp();
    if left < RENEW_DAYS * 86_400 {
        return Some(format!("it ends in {} days", left.max(0) / 86_400));
    }
    None
}

pub fn setup(cfg: &Config) -> anyhow::Result<TlsSetup> {
    let (cert_path, key_path, generated) = match (&cfg.ftp.tls_cert, &cfg.ftp.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone(), false),
        (None, None) => {
            let dir = cfg.data_dir.join("ftp-tls");
            let c = dir.join("cert.pem");
            let k = dir.join("key.pem");
            let names = certificate_names(cfg);
            let generated = if !(c.exists() && k.exists()) {
                generate(&dir, &c, &k, &names)?;
                true
            } else if let Some(why) = renewal_reason(&dir, &names) {
                // Cameras that trusted the old fingerprint must be shown the new one.
                tracing::warn!(
                    reason = %why, names = ?names,
                    "renewing the generated FTPS certificate: its fingerprint changes"
                );
                generate(&dir, &c, &k, &names)?;
                true
            } else {
                false
            };
            (c, k, generated)
        }
        _ => anyhow::bail!("ftp.tls_cert and ftp.tls_key must be set together"),
    };
    let (certs, key) = load_pem(&cert_path, &key_path)?;
    let fp = fingerprint(certs[0].as_ref());

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cache = ServerSessionMemoryCache::new(8192);
    let ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()
        .map_err(|e| anyhow::anyhow!("cannot create the TLS ticketer: {e}"))?;
    let build = |tickets: usize| -> anyhow::Result<ServerConfig> {
        let mut c = ServerConfig::builder_with_provider(provider.clone() as Arc<CryptoProvider>)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .context("TLS versions")?
            .with_no_client_auth()
            .with_single_cert(certs.clone(), key.clone_key())
            .context("the TLS certificate and key do not match or are not supported")?;
        c.session_storage = cache.clone();
        c.ticketer = ticketer.clone();
        c.send_tls13_tickets = tickets;
        Ok(c)
    };
    let control = build(2)?;
    let data = build(0)?;
    Ok(TlsSetup {
        control: TlsAcceptor::from(Arc::new(control)),
        data: TlsAcceptor::from(Arc::new(data)),
        fingerprint: fp,
        cert_path,
        generated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_reuses() {
        let dir = std::env::temp_dir().join(format!("ftpgate-tls-{}", ulid::Ulid::new()));
        let cfg = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        let a = setup(&cfg).unwrap();
        assert!(a.generated);
        assert_eq!(a.fingerprint.len(), 32 * 3 - 1);
        let b = setup(&cfg).unwrap();
        assert!(!b.generated);
        assert_eq!(a.fingerprint, b.fingerprint);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("ftp-tls/key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key not readable by others");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn fingerprint_format() {
        assert_eq!(
            fingerprint(b""),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }
}
