//! Operator actions on photographers, events and grants. The CLI calls these today and the
//! admin REST API calls the same functions, so a rule (a name's charset, a grant needing both
//! sides) holds whichever way an operator works.

use crate::base::domain::{EventId, EventStatus, NameClash, Role, Username};
use crate::base::error::CoreError;
use crate::core::identity::{check_new_password, generate_password, hash_password};
use crate::store::catalog::{Catalog, EventRow, GrantRow, PhotographerRow};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("photographer {0} already exists")]
    PhotographerExists(String),
    #[error("no photographer named {0}")]
    UnknownPhotographer(String),
    #[error("event {0} already exists")]
    EventExists(String),
    #[error("no event with id {0}")]
    UnknownEvent(String),
    #[error("{0} has no grant on event {1}")]
    NoSuchGrant(String, String),
    #[error(transparent)]
    Core(#[from] CoreError),
}

pub type AdminResult<T> = Result<T, AdminError>;

fn username(s: &str) -> AdminResult<Username> {
    Username::parse(s).map_err(AdminError::Invalid)
}

fn event_id(s: &str) -> AdminResult<EventId> {
    EventId::parse(s).map_err(AdminError::Invalid)
}

async fn hash(password: String) -> AdminResult<String> {
    check_new_password(&password).map_err(|e| AdminError::Invalid(e.to_string()))?;
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AdminError::Invalid(e.to_string()))?
        .map_err(AdminError::from)
}

