//! Who is calling: photographers' passwords (argon2id), lock-out after repeated failures, and
//! the per-photographer HTTPFs keys SFTPGo sends back to us on every file operation.
//!
//! A key is `fgk1.<username>.<generation>.<mac>`, the MAC an HMAC-SHA256 under a secret shared
//! by all replicas through the catalog. Checking it costs no database round trip; the
//! generation and status come from a cache refreshed every [`STATE_TTL`], so bumping the
//! generation (`revoke-keys`) or disabling a photographer takes effect within that time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::base::config::LockoutConfig;
use crate::base::domain::{Door, Username, now_millis};
use crate::base::error::{CoreError, CoreResult};
use crate::store::catalog::{AuditRecord, Catalog, LockoutOutcome, PhotographerRow};

/// How stale a cached photographer state may be (the revocation delay), well under 5 s.
pub const STATE_TTL: Duration = Duration::from_secs(2);

/// The identity of an authenticated caller, as both doors hand it to the core.
#[derive(Clone, Debug)]
pub struct Session {
    pub username: Username,
    pub ip: Option<IpAddr>,
    pub door: Door,
}

#[derive(Clone, Copy)]
struct CachedState {
    at: Instant,
    generation: i64,
    active: bool,
}

pub struct Identity {
    catalog: Catalog,
    lockout: LockoutConfig,
    key_secret: Vec<u8>,
    /// Verified against when the username is unknown, so both cases cost one argon2 run.
    dummy_hash: String,
    states: Mutex<HashMap<String, CachedState>>,
    /// Caps concurrent argon2 runs (each ~19 MiB and tens of ms of CPU) so a login storm
    /// cannot starve uploads.
    hashing: tokio::sync::Semaphore,
}

