//! Upload notifications: a transactional outbox and its delivery worker.
//!
//! A row is written in the same transaction that commits the photo (so a notification exists
//! if and only if the photo does), when a file with a final name is committed or a temporary
//! name (`.filepart`, `.part`, `.tmp`) is renamed to a final one. The worker delivers rows
//! at least once, signed (HMAC-SHA256 over `timestamp.body`), retrying with exponential backoff
//! and jitter; rows older than `webhook.max_age_secs` become dead. With several replicas on
//! PostgreSQL each row is claimed by one (`FOR UPDATE SKIP LOCKED` plus a lease).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use crate::base::config::Config;
use crate::base::domain::{Millis, now_millis, rfc3339};
use crate::base::error::CoreResult;
use crate::store::catalog::{Backend, Catalog, Tx};

/// What the receiver gets, one per photo: the `data` of a CloudEvents 1.0 structured event
/// whose `id` and `type` are the notification's.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Notification {
    #[serde(skip)]
    pub id: String,
    /// `photo.created`; `photo.superseded` for the earlier photo a new one took the name of;
    /// `photo.deleted` when the photographer deleted it.
    #[serde(skip)]
    pub kind: &'static str,
    /// The photo's id (the admin API's `/api/v1/uploads/{id}`).
    pub photo_id: String,
    /// On `photo.created`: the earlier photo this one took the name of (keep_both).
    pub supersedes: Option<String>,
    /// On `photo.superseded`: the newer photo that took the name.
    pub superseded_by: Option<String>,
    /// On `upload.rejected`: why, in words a photographer can act on.
    pub reason: Option<String>,
    /// What the photo says of itself: capture time, camera, lens, exposure, GPS, IPTC/XMP
    /// (every member present, unknown ones null); null when it could not be read.
    pub photo: Option<serde_json::Value>,
    /// Why the photo's metadata could not be read (the photo is still accepted).
    pub photo_error: Option<String>,
    /// When it happened (the CloudEvent's `time`).
    #[serde(skip)]
    pub at: String,
    pub event: String,
    pub photographer: String,
    pub path: String,
    pub object_key: String,
    pub size: i64,
    pub sha256: String,
    pub content_type: String,
    pub uploaded_at: String,
    pub client_ip: Option<String>,
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct OutboxRow {
    pub id: String,
    pub created_at: Millis,
    pub event: String,
    pub photographer: String,
    pub url: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub locked_until: Millis,
    pub last_error: Option<String>,
    pub delivered_at: Option<Millis>,
}

/// Is this a temporary name a client renames once the upload is complete?
pub fn is_temp_name(name: &str, suffixes: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    suffixes
        .iter()
        .any(|s| lower.ends_with(&s.to_ascii_lowercase()))
}