/// Adds a photographer. Without a password one is generated and returned (shown once).
pub async fn add_photographer(
    catalog: &Catalog,
    name: &str,
    password: Option<String>,
) -> AdminResult<(Username, Option<String>)> {
    let user = username(name)?;
    let (password, generated) = match password {
        Some(p) => (p, None),
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let h = hash(password).await?;
    match catalog.insert_photographer(&user, &h).await {
        Ok(()) => Ok((user, generated)),
        Err(CoreError::AlreadyExists) => Err(AdminError::PhotographerExists(user.to_string())),
        Err(e) => Err(e.into()),
    }
}

pub async fn list_photographers(catalog: &Catalog) -> AdminResult<Vec<PhotographerRow>> {
    Ok(catalog.photographers().await?)
}

async fn update(
    catalog: &Catalog,
    user: &Username,
    status: Option<&str>,
    hash: Option<&str>,
    bump: bool,
) -> AdminResult<()> {
    match catalog.update_photographer(user, status, hash, bump).await {
        Ok(()) => Ok(()),
        Err(CoreError::NotFound) => Err(AdminError::UnknownPhotographer(user.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Disabling also revokes the HTTPFs keys, so a photographer's sessions through SFTPGo stop too.
/// Answers false when the photographer already had that status (nothing changed).
pub async fn set_photographer_active(
    catalog: &Catalog,
    name: &str,
    active: bool,
) -> AdminResult<bool> {
    let user = username(name)?;
    let current = get_photographer(catalog, user.as_str()).await?;
    if (current.status == "active") == active {
        return Ok(false);
    }
    update(
        catalog,
        &user,
        Some(if active { "active" } else { "disabled" }),
        None,
        !active,
    )
    .await?;
    Ok(true)
}

/// Sets a new password (generated and returned if none is given).
pub async fn set_password(
    catalog: &Catalog,
    name: &str,
    password: Option<String>,
) -> AdminResult<Option<String>> {
    let user = username(name)?;
    let (password, generated) = match password {
        Some(p) => (p, None),
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let h = hash(password).await?;
    // A new password revokes the HTTPFs keys issued under the old one, and lifts the
    // photographer's lock-outs (the operator is helping them in).
    update(catalog, &user, None, Some(&h), true).await?;
    catalog.clear_user_attempts(user.as_str()).await?;
    Ok(generated)
}

/// Lifts every lock-out of a photographer, from every address, and forgets their failed
/// attempts. Answers how many addresses were locked or counting failures.
pub async fn unlock_photographer(catalog: &Catalog, name: &str) -> AdminResult<u64> {
    let user = username(name)?;
    get_photographer(catalog, user.as_str()).await?;
    Ok(catalog.clear_user_attempts(user.as_str()).await?)
}

/// Invalidates every HTTPFs key issued to the photographer (refused within seconds everywhere).
pub async fn revoke_keys(catalog: &Catalog, name: &str) -> AdminResult<()> {
    let user = username(name)?;
    update(catalog, &user, None, None, true).await
}

pub async fn add_event(catalog: &Catalog, id: &str, name: Option<&str>) -> AdminResult<EventRow> {
    let id = event_id(id)?;
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(id.as_str())
        .to_string();
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "event name must be at most 200 characters without control characters".into(),
        ));
    }
    match catalog.insert_event(&id, &name).await {
        Ok(()) => {}
        Err(CoreError::AlreadyExists) => return Err(AdminError::EventExists(id.to_string())),
        Err(e) => return Err(e.into()),
    }
    catalog
        .event(id.as_str())
        .await?
        .ok_or_else(|| AdminError::UnknownEvent(id.to_string()))
}

pub async fn list_events(catalog: &Catalog) -> AdminResult<Vec<EventRow>> {
    Ok(catalog.events().await?)
}

pub async fn set_event_status(catalog: &Catalog, id: &str, status: EventStatus) -> AdminResult<()> {
    let id = event_id(id)?;
    match catalog.set_event_status(&id, status.as_str()).await {
        Ok(()) => Ok(()),
        Err(CoreError::NotFound) => Err(AdminError::UnknownEvent(id.to_string())),
        Err(e) => Err(e.into()),
    }
}

pub async fn add_grant(catalog: &Catalog, user: &str, event: &str, role: Role) -> AdminResult<()> {
    let user = username(user)?;
    let event = event_id(event)?;
    if catalog.photographer(user.as_str()).await?.is_none() {
        return Err(AdminError::UnknownPhotographer(user.to_string()));
    }
    if catalog.event(event.as_str()).await?.is_none() {
        return Err(AdminError::UnknownEvent(event.to_string()));
    }
    Ok(catalog.upsert_grant(&user, &event, role).await?)
}

pub async fn list_grants(catalog: &Catalog) -> AdminResult<Vec<GrantRow>> {
    Ok(catalog.grants().await?)
}

/// Removes access. The photographer's files stay in the catalog and the store.
pub async fn revoke_grant(catalog: &Catalog, user: &str, event: &str) -> AdminResult<()> {
    let user = username(user)?;
    let event = event_id(event)?;
    match catalog.delete_grant(&user, &event).await {
        Ok(()) => Ok(()),
        Err(CoreError::NotFound) => {
            Err(AdminError::NoSuchGrant(user.to_string(), event.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Event and grant settings, usage, uploads, the audit log and admin API tokens. The admin REST
// API and the CLI (`event set`, `grant set`, `admin-token …`) both call these.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::base::domain::{Millis, now_millis};
use crate::base::sniff::TypeGroup;
use crate::store::catalog::admin_queries::UploadRow;
pub use crate::store::catalog::admin_queries::{
    AdminTokenRow, EventChanges, UploadOrder, UploadPosition,
};

/// Which of an event's uploads to list, and in which order.
#[derive(Clone, Copy, Debug, Default)]
pub struct UploadFilter<'a> {
    pub photographer: Option<&'a str>,
    pub camera_serial: Option<&'a str>,
    pub order: UploadOrder,
}
use crate::store::catalog::{AuditQuery, AuditRow};

/// The most rows one page of uploads or audit records may hold.
pub const MAX_PAGE: i64 = 1000;
/// Longest event name, in characters.
pub const MAX_EVENT_NAME: usize = 200;

/// A change to an event as an operator states it (API `PATCH` body, `event set` flags).
/// `None`: leave as is; `Some(None)`: clear; `Some(Some(v))`: set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPatch {
    pub name: Option<String>,
    pub status: Option<EventStatus>,
    pub starts_at: Option<Option<Millis>>,
    pub ends_at: Option<Option<Millis>>,
    pub max_bytes: Option<Option<i64>>,
    pub max_files: Option<Option<i64>>,
    pub max_file_size: Option<Option<i64>>,
    pub allowed_types: Option<Option<Vec<TypeGroup>>>,
    pub on_name_clash: Option<NameClash>,
}

/// The name an event's allowed types are stored and shown under.
pub fn type_group_name(g: TypeGroup) -> &'static str {
    match g {
        TypeGroup::Jpeg => "jpeg",
        TypeGroup::Png => "png",
        TypeGroup::Heif => "heif",
        TypeGroup::Raw => "raw",
        TypeGroup::Xmp => "xmp",
        TypeGroup::Video => "video",
    }
}

pub fn parse_type_group(s: &str) -> Result<TypeGroup, String> {
    Ok(match s.trim() {
        "jpeg" => TypeGroup::Jpeg,
        "png" => TypeGroup::Png,
        "heif" => TypeGroup::Heif,
        "raw" => TypeGroup::Raw,
        "xmp" => TypeGroup::Xmp,
        "video" => TypeGroup::Video,
        other => {
            return Err(format!(
                "unknown file type {other:?}: use jpeg, png, heif, raw, xmp or video"
            ));
        }
    })
}

/// The groups in an event's stored `allowed_types` column (unknown names are skipped, as the
/// core skips them).
pub fn stored_type_groups(stored: &str) -> Vec<TypeGroup> {
    stored
        .split(',')
        .filter_map(|s| parse_type_group(s).ok())
        .collect()
}

/// `none` or a whole number of at least 0 (a CLI setting).
pub fn parse_optional_count(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match s.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(Some(n)),
        _ => Err(format!(
            "{s:?} is not a whole number from 0 to {}, nor \"none\"",
            i64::MAX
        )),
    }
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the times RFC 3339 can write in UTC.
const EARLIEST_MS: Millis = -62_167_219_200_000;
const LATEST_MS: Millis = 253_402_300_799_999;

/// An RFC 3339 time. A valid one whose UTC instant falls outside years 0000 to 9999 (a date in
/// year 9999 with a negative offset) is clamped into them, so it can be shown again.
pub fn parse_time(s: &str) -> Result<Millis, String> {
    crate::base::domain::parse_rfc3339(s.trim())
        .map(|ms| ms.clamp(EARLIEST_MS, LATEST_MS))
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 time such as 2026-06-01T09:00:00Z"))
}

/// `none` or an RFC 3339 time (a CLI setting).
pub fn parse_optional_time(s: &str) -> Result<Option<Millis>, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    parse_time(s).map(Some)
}

/// `none` or a comma-separated list of type groups, e.g. `jpeg,raw` (a CLI setting).
pub fn parse_optional_types(s: &str) -> Result<Option<Vec<TypeGroup>>, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let groups = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_type_group)
        .collect::<Result<Vec<_>, _>>()?;
    if groups.is_empty() {
        return Err("name at least one file type, or \"none\" for the deployment's default".into());
    }
    Ok(Some(groups))
}

fn check_event_name(name: &str) -> AdminResult<()> {
    if name.chars().count() > MAX_EVENT_NAME || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "event name must be at most {MAX_EVENT_NAME} characters without control characters"
        )));
    }
    Ok(())
}

