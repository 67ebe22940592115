//! Who is calling: photographers' passwords (argon2id), lock-out after repeated failures, and
//! the per-photographer HTTPFs keys SFTPGo sends back to us on every file operation.
//!
//! A key is `fgk2.<key id>.<secret>`, random, issued by the auth hook at each SFTPGo login and
//! stored as a SHA-256 only, so a copy of the catalog mints none. A known key is checked in
//! memory; the generation and status come from a cache refreshed every [`STATE_TTL`], so
//! bumping the generation (`revoke-keys`, a new password) or disabling a photographer takes
//! effect within that time, on every replica.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::Sha256;

use crate::base::config::LockoutConfig;
use crate::base::domain::{Door, Millis, Username, address_net, now_millis};
use crate::base::error::{CoreError, CoreResult};
use crate::store::catalog::{Attempt, AttemptLimits, AuditRecord, Catalog, PhotographerRow};

/// How stale a cached photographer state may be (the revocation delay), well under 5 s.
pub const STATE_TTL: Duration = Duration::from_secs(2);

/// The identity of an authenticated caller, as both doors hand it to the core.
#[derive(Clone, Debug)]
pub struct Session {
    pub username: Username,
    pub ip: Option<IpAddr>,
    pub door: Door,
}

/// How long a login waits while its scope's limit is taken by attempts still being verified.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// The first part of every HTTPFs key: `fgk2.<key id>.<secret>`, both parts URL-safe base64.
const KEY_PREFIX: &str = "fgk2";
/// A key unused this long is dropped when the photographer's next key is issued.
const KEY_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Keys kept per photographer (SFTPGo logs in again after every reconnection).
const KEYS_KEPT: i64 = 1000;
/// How often a key's last use is written to the catalog.
const KEY_TOUCH_EVERY: Duration = Duration::from_secs(3600);

fn secret_hash(secret: &str) -> String {
    hex::encode(<Sha256 as sha2::Digest>::digest(secret.as_bytes()))
}