/// Adds the notification for a photo that became final, inside the commit transaction.
/// Nothing is written when no webhook is configured for the deployment or the event.
pub async fn enqueue(tx: &mut Tx, cfg: &Config, n: &Notification) -> CoreResult<()> {
    let (event_url, types): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT webhook_url, webhook_types FROM events WHERE id = $1")
            .bind(&n.event)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or((None, None));
    // The event may send only some types.
    if let Some(types) = types.filter(|t| !t.is_empty())
        && !types.split(',').any(|t| t.trim() == n.kind)
    {
        return Ok(());
    }
    let Some(url) = event_url
        .filter(|u| !u.is_empty())
        .or_else(|| cfg.webhook.url.clone())
    else {
        return Ok(());
    };
    let payload = serde_json::to_string(&cloud_event(n))
        .map_err(|e| crate::base::error::CoreError::Catalog(e.to_string()))?;
    let now = now_millis();
    // A photo already announced at this path with this content is not announced again.
    sqlx::query(
        "INSERT INTO outbox (id, created_at, event, photographer, url, payload, status, attempts, next_attempt_at, locked_until, photo_key) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $2, 0, $7) ON CONFLICT DO NOTHING",
    )
    .bind(&n.id)
    .bind(now)
    .bind(&n.event)
    .bind(&n.photographer)
    .bind(&url)
    .bind(&payload)
    .bind(photo_key(n))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The body sent: a CloudEvents 1.0 structured event (`application/cloudevents+json`).
fn cloud_event(n: &Notification) -> serde_json::Value {
    serde_json::json!({
        "specversion": "1.0",
        "id": n.id,
        "source": format!("/ftpgate/events/{}", n.event),
        "type": n.kind,
        "time": n.at,
        "subject": format!("{}/{}", n.photographer, n.path),
        "datacontenttype": "application/json",
        "data": n,
    })
}

impl Notification {
    /// An `upload.rejected` notice: no photo was stored, so only who, where, how much and why.
    pub fn rejection(
        event: &str,
        s: &crate::core::identity::Session,
        path: &str,
        size: u64,
        reason: String,
    ) -> Notification {
        let now = uploaded_at(crate::base::domain::now_millis());
        Notification {
            id: new_id(),
            kind: "upload.rejected",
            photo_id: String::new(),
            supersedes: None,
            superseded_by: None,
            reason: Some(reason),
            photo: None,
            photo_error: None,
            at: now.clone(),
            event: event.to_string(),
            photographer: s.username.to_string(),
            path: path.to_string(),
            object_key: String::new(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            sha256: String::new(),
            content_type: String::new(),
            uploaded_at: now,
            client_ip: s.ip.map(|i| i.to_string()),
        }
    }

    /// A notice of `kind` about the photo in `e` (its path, content and blob as they are in
    /// the tree).
    pub fn about(kind: &'static str, e: &crate::store::catalog::EntryRow) -> Notification {
        let key = e.object_key.clone().unwrap_or_default();
        Notification {
            id: new_id(),
            kind,
            photo_id: crate::base::domain::photo_id(&key).to_string(),
            supersedes: None,
            superseded_by: None,
            reason: None,
            photo: photo_object(e.meta.as_deref()),
            photo_error: e.meta_error.clone(),
            at: uploaded_at(crate::base::domain::now_millis()),
            event: e.event.clone(),
            photographer: e.photographer.clone(),
            path: e.path.clone(),
            object_key: key,
            size: e.size,
            sha256: e.sha256.clone().unwrap_or_default(),
            content_type: e.content_type.clone().unwrap_or_default(),
            uploaded_at: uploaded_at(e.updated_at),
            client_ip: e.uploader_ip.clone(),
        }
    }
}

/// The notification's `photo` object from the stored metadata, with `preview` (null until
/// RAW previews are stored).
pub fn photo_object(meta: Option<&str>) -> Option<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_str(meta?).ok()?;
    if let Some(o) = v.as_object_mut() {
        o.entry("preview").or_insert(serde_json::Value::Null);
    }
    Some(v)
}

/// What makes two notifications the same: kind, event, photographer, path and content; for
/// anything but `photo.created` also the photo (one upload is deleted or superseded once, a
/// photo sent again and deleted again is news).
fn photo_key(n: &Notification) -> String {
    let mut h = Sha256::new();
    let photo = match n.kind {
        "photo.created" => "",
        _ if n.photo_id.is_empty() => n.id.as_str(), // a rejection: every one is news
        _ => n.photo_id.as_str(),
    };
    for part in [n.kind, &n.event, &n.photographer, &n.path, &n.sha256, photo] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// Every notification type, as the per-event filter names them.
pub const TYPES: [&str; 4] = [
    "photo.created",
    "photo.superseded",
    "photo.deleted",
    "upload.rejected",
];

pub fn new_id() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

pub fn uploaded_at(ms: Millis) -> String {
    rfc3339(ms)
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "{timestamp}.{body}").
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
/// A secret written as `whsec_<base64>` is used as those bytes, as Standard Webhooks
/// libraries do; any other secret as its UTF-8 bytes.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|s| b64.decode(s).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", b64.encode(mac.finalize().into_bytes()))
}

/// Delay before attempt `attempts + 1`: 2^attempts seconds, capped at 10 minutes, ±50 % jitter
/// so a receiver coming back is not hit by every replica at once.
pub fn backoff_ms(attempts: i64) -> i64 {
    let base = 1000i64
        .saturating_mul(1i64 << attempts.clamp(0, 20))
        .min(600_000);
    let jitter: f64 = rand::rng().random_range(0.5..1.5);
    (base as f64 * jitter) as i64
}

/// Claims up to `limit` due rows for this worker for `lease_ms`, none for a receiver in `skip`
/// (this worker already has as many deliveries to it in flight as it allows).
async fn claim(
    catalog: &Catalog,
    limit: i64,
    lease_ms: i64,
    skip: &[String],
) -> CoreResult<Vec<OutboxRow>> {
    let now = now_millis();
    let skip_clause: String = (0..skip.len())
        .map(|i| format!(" AND url <> ${}", i + 4))
        .collect();
    let lock = match catalog.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // The outer `locked_until` test makes a row another replica claimed meanwhile drop out
    // (PostgreSQL re-checks the UPDATE's own conditions on the row it waited for).
    let sql = format!(
        "UPDATE outbox SET locked_until = $2 WHERE locked_until <= $1 AND id IN (SELECT id FROM \
         outbox WHERE status = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1\
         {skip_clause} ORDER BY next_attempt_at LIMIT $3{lock}) RETURNING *"
    );
    let mut tx = catalog.begin_write().await?;
    // Dynamic only in the number of `$n` placeholders; every value is bound.
    let mut q = sqlx::query_as::<_, OutboxRow>(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(now + lease_ms)
        .bind(limit);
    for url in skip {
        q = q.bind(url);
    }
    let rows = q.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Hands claimed rows back at once (a receiver got more than its share of one claim).
async fn release(catalog: &Catalog, rows: &[OutboxRow]) -> CoreResult<()> {
    for row in rows {
        sqlx::query("UPDATE outbox SET locked_until = 0 WHERE id = $1")
            .bind(&row.id)
            .execute(catalog.pool())
            .await?;
    }
    Ok(())
}

async fn secret_for(catalog: &Catalog, cfg: &Config, event: &str) -> Option<String> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT webhook_secret FROM events WHERE id = $1")
            .bind(event)
            .fetch_optional(catalog.pool())
            .await
            .ok()
            .flatten();
    row.and_then(|r| r.0)
        .filter(|s| !s.is_empty())
        .or_else(|| cfg.webhook.secret.clone())
}

async fn deliver(
    client: &reqwest::Client,
    catalog: &Catalog,
    cfg: &Config,
    row: &OutboxRow,
) -> Result<(), String> {
    // Rows queued before the rule (or a config edited by hand) are checked again here.
    if check_webhook_url(&row.url).is_err() {
        return Err("receiver address refused".into());
    }
    let ts = now_millis() / 1000;
    // Standard Webhooks headers, and the X-Ftpgate-* ones of earlier releases for one more.
    let mut req = client
        .post(&row.url)
        .header("content-type", "application/cloudevents+json")
        .header("webhook-id", &row.id)
        .header("webhook-timestamp", ts.to_string())
        .header("x-ftpgate-id", &row.id)
        .header("x-ftpgate-timestamp", ts.to_string())
        .header("x-ftpgate-attempt", (row.attempts + 1).to_string());
    if let Some(secret) = secret_for(catalog, cfg, &row.event).await {
        req = req
            .header(
                "webhook-signature",
                standard_signature(&secret, &row.id, ts, &row.payload),
            )
            .header("x-ftpgate-signature", signature(&secret, ts, &row.payload));
    }
    outcome(req.body(row.payload.clone()).send().await)
}

/// Link-local addresses, where clouds answer metadata requests (169.254.169.254,
/// fd00:ec2::254): a webhook must never reach them. Loopback and private ranges stay allowed,
/// receivers often live there.
pub fn forbidden_webhook_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_webhook_ip(IpAddr::V4(v4)),
            None => {
                (v6.segments()[0] & 0xffc0) == 0xfe80
                    || v6 == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
            }
        },
    }
}