fn check_count(what: &str, v: Option<Option<i64>>, min: i64) -> AdminResult<()> {
    match v {
        Some(Some(n)) if n < min => Err(AdminError::Invalid(format!(
            "{what} must be at least {min}, or none"
        ))),
        _ => Ok(()),
    }
}

/// Checks a patch against the event as it is (`None` for a new event) and turns it into the
/// catalog's change set.
fn event_changes(
    id: &EventId,
    patch: &EventPatch,
    current: Option<&EventRow>,
) -> AdminResult<EventChanges> {
    let name = match &patch.name {
        None => None,
        Some(n) => {
            let n = n.trim();
            check_event_name(n)?;
            // As when adding: an empty name means "the id".
            Some(if n.is_empty() { id.as_str() } else { n }.to_string())
        }
    };
    check_count("max_bytes", patch.max_bytes, 0)?;
    check_count("max_files", patch.max_files, 0)?;
    check_count("max_file_size", patch.max_file_size, 1)?;
    if let Some(Some(types)) = &patch.allowed_types
        && types.is_empty()
    {
        return Err(AdminError::Invalid(
                "allowed_types must name at least one file type; clear it to use the deployment's default".into(),
            ));
    }
    let starts = patch
        .starts_at
        .unwrap_or_else(|| current.and_then(|c| c.starts_at));
    let ends = patch
        .ends_at
        .unwrap_or_else(|| current.and_then(|c| c.ends_at));
    if let (Some(s), Some(e)) = (starts, ends)
        && s >= e
    {
        return Err(AdminError::Invalid(format!(
            "the upload window must end after it starts (starts_at {}, ends_at {})",
            crate::base::domain::rfc3339(s),
            crate::base::domain::rfc3339(e)
        )));
    }
    let allowed_types = patch.allowed_types.as_ref().map(|t| {
        t.as_ref().map(|groups| {
            let mut names: Vec<&str> = Vec::new();
            for g in groups {
                let n = type_group_name(*g);
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            names.join(",")
        })
    });
    Ok(EventChanges {
        name,
        status: patch.status.map(|s| s.as_str().to_string()),
        starts_at: patch.starts_at,
        ends_at: patch.ends_at,
        max_bytes: patch.max_bytes,
        max_files: patch.max_files,
        max_file_size: patch.max_file_size,
        allowed_types,
        on_name_clash: patch.on_name_clash.map(|c| c.as_str().to_string()),
    })
}

pub async fn get_event(catalog: &Catalog, id: &str) -> AdminResult<EventRow> {
    let id = event_id(id)?;
    catalog
        .event(id.as_str())
        .await?
        .ok_or_else(|| AdminError::UnknownEvent(id.to_string()))
}

/// Adds an event ([`add_event`]) with its settings. The settings are checked before anything
/// is written.
pub async fn create_event(
    catalog: &Catalog,
    id: &str,
    name: Option<&str>,
    settings: &EventPatch,
) -> AdminResult<EventRow> {
    let eid = event_id(id)?;
    let changes = event_changes(&eid, settings, None)?;
    let ev = add_event(catalog, id, name).await?;
    if changes == EventChanges::default() {
        return Ok(ev);
    }
    catalog.update_event(&eid, &changes).await?;
    get_event(catalog, id).await
}

/// Changes an event's name, status, window, quotas, per-file size limit or allowed types, in
/// one statement. The core reads them on the next operation.
pub async fn update_event(
    catalog: &Catalog,
    id: &str,
    patch: &EventPatch,
) -> AdminResult<EventRow> {
    let current = get_event(catalog, id).await?;
    let eid = event_id(id)?;
    let changes = event_changes(&eid, patch, Some(&current))?;
    if changes == EventChanges::default() {
        return Ok(current);
    }
    match catalog.update_event(&eid, &changes).await {
        Ok(()) => {}
        Err(CoreError::NotFound) => return Err(AdminError::UnknownEvent(eid.to_string())),
        Err(e) => return Err(e.into()),
    }
    get_event(catalog, id).await
}

pub async fn get_photographer(catalog: &Catalog, name: &str) -> AdminResult<PhotographerRow> {
    let user = username(name)?;
    catalog
        .photographer(user.as_str())
        .await?
        .ok_or_else(|| AdminError::UnknownPhotographer(user.to_string()))
}

pub async fn get_grant(catalog: &Catalog, user: &str, event: &str) -> AdminResult<GrantRow> {
    let user = username(user)?;
    let event = event_id(event)?;
    catalog
        .grant(user.as_str(), event.as_str())
        .await?
        .ok_or_else(|| AdminError::NoSuchGrant(user.to_string(), event.to_string()))
}

/// Grants, optionally only those of one event and/or one photographer.
pub async fn find_grants(
    catalog: &Catalog,
    event: Option<&str>,
    user: Option<&str>,
) -> AdminResult<Vec<GrantRow>> {
    let event = event.map(event_id).transpose()?;
    let user = user.map(username).transpose()?;
    Ok(catalog
        .grants_where(
            event.as_ref().map(EventId::as_str),
            user.as_ref().map(Username::as_str),
        )
        .await?)
}

/// A new grant ([`add_grant`]) with an optional byte quota. An existing grant is not touched:
/// the answer is `Core(AlreadyExists)` (change one with [`set_grant`]).
pub async fn create_grant(
    catalog: &Catalog,
    user: &str,
    event: &str,
    role: Role,
    max_bytes: Option<i64>,
) -> AdminResult<GrantRow> {
    let u = username(user)?;
    let e = event_id(event)?;
    check_count("max_bytes", Some(max_bytes), 0)?;
    if catalog.grant(u.as_str(), e.as_str()).await?.is_some() {
        return Err(AdminError::Core(CoreError::AlreadyExists));
    }
    add_grant(catalog, user, event, role).await?;
    if max_bytes.is_some() {
        set_grant(catalog, user, event, None, Some(max_bytes)).await?;
    }
    get_grant(catalog, user, event).await
}

/// Changes the role and/or the byte quota (`Some(None)` removes it) of an existing grant.
pub async fn set_grant(
    catalog: &Catalog,
    user: &str,
    event: &str,
    role: Option<Role>,
    max_bytes: Option<Option<i64>>,
) -> AdminResult<GrantRow> {
    let u = username(user)?;
    let e = event_id(event)?;
    check_count("max_bytes", max_bytes, 0)?;
    if role.is_some() || max_bytes.is_some() {
        match catalog
            .update_grant(&u, &e, role.map(Role::as_str), max_bytes)
            .await
        {
            Ok(()) => {}
            Err(CoreError::NotFound) => {
                return Err(AdminError::NoSuchGrant(u.to_string(), e.to_string()));
            }
            Err(err) => return Err(err.into()),
        }
    }
    get_grant(catalog, user, event).await
}

/// One line of a usage summary: a photographer in an event (per-event summary) or an event of a
/// photographer (per-photographer summary). `files`/`bytes` count the stored files; `role` and
/// `max_bytes` come from the grant, if there still is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageLine {
    pub key: String,
    pub role: Option<String>,
    pub max_bytes: Option<i64>,
    pub files: i64,
    pub bytes: i64,
}