#[derive(Clone)]
struct CachedKey {
    secret_hash: String,
    username: Username,
    generation: i64,
    client_ip: Option<IpAddr>,
    touched: Instant,
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
    keys: Mutex<HashMap<String, CachedKey>>,
    /// Verified against when the username is unknown, so both cases cost one argon2 run.
    dummy_hash: String,
    states: Mutex<HashMap<String, CachedState>>,
    /// Caps concurrent argon2 runs (each ~19 MiB and tens of ms of CPU) so a login storm
    /// cannot starve uploads.
    hashing: tokio::sync::Semaphore,
    /// When expired lock-out rows were last purged.
    last_purge: AtomicI64,
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
            keys: Mutex::new(HashMap::new()),
            dummy_hash,
            states: Mutex::new(HashMap::new()),
            hashing: tokio::sync::Semaphore::new(permits),
            last_purge: AtomicI64::new(0),
        }))
    }

    /// The lock-out scopes of a login: this username from this address (so a stranger's
    /// guesses never lock the photographer's own camera elsewhere), and the address itself
    /// unless it is safe-listed. Names that are no valid username share one scope: they cannot
    /// log in, and 4 KB of junk per attempt must not become 4 KB per row.
    fn scopes(&self, username: &str, ip: Option<IpAddr>) -> Vec<(String, AttemptLimits)> {
        let l = &self.lockout;
        let limits = |max: u32| AttemptLimits {
            max: max.into(),
            window_ms: l.window_secs as i64 * 1000,
            cooldown_ms: l.cooldown_secs as i64 * 1000,
        };
        let user = if Username::parse(username).is_ok() {
            username
        } else {
            "?"
        };
        let net = ip
            .map(|ip| address_net(ip).to_string())
            .unwrap_or_else(|| "-".into());
        let mut scopes = vec![(format!("ua:{user}|{net}"), limits(l.max_failures_per_user))];
        if let Some(ip) = ip
            && !l.safe_ips.iter().any(|range| range.contains(&ip))
        {
            scopes.push((format!("ip:{net}"), limits(l.max_failures_per_ip)));
        }
        scopes
    }

    /// Drops expired lock-out rows, at most once a minute per process.
    async fn purge_attempts(&self, now: Millis) {
        let last = self.last_purge.load(Ordering::Relaxed);
        if now - last < 60_000
            || self
                .last_purge
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let window = self.lockout.window_secs as i64 * 1000;
        if let Err(e) = self.catalog.purge_attempts(now, window).await {
            tracing::warn!(error = %e, "could not purge old lock-out rows");
        }
    }

    /// Checks a password login, shared by the SFTPGo auth hook and the FTP door. The attempt
    /// is counted in every scope first (atomically, in the catalog every replica shares), and
    /// only an attempt within every limit is verified with argon2id (the same cost for
    /// unknown users); then status. Every attempt is audited.
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
        // For the log: what was typed, bounded and escaped (it may be anything).
        let shown: String = folded.chars().take(64).collect();
        let now = now_millis();
        self.purge_attempts(now).await;
        let scopes = self.scopes(&folded, ip);
        // Count this attempt in every scope before verifying it. While `max` attempts of a
        // scope are failed or in flight, wait for them (parallel logins of one camera are
        // normal); a lock refuses at once.
        let deadline = Instant::now() + BUSY_WAIT;
        let mut counted: Vec<i64> = Vec::with_capacity(scopes.len());
        let mut refused = false;
        'scopes: for (scope, limits) in &scopes {
            loop {
                match self
                    .catalog
                    .count_attempt(scope, now_millis(), *limits)
                    .await?
                {
                    Attempt::Allowed { failures_before } => {
                        counted.push(failures_before);
                        break;
                    }
                    Attempt::Busy if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Attempt::Busy | Attempt::Refused => {
                        refused = true;
                        break 'scopes;
                    }
                }
            }
        }
        if refused {
            for (scope, _) in scopes.iter().take(counted.len()) {
                self.catalog.finish_attempt(scope, 0).await?;
            }
            tracing::warn!(
                door = door.as_str(), client = ?ip, user = ?shown,
                "login refused: locked out after too many wrong passwords \
                 (`ftpgate photographer unlock` lifts it)"
            );
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
                // The username's earlier failures from this address are forgiven; the
                // address's own count is not (a success for one name says nothing of others).
                for (i, ((scope, _), before)) in scopes.iter().zip(&counted).enumerate() {
                    let forgive = if i == 0 { *before } else { 0 };
                    self.catalog.finish_attempt(scope, forgive).await?;
                }
                self.catalog.audit(&audit("ok")).await;
                Ok(row)
            }
            Some(_) if ok => {
                for (scope, _) in &scopes {
                    self.catalog.finish_attempt(scope, 0).await?;
                }
                tracing::info!(
                    door = door.as_str(), client = ?ip, user = ?shown,
                    "login refused: the photographer is disabled"
                );
                self.catalog.audit(&audit("disabled")).await;
                Err(CoreError::Unauthorized)
            }
            _ => {
                for (scope, limits) in &scopes {
                    self.catalog
                        .record_failure(scope, now_millis(), *limits)
                        .await?;
                }
                tracing::info!(
                    door = door.as_str(), client = ?ip, user = ?shown,
                    "login refused: wrong username or password"
                );
                self.catalog.audit(&audit("bad_credentials")).await;
                Err(CoreError::Unauthorized)
            }
        }
    }

    /// A new HTTPFs key for a photographer at their current key generation, stored hashed.
    /// The auth hook hands one out at each SFTPGo login; old ones stay valid (a camera's
    /// session may last all day) until unused for [`KEY_IDLE`] or the generation moves on.
    /// `client_ip` is the camera's address the login came from, kept with the key.
    pub async fn issue_httpfs_key(
        &self,
        p: &PhotographerRow,
        client_ip: Option<IpAddr>,
    ) -> CoreResult<String> {
        let user = Username::parse(&p.username).map_err(CoreError::Catalog)?;
        let key_id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let now = now_millis();
        self.catalog
            .insert_httpfs_key(
                &key_id,
                &secret_hash(&secret),
                &user,
                p.key_generation,
                now,
                now - KEY_IDLE.as_millis() as i64,
                KEYS_KEPT,
                client_ip.map(|i| i.to_string()).as_deref(),
            )
            .await?;
        Ok(format!("{KEY_PREFIX}.{key_id}.{secret}"))
    }

    /// Identifies an HTTPFs caller from its key: the stored hash (cached), then the cached
    /// generation and status (refreshed from the catalog at most every STATE_TTL).
    pub async fn session_from_key(
        &self,
        key: &str,
        ip: Option<IpAddr>,
        door: Door,
    ) -> CoreResult<Session> {
        let mut parts = key.split('.');
        let (Some(KEY_PREFIX), Some(key_id), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CoreError::Unauthorized);
        };
        if key_id.len() != 22 || secret.len() != 43 {
            return Err(CoreError::Unauthorized);
        }
        let cached = self.keys.lock().ok().and_then(|m| m.get(key_id).cloned());
        let known = match cached {
            Some(k) => k,
            None => {
                let Some(row) = self.catalog.httpfs_key(key_id).await? else {
                    return Err(CoreError::Unauthorized);
                };
                let username =
                    Username::parse(&row.photographer).map_err(|_| CoreError::Unauthorized)?;
                let k = CachedKey {
                    secret_hash: row.secret_hash,
                    username,
                    generation: row.generation,
                    client_ip: row.client_ip.as_deref().and_then(|s| s.parse().ok()),
                    touched: Instant::now(),
                };
                if let Ok(mut m) = self.keys.lock() {
                    if m.len() > 100_000 {
                        m.clear();
                    }
                    m.insert(key_id.to_string(), k.clone());
                }
                k
            }
        };
        let presented = secret_hash(secret);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            presented.as_bytes(),
            known.secret_hash.as_bytes(),
        )) {
            return Err(CoreError::Unauthorized);
        }
        if !self.still_valid(&known.username, known.generation).await? {
            return Err(CoreError::Unauthorized);
        }
        if known.touched.elapsed() > KEY_TOUCH_EVERY {
            if let Ok(mut m) = self.keys.lock()
                && let Some(k) = m.get_mut(key_id)
            {
                k.touched = Instant::now();
            }
            if let Err(e) = self.catalog.touch_httpfs_key(key_id, now_millis()).await {
                tracing::warn!(error = %e, "could not record an HTTPFs key's use");
            }
        }
        // HTTPFs calls come from SFTPGo: the camera's address is the one of the login.
        Ok(Session {
            username: known.username,
            ip: known.client_ip.or(ip),
            door,
        })
    }

    /// Whether a session that logged in at `generation` may go on: the photographer is still
    /// active and their keys were not revoked since (cached, at most STATE_TTL old).
    pub async fn still_valid(&self, username: &Username, generation: i64) -> CoreResult<bool> {
        let state = self.state(username.as_str()).await?;
        Ok(state.active && state.generation == generation)
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