/// The rule for a webhook URL, applied when it is set (admin API, CLI, start-up).
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| "webhook url must be an http:// or https:// URL".to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err("webhook url must be an http:// or https:// URL".into());
    }
    let ip = parsed
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<IpAddr>().ok());
    if ip.is_some_and(forbidden_webhook_ip) {
        return Err("webhook url must not point at a link-local or cloud metadata address".into());
    }
    Ok(())
}

/// Resolves receivers' names and drops link-local and metadata addresses, so a name that
/// resolves to one (at delivery time, whatever it resolved to when set) is never reached.
struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = format!("{}:0", name.as_str());
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(host)
                .await?
                .filter(|a| !forbidden_webhook_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("no allowed address".into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The webhook client: redirects are never followed (a 3xx is a failed delivery).
fn build_client(cfg: &Config) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver))
        .timeout(Duration::from_secs(cfg.webhook.timeout_secs.max(1)))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Coarse result texts only, so `last_error` does not tell open from closed ports.
fn outcome(res: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    match res {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) if r.status().is_redirection() => Err("redirect refused".into()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err("timed out".into()),
        Err(_) => Err("connection failed".into()),
    }
}

async fn record(
    catalog: &Catalog,
    cfg: &Config,
    row: &OutboxRow,
    result: Result<(), String>,
) -> CoreResult<()> {
    let now = now_millis();
    match result {
        Ok(()) => {
            sqlx::query("UPDATE outbox SET status = 'delivered', delivered_at = $2, attempts = attempts + 1, locked_until = 0, last_error = NULL WHERE id = $1")
                .bind(&row.id)
                .bind(now)
                .execute(catalog.pool())
                .await?;
            metrics::counter!("ftpgate_webhook_deliveries_total", "result" => "delivered")
                .increment(1);
        }
        Err(e) => {
            let dead = now - row.created_at > cfg.webhook.max_age_secs as i64 * 1000;
            let status = if dead { "dead" } else { "pending" };
            sqlx::query("UPDATE outbox SET status = $2, attempts = attempts + 1, next_attempt_at = $3, locked_until = 0, last_error = $4 WHERE id = $1")
                .bind(&row.id)
                .bind(status)
                .bind(now + backoff_ms(row.attempts))
                .bind(&e)
                .execute(catalog.pool())
                .await?;
            metrics::counter!("ftpgate_webhook_deliveries_total", "result" => if dead { "dead" } else { "retry" }).increment(1);
            tracing::warn!(id = %row.id, attempts = row.attempts + 1, dead, error = %e, "webhook delivery failed");
        }
    }
    Ok(())
}