fn merge_usage(
    grants: impl IntoIterator<Item = (String, String, Option<i64>)>,
    stored: Vec<crate::store::catalog::admin_queries::StoredUsage>,
) -> Vec<UsageLine> {
    let mut lines: BTreeMap<String, UsageLine> = BTreeMap::new();
    for (key, role, max_bytes) in grants {
        lines.insert(
            key.clone(),
            UsageLine {
                key,
                role: Some(role),
                max_bytes,
                files: 0,
                bytes: 0,
            },
        );
    }
    for s in stored {
        let line = lines.entry(s.key.clone()).or_insert_with(|| UsageLine {
            key: s.key.clone(),
            role: None,
            max_bytes: None,
            files: 0,
            bytes: 0,
        });
        line.files = s.files;
        line.bytes = s.bytes;
    }
    lines.into_values().collect()
}

/// The event (its counters and limits) and, per photographer, what they stored and may store.
pub async fn event_usage(catalog: &Catalog, id: &str) -> AdminResult<(EventRow, Vec<UsageLine>)> {
    let ev = get_event(catalog, id).await?;
    let grants = catalog.grants_where(Some(&ev.id), None).await?;
    let stored = catalog.stored_usage_of_event(&ev.id).await?;
    let lines = merge_usage(
        grants
            .into_iter()
            .map(|g| (g.photographer, g.role, g.max_bytes)),
        stored,
    );
    Ok((ev, lines))
}

