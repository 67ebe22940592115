//! Operator actions on photographers, events and grants. The CLI calls these today and the
//! admin REST API calls the same functions, so a rule (a name's charset, a grant needing both
//! sides) holds whichever way an operator works.

use crate::catalog::{Catalog, EventRow, GrantRow, PhotographerRow};
use crate::domain::{EventId, EventStatus, Role, Username};
use crate::error::CoreError;
use crate::identity::{check_new_password, generate_password, hash_password};

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
pub async fn set_photographer_active(
    catalog: &Catalog,
    name: &str,
    active: bool,
) -> AdminResult<()> {
    let user = username(name)?;
    update(
        catalog,
        &user,
        Some(if active { "active" } else { "disabled" }),
        None,
        !active,
    )
    .await
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
    update(catalog, &user, None, Some(&h), false).await?;
    Ok(generated)
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