/// Counts by status, for metrics and the API.
pub async fn counts(catalog: &Catalog) -> CoreResult<(i64, i64)> {
    let (pending, dead): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM outbox",
    )
    .fetch_one(catalog.pool())
    .await?;
    Ok((pending, dead))
}

/// Deliveries in flight at once, over all receivers.
const MAX_IN_FLIGHT: usize = 64;
/// Deliveries in flight to one receiver (one URL): a receiver that never answers holds at most
/// this many slots, and every other receiver's notifications go out beside it.
const MAX_IN_FLIGHT_PER_RECEIVER: usize = 4;
/// How long a claimed row stays this worker's: several timeouts, so it is never sent twice.
const LEASE_MS: i64 = 60_000;

/// Runs until `stop` turns true. `wake` is notified after each commit that enqueued a row, so
/// delivery starts within milliseconds; the 1 s tick covers retries and other replicas' rows.
/// Each delivery runs in its own task: a slow receiver never delays another's.
pub async fn run_worker(
    catalog: Catalog,
    cfg: Arc<Config>,
    wake: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let client = match build_client(&cfg) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not start; notifications stay queued");
            return;
        }
    };
    let mut in_flight = InFlight::default();
    loop {
        let free = MAX_IN_FLIGHT.saturating_sub(in_flight.tasks.len());
        let mut claimed_all = false;
        if free > 0 {
            let full = in_flight.full_receivers();
            match claim(&catalog, free as i64, LEASE_MS, &full).await {
                Ok(rows) => {
                    claimed_all = rows.len() == free;
                    let mut extra = Vec::new();
                    for row in rows {
                        if in_flight.to(&row.url) >= MAX_IN_FLIGHT_PER_RECEIVER {
                            extra.push(row);
                            continue;
                        }
                        let (client, catalog, cfg) = (client.clone(), catalog.clone(), cfg.clone());
                        let url = row.url.clone();
                        in_flight.start(url, async move {
                            let res = deliver(&client, &catalog, &cfg, &row).await;
                            if let Err(e) = record(&catalog, &cfg, &row, res).await {
                                tracing::error!(error = %e, "could not record a webhook delivery");
                            }
                        });
                    }
                    if let Err(e) = release(&catalog, &extra).await {
                        tracing::error!(error = %e, "could not hand back claimed notifications");
                    }
                }
                Err(e) => tracing::error!(error = %e, "outbox query failed"),
            }
            if let Ok((pending, dead)) = counts(&catalog).await {
                metrics::gauge!("ftpgate_outbox_pending").set(pending as f64);
                metrics::gauge!("ftpgate_outbox_dead").set(dead as f64);
            }
        }
        if claimed_all {
            continue; // more may be due right now
        }
        tokio::select! {
            Some(done) = in_flight.tasks.join_next_with_id(), if !in_flight.tasks.is_empty() => {
                in_flight.finished(done);
                // Collect the others that finished too, then look for due rows again.
                while let Some(done) = in_flight.tasks.try_join_next_with_id() {
                    in_flight.finished(done);
                }
            }
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {
                // Deliveries under way get their own timeout to finish; unsent rows stay queued.
                while in_flight.tasks.join_next().await.is_some() {}
                return;
            }
        }
    }
}

/// The worker's deliveries under way, counted per receiver.
#[derive(Default)]
struct InFlight {
    tasks: tokio::task::JoinSet<()>,
    receiver_of: HashMap<tokio::task::Id, String>,
    per_receiver: HashMap<String, usize>,
}