pub fn hash_password(password: &str) -> CoreResult<String> {
    let salt: [u8; 16] = rand::random();
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::BadRequest(format!("cannot hash password: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A strong password a photographer can type into a camera: 20 characters without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn check_new_password(password: &str) -> CoreResult<()> {
    if password.chars().count() < 8 {
        return Err(CoreError::BadRequest(
            "password must have at least 8 characters".into(),
        ));
    }
    if password.len() > 1024 || password.chars().any(|c| c.is_control()) {
        return Err(CoreError::BadRequest(
            "password must be at most 1024 bytes without control characters".into(),
        ));
    }
    Ok(())
}

impl Identity {
    pub async fn new(catalog: Catalog, lockout: LockoutConfig) -> CoreResult<Arc<Identity>> {
        let secret = catalog
            .setting_or_init("httpfs_key_secret", || {
                let bytes: [u8; 32] = rand::random();
                hex::encode(bytes)
            })
            .await?;
        let key_secret =
            hex::decode(secret).map_err(|_| CoreError::Catalog("corrupt key secret".into()))?;
        let dummy_hash = tokio::task::spawn_blocking(|| hash_password(&generate_password()))
            .await
            .map_err(|e| CoreError::Catalog(e.to_string()))??;
        let permits = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            * 2;
        Ok(Arc::new(Identity {
            catalog,
            lockout,
            key_secret,
            dummy_hash,
            states: Mutex::new(HashMap::new()),
            hashing: tokio::sync::Semaphore::new(permits),
        }))
    }

    fn scopes(&self, username: &str, ip: Option<IpAddr>) -> (String, Option<String>) {
        let ip_scope = ip
            .filter(|ip| !self.lockout.safe_ips.iter().any(|net| net.contains(ip)))
            .map(|ip| format!("ip:{ip}"));
        (format!("user:{username}"), ip_scope)
    }

    /// Checks a password login, shared by the SFTPGo auth hook and the FTP door: lock-out
    /// first, then argon2id (the same cost for unknown users), then status. Every attempt is
    /// audited; failures count towards the lock-out of the username and of the address.
    pub async fn login(
        &self,
        raw_username: &str,
        password: &str,
        ip: Option<IpAddr>,
        door: Door,
    ) -> CoreResult<PhotographerRow> {
        let folded = raw_username.trim().to_lowercase();
        let audit = |result: &'static str| {
            metrics::counter!("ftpgate_auth_total", "door" => door.as_str(), "result" => result)
                .increment(1);
            AuditRecord {
                door: door.as_str(),
                action: "login",
                result: result.to_string(),
                photographer: Some(folded.chars().take(64).collect()),
                ip: ip.map(|i| i.to_string()),
                ..Default::default()
            }
        };
        let (user_scope, ip_scope) = self.scopes(&folded, ip);
        let now = now_millis();
        let mut scopes = vec![user_scope.clone()];
        scopes.extend(ip_scope.clone());
        if let LockoutOutcome::LockedUntil(_) = self.catalog.locked(&scopes, now).await? {
            self.catalog.audit(&audit("locked_out")).await;
            return Err(CoreError::LockedOut);
        }

        let row = match Username::parse(&folded) {
            Ok(u) => self.catalog.photographer(u.as_str()).await?,
            Err(_) => None,
        };
        let hash = row
            .as_ref()
            .map(|r| r.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let password_owned = password.to_string();
        let ok = {
            let _permit = self
                .hashing
                .acquire()
                .await
                .map_err(|_| CoreError::Unauthorized)?;
            tokio::task::spawn_blocking(move || verify_password(&password_owned, &hash))
                .await
                .unwrap_or(false)
        };
        match row {
            Some(row) if ok && row.status == "active" => {
                self.catalog.clear_failures(&user_scope).await?;
                self.catalog.audit(&audit("ok")).await;
                Ok(row)
            }
            Some(row) if ok => {
                let _ = row;
                self.catalog.audit(&audit("disabled")).await;
                Err(CoreError::Unauthorized)
            }
            _ => {
                let l = &self.lockout;
                let window = l.window_secs as i64 * 1000;
                let cooldown = l.cooldown_secs as i64 * 1000;
                self.catalog
                    .record_failure(
                        &user_scope,
                        now,
                        window,
                        l.max_failures_per_user.into(),
                        cooldown,
                    )
                    .await?;
                if let Some(s) = &ip_scope {
                    self.catalog
                        .record_failure(s, now, window, l.max_failures_per_ip.into(), cooldown)
                        .await?;
                }
                self.catalog.audit(&audit("bad_credentials")).await;
                Err(CoreError::Unauthorized)
            }
        }
    }

    fn mac(&self, username: &str, generation: i64) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key_secret)
            .expect("HMAC takes keys of any length");
        mac.update(b"ftpgate-httpfs-key\0");
        mac.update(username.as_bytes());
        mac.update(b"\0");
        mac.update(generation.to_string().as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The HTTPFs key for a photographer at their current key generation.
    pub fn httpfs_key(&self, p: &PhotographerRow) -> String {
        format!(
            "fgk1.{}.{}.{}",
            p.username,
            p.key_generation,
            self.mac(&p.username, p.key_generation)
        )
    }

    /// Identifies an HTTPFs caller from its key: MAC check in memory, then the cached
    /// generation and status (refreshed from the catalog at most every STATE_TTL).
    pub async fn session_from_key(
        &self,
        key: &str,
        ip: Option<IpAddr>,
        door: Door,
    ) -> CoreResult<Session> {
        let mut parts = key.split('.');
        let (Some("fgk1"), Some(user), Some(generation), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(CoreError::Unauthorized);
        };
        let username = Username::parse(user).map_err(|_| CoreError::Unauthorized)?;
        let generation: i64 = generation.parse().map_err(|_| CoreError::Unauthorized)?;
        let expected = self.mac(username.as_str(), generation);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            mac.as_bytes(),
        )) {
            return Err(CoreError::Unauthorized);
        }
        let state = self.state(username.as_str()).await?;
        if !state.active || state.generation != generation {
            return Err(CoreError::Unauthorized);
        }
        Ok(Session { username, ip, door })
    }

    async fn state(&self, username: &str) -> CoreResult<CachedState> {
        if let Ok(map) = self.states.lock()
            && let Some(s) = map.get(username)
            && s.at.elapsed() < STATE_TTL
        {
            return Ok(*s);
        }
        let row = self.catalog.photographer(username).await?;
        let state = match row {
            Some(r) => CachedState {
                at: Instant::now(),
                generation: r.key_generation,
                active: r.status == "active",
            },
            None => CachedState {
                at: Instant::now(),
                generation: -1,
                active: false,
            },
        };
        if let Ok(mut map) = self.states.lock() {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(username.to_string(), state);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn generated_passwords_are_strong() {
        let p = generate_password();
        assert_eq!(p.len(), 20);
        assert!(check_new_password(&p).is_ok());
        assert_ne!(p, generate_password());
        assert!(check_new_password("short").is_err());
    }
}