/// The photographer and, per event, what they stored and may store.
pub async fn photographer_usage(
    catalog: &Catalog,
    name: &str,
) -> AdminResult<(PhotographerRow, Vec<UsageLine>)> {
    let p = get_photographer(catalog, name).await?;
    let grants = catalog.grants_where(None, Some(&p.username)).await?;
    let stored = catalog.stored_usage_of_photographer(&p.username).await?;
    let lines = merge_usage(
        grants.into_iter().map(|g| (g.event, g.role, g.max_bytes)),
        stored,
    );
    Ok((p, lines))
}

fn check_page_limit(limit: i64) -> AdminResult<()> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AdminError::Invalid(format!(
            "limit must be from 1 to {MAX_PAGE}"
        )));
    }
    Ok(())
}

/// One page of an event's files in `order` (newest upload first by default, or by capture
/// time), only one photographer's or one camera body's when asked, and where the next page
/// starts if there is one.
pub async fn event_uploads(
    catalog: &Catalog,
    id: &str,
    filter: &UploadFilter<'_>,
    after: Option<&UploadPosition>,
    limit: i64,
) -> AdminResult<(Vec<UploadRow>, Option<UploadPosition>)> {
    check_page_limit(limit)?;
    let ev = get_event(catalog, id).await?;
    let user = filter.photographer.map(username).transpose()?;
    if after.is_some_and(|a| a.captured.is_some() != (filter.order == UploadOrder::Captured)) {
        return Err(AdminError::Invalid(
            "this cursor belongs to a list in another order: pass the same sort".into(),
        ));
    }
    let mut rows = catalog
        .uploads_page(
            &ev.id,
            user.as_ref().map(Username::as_str),
            filter.camera_serial,
            filter.order,
            after,
            limit + 1,
        )
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| UploadPosition::of(r, filter.order))
    } else {
        None
    };
    Ok((rows, next))
}