impl InFlight {
    fn to(&self, url: &str) -> usize {
        self.per_receiver.get(url).copied().unwrap_or(0)
    }

    fn full_receivers(&self) -> Vec<String> {
        self.per_receiver
            .iter()
            .filter(|(_, n)| **n >= MAX_IN_FLIGHT_PER_RECEIVER)
            .map(|(u, _)| u.clone())
            .collect()
    }

    fn start(&mut self, url: String, delivery: impl Future<Output = ()> + Send + 'static) {
        let id = self.tasks.spawn(delivery).id();
        *self.per_receiver.entry(url.clone()).or_default() += 1;
        self.receiver_of.insert(id, url);
    }

    /// A delivery ended (a panicked one too: its row's lease runs out and it is retried).
    fn finished(&mut self, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => e.id(),
        };
        let Some(url) = self.receiver_of.remove(&id) else {
            return;
        };
        if let Some(n) = self.per_receiver.get_mut(&url) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_receiver.remove(&url);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names() {
        let s = vec![".filepart".to_string(), ".part".into(), ".tmp".into()];
        assert!(is_temp_name("IMG_1.JPG.filepart", &s));
        assert!(is_temp_name("x.PART", &s));
        assert!(!is_temp_name("IMG_1.JPG", &s));
        assert!(!is_temp_name("partial.jpg", &s));
    }

    #[test]
    fn signature_is_hmac_of_timestamp_and_body() {
        // Reference value from Python's hmac module: HMAC-SHA256("k", "1700000000.{}").
        let sig = signature("k", 1_700_000_000, "{}");
        assert_eq!(
            sig,
            "sha256=c6ef4734033cee2367414a0939385eca0397754aa7a59716da7463a9298b5146"
        );
        assert_ne!(sig, signature("k2", 1_700_000_000, "{}"));
        assert_ne!(sig, signature("k", 1_700_000_001, "{}"));
    }

    #[test]
    fn standard_webhooks_signature() {
        // Test vector of the Standard Webhooks specification's reference libraries.
        let body = r#"{"test": 2432232314}"#;
        let sig = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for a in 0..30 {
            let b = backoff_ms(a);
            assert!((500..=900_000).contains(&b), "{a}: {b}");
        }
        assert!(backoff_ms(0) < 1500);
    }

    /// Answers one HTTP request with `resp` and reports whether a request came in.
    async fn one_shot(resp: &'static str) -> (String, tokio::task::JoinHandle<bool>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let h = tokio::spawn(async move {
            match tokio::time::timeout(Duration::from_secs(3), l.accept()).await {
                Ok(Ok((mut s, _))) => {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(resp.as_bytes()).await;
                    true
                }
                _ => false,
            }
        });
        (url, h)
    }

    #[tokio::test]
    async fn redirects_are_refused_and_errors_are_coarse() {
        let client = build_client(&Config::default()).unwrap();
        let (target, target_hit) = one_shot("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        let redirect: &'static str = Box::leak(
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}\r\ncontent-length: 0\r\n\r\n"
            )
            .into_boxed_str(),
        );
        let (url, _) = one_shot(redirect).await;
        let r = outcome(client.post(&url).body("{}").send().await);
        assert_eq!(r, Err("redirect refused".to_string()));
        assert!(!target_hit.await.unwrap(), "the redirect was followed");

        let (url, _) = one_shot("HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n").await;
        assert_eq!(
            outcome(client.post(&url).send().await),
            Err("HTTP 500".to_string())
        );

        // A closed port: a port just released by a listener.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = format!("http://{}/", l.local_addr().unwrap());
        drop(l);
        assert_eq!(
            outcome(client.post(&closed).send().await),
            Err("connection failed".to_string())
        );
    }

    #[test]
    fn link_local_and_metadata_receivers_are_refused() {
        for bad in [
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.1.2:8080/x",
            "http://[fe80::1]/hook",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:169.254.169.254]/",
            "ftp://example.test/",
            "not a url",
        ] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
        for ok in [
            "http://127.0.0.1:9000/hook",
            "https://10.0.0.5/hook",
            "http://192.168.1.20/x",
            "http://[::1]:8080/",
            "https://hooks.example.test/ftpgate",
        ] {
            assert!(check_webhook_url(ok).is_ok(), "{ok}");
        }
    }

    #[tokio::test]
    async fn the_guarded_resolver_keeps_loopback() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(
            GuardedResolver.resolve(name).await.is_ok(),
            "loopback stays allowed"
        );
    }
}