/// One page of audit records, newest first, and the id the next page starts below.
pub async fn audit_page(
    catalog: &Catalog,
    query: &AuditQuery,
) -> AdminResult<(Vec<AuditRow>, Option<i64>)> {
    check_page_limit(query.limit)?;
    let mut q = query.clone();
    q.limit = query.limit + 1;
    let mut rows = catalog.audit_query(&q).await?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    let next = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next))
}

// --- admin API tokens ------------------------------------------------------------------------

/// Prefix of every admin token, so a leaked one is recognisable (secret scanners, logs).
pub const ADMIN_TOKEN_PREFIX: &str = "fgat_";
/// A presented token longer than this is refused without hashing it.
const MAX_TOKEN_LEN: usize = 256;
/// `last_used_at` is written at most this often per token, so reads stay reads.
const TOUCH_EVERY_MS: Millis = 60_000;

/// Token names: `[a-z0-9][a-z0-9._-]{1,63}`, like every identifier here.
pub fn admin_token_name(s: &str) -> AdminResult<String> {
    let b = s.as_bytes();
    let ok = (2..=64).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(s.to_string())
    } else {
        Err(AdminError::Invalid(format!(
            "invalid token name {s:?}: use 2 to 64 characters a-z 0-9 . _ - starting with a letter or digit"
        )))
    }
}

/// What is stored for a token: its SHA-256, hex. Tokens carry 256 random bits, so no salt or
/// slow hash is needed, and the lookup is one indexed read.
pub fn admin_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token and returns it; it is not stored and cannot be shown again.
pub async fn create_admin_token(catalog: &Catalog, name: &str) -> AdminResult<(String, String)> {
    use base64::Engine;
    let name = admin_token_name(name)?;
    let bytes: [u8; 32] = rand::random();
    let token = format!(
        "{ADMIN_TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    match catalog
        .insert_admin_token(&name, &admin_token_hash(&token))
        .await
    {
        Ok(()) => Ok((name, token)),
        Err(CoreError::AlreadyExists) => Err(AdminError::Invalid(format!(
            "an admin token named {name} already exists: revoke it first or choose another name"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn list_admin_tokens(catalog: &Catalog) -> AdminResult<Vec<AdminTokenRow>> {
    Ok(catalog.admin_tokens().await?)
}

/// Revokes the active token of that name: refused on its next request, on every replica.
/// `Core(NotFound)` if there is none.
pub async fn revoke_admin_token(catalog: &Catalog, name: &str) -> AdminResult<()> {
    let name = admin_token_name(name)?;
    Ok(catalog.revoke_admin_token(&name).await?)
}

/// The name of the active token `presented` is, or `None`.
pub async fn admin_token_holder(
    catalog: &Catalog,
    presented: &str,
) -> crate::base::error::CoreResult<Option<String>> {
    if presented.is_empty() || presented.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    let hash = admin_token_hash(presented);
    let Some(row) = catalog.admin_token_by_hash(&hash).await? else {
        return Ok(None);
    };
    if row.revoked_at.is_some() {
        return Ok(None);
    }
    let now = now_millis();
    if row.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY_MS)
        && let Err(e) = catalog.touch_admin_token(&hash, now).await
    {
        tracing::warn!(error = %e, token = %row.name, "could not record the admin token's use");
    }
    Ok(Some(row.name))
}

/// Upload notifications, newest first, optionally of one status (dead letters included).
pub async fn list_notifications(
    catalog: &Catalog,
    status: Option<&str>,
    limit: i64,
) -> AdminResult<Vec<crate::core::outbox::OutboxRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(status)
    .bind(limit.clamp(1, 1000))
    .fetch_all(catalog.pool())
    .await
    .map_err(CoreError::from)?)
}

/// Sends one event's notifications to its own receiver (`None`: the deployment's webhook).
pub async fn set_event_webhook(
    catalog: &Catalog,
    id: &str,
    url: Option<&str>,
    secret: Option<&str>,
    types: Option<&[String]>,
) -> AdminResult<()> {
    let eid = event_id(id)?;
    if let Some(bad) = types
        .unwrap_or_default()
        .iter()
        .find(|t| !crate::core::outbox::TYPES.contains(&t.as_str()))
    {
        return Err(AdminError::Invalid(format!(
            "unknown notification type {bad:?}: use {}",
            crate::core::outbox::TYPES.join(", ")
        )));
    }
    if types.is_some_and(|t| t.is_empty()) {
        return Err(AdminError::Invalid(
            "name at least one notification type, or none to send them all".into(),
        ));
    }
    let types = types.map(|t| t.join(","));
    if let Some(u) = url
        && (!(u.starts_with("http://") || u.starts_with("https://"))
            || u.chars().count() > 2048
            || u.chars().any(char::is_control))
    {
        return Err(AdminError::Invalid(
            "webhook url must be an http:// or https:// URL".into(),
        ));
    }
    if let Some(u) = url {
        crate::core::outbox::check_webhook_url(u).map_err(AdminError::Invalid)?;
    }
    let secret = secret.filter(|s| !s.is_empty());
    if secret.is_some_and(|s| s.chars().count() > 1024 || s.chars().any(char::is_control)) {
        return Err(AdminError::Invalid(
            "webhook secret must be at most 1024 characters without control characters".into(),
        ));
    }
    let r = sqlx::query(
        "UPDATE events SET webhook_url = $2, webhook_secret = $3, webhook_types = $4 WHERE id = $1",
    )
    .bind(eid.as_str())
    .bind(url)
    .bind(secret)
    .bind(types)
    .execute(catalog.pool())
    .await
    .map_err(CoreError::from)?;
    if r.rows_affected() == 0 {
        return Err(AdminError::UnknownEvent(eid.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    #[test]
    fn counts_take_none_or_whole_numbers() {
        assert_eq!(parse_optional_count("none"), Ok(None));
        assert_eq!(parse_optional_count("NONE"), Ok(None));
        assert_eq!(parse_optional_count("0"), Ok(Some(0)));
        assert_eq!(parse_optional_count(" 1048576 "), Ok(Some(1_048_576)));
        assert!(parse_optional_count("-1").is_err());
        assert!(parse_optional_count("1.5").is_err());
        assert!(parse_optional_count("1e9").is_err());
        assert!(parse_optional_count("").is_err());
        assert!(parse_optional_count("99999999999999999999").is_err());
    }

    #[test]
    fn times_take_none_or_rfc3339() {
        assert_eq!(parse_optional_time("none"), Ok(None));
        assert_eq!(
            parse_optional_time("2024-03-04T04:06:07Z"),
            Ok(Some(1_709_525_167_000))
        );
        assert_eq!(
            parse_optional_time("2024-03-04T06:06:07+02:00"),
            Ok(Some(1_709_525_167_000))
        );
        assert!(parse_optional_time("2024-03-04").is_err());
        assert_eq!(parse_time("9999-12-31T23:00:00-05:00"), Ok(LATEST_MS));
        assert_eq!(
            crate::base::domain::rfc3339(LATEST_MS),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            crate::base::domain::rfc3339(EARLIEST_MS),
            "0000-01-01T00:00:00Z"
        );
        assert!(parse_optional_time("yesterday").is_err());
    }

    #[test]
    fn types_take_none_or_a_list_of_groups() {
        assert_eq!(parse_optional_types("none"), Ok(None));
        assert_eq!(
            parse_optional_types("jpeg,raw"),
            Ok(Some(vec![TypeGroup::Jpeg, TypeGroup::Raw]))
        );
        assert_eq!(
            parse_optional_types(" heif , video "),
            Ok(Some(vec![TypeGroup::Heif, TypeGroup::Video]))
        );
        assert!(parse_optional_types("jpeg,gif").is_err());
        assert!(parse_optional_types(",").is_err());
        for g in [
            TypeGroup::Jpeg,
            TypeGroup::Png,
            TypeGroup::Heif,
            TypeGroup::Raw,
            TypeGroup::Xmp,
            TypeGroup::Video,
        ] {
            // The names are the ones the core's serde reads back.
            let serde_name = serde_json::to_value(g).unwrap();
            assert_eq!(serde_name, serde_json::json!(type_group_name(g)));
            assert_eq!(parse_type_group(type_group_name(g)), Ok(g));
        }
        assert_eq!(
            stored_type_groups("jpeg,bogus,raw"),
            vec![TypeGroup::Jpeg, TypeGroup::Raw]
        );
    }

    fn ev(starts: Option<Millis>, ends: Option<Millis>) -> EventRow {
        EventRow {
            id: "ev".into(),
            name: "ev".into(),
            status: "open".into(),
            starts_at: starts,
            ends_at: ends,
            max_bytes: None,
            max_files: None,
            max_file_size: None,
            allowed_types: None,
            used_bytes: 0,
            used_files: 0,
            created_at: 0,
            on_name_clash: "keep_both".into(),
        }
    }

    #[test]
    fn event_patches_are_checked_against_the_current_event() {
        let id = EventId::parse("ev").unwrap();
        let cur = ev(Some(1000), Some(2000));
        let ends_early = EventPatch {
            ends_at: Some(Some(500)),
            ..Default::default()
        };
        assert!(event_changes(&id, &ends_early, Some(&cur)).is_err());
        let move_both = EventPatch {
            starts_at: Some(Some(100)),
            ends_at: Some(Some(500)),
            ..Default::default()
        };
        assert!(event_changes(&id, &move_both, Some(&cur)).is_ok());
        let open_start = EventPatch {
            starts_at: Some(None),
            ends_at: Some(Some(500)),
            ..Default::default()
        };
        assert!(event_changes(&id, &open_start, Some(&cur)).is_ok());
        assert!(event_changes(&id, &ends_early, None).is_ok());
        let empty = EventPatch {
            starts_at: Some(Some(5)),
            ends_at: Some(Some(5)),
            ..Default::default()
        };
        assert!(event_changes(&id, &empty, None).is_err());
    }

    #[test]
    fn event_patches_check_limits_names_and_types() {
        let id = EventId::parse("ev").unwrap();
        let bad = [
            EventPatch {
                max_bytes: Some(Some(-1)),
                ..Default::default()
            },
            EventPatch {
                max_file_size: Some(Some(0)),
                ..Default::default()
            },
            EventPatch {
                allowed_types: Some(Some(vec![])),
                ..Default::default()
            },
            EventPatch {
                name: Some("a\u{7}b".into()),
                ..Default::default()
            },
            EventPatch {
                name: Some("n".repeat(201)),
                ..Default::default()
            },
        ];
        for p in &bad {
            assert!(event_changes(&id, p, None).is_err(), "{p:?}");
        }
        let ok = EventPatch {
            name: Some("  ".into()),
            max_files: Some(Some(0)),
            max_bytes: Some(None),
            allowed_types: Some(Some(vec![TypeGroup::Raw, TypeGroup::Jpeg, TypeGroup::Raw])),
            status: Some(EventStatus::Closed),
            ..Default::default()
        };
        let c = event_changes(&id, &ok, None).unwrap();
        assert_eq!(c.name.as_deref(), Some("ev"), "an empty name means the id");
        assert_eq!(c.allowed_types, Some(Some("raw,jpeg".to_string())));
        assert_eq!(c.max_bytes, Some(None));
        assert_eq!(c.status.as_deref(), Some("closed"));
        assert_eq!(
            event_changes(&id, &EventPatch::default(), None).unwrap(),
            EventChanges::default()
        );
    }

    #[test]
    fn usage_lines_merge_grants_and_stored_files() {
        use crate::store::catalog::admin_queries::StoredUsage;
        let lines = merge_usage(
            [
                ("alice".to_string(), "uploader".to_string(), Some(10)),
                ("bob".to_string(), "viewer".to_string(), None),
            ],
            vec![
                StoredUsage {
                    key: "alice".into(),
                    files: 2,
                    bytes: 7,
                },
                StoredUsage {
                    key: "carol".into(),
                    files: 1,
                    bytes: 3,
                },
            ],
        );
        assert_eq!(lines.len(), 3);
        assert_eq!(
            (lines[0].files, lines[0].bytes, lines[0].max_bytes),
            (2, 7, Some(10))
        );
        assert_eq!((lines[1].key.as_str(), lines[1].files), ("bob", 0));
        assert_eq!(
            (lines[2].key.as_str(), lines[2].role.as_deref()),
            ("carol", None)
        );
    }

    #[test]
    fn token_names_and_hashes() {
        assert!(admin_token_name("ci-deploy").is_ok());
        assert!(admin_token_name("CI").is_err());
        assert!(admin_token_name("a").is_err());
        assert!(admin_token_name("a b").is_err());
        assert_eq!(
            admin_token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
