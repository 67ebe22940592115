//! Photographers, events and grants.

use sqlx::FromRow;

use super::Catalog;
use crate::base::domain::{EventId, Millis, Role, Username, now_millis};
use crate::base::error::{CoreError, CoreResult};

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct PhotographerRow {
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub status: String,
    pub key_generation: i64,
    pub created_at: Millis,
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct EventRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub starts_at: Option<Millis>,
    pub ends_at: Option<Millis>,
    pub max_bytes: Option<i64>,
    pub max_files: Option<i64>,
    pub max_file_size: Option<i64>,
    pub allowed_types: Option<String>,
    pub used_bytes: i64,
    pub used_files: i64,
    pub created_at: Millis,
    /// `keep_both`, `replace` or `refuse` ([`crate::base::domain::NameClash`]).
    pub on_name_clash: String,
}

/// A grant joined with its event: everything the namespace needs to decide what a photographer
/// may do in that event.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct GrantRow {
    pub photographer: String,
    pub event: String,
    pub role: String,
    pub max_bytes: Option<i64>,
    pub used_bytes: i64,
    pub used_files: i64,
    pub created_at: Millis,
    pub event_name: String,
    pub event_status: String,
    pub starts_at: Option<Millis>,
    pub ends_at: Option<Millis>,
    pub event_max_bytes: Option<i64>,
    pub event_max_files: Option<i64>,
    pub event_max_file_size: Option<i64>,
    pub event_allowed_types: Option<String>,
    pub event_used_bytes: i64,
    pub event_used_files: i64,
    pub event_on_name_clash: String,
}

/// `SELECT <grant columns> FROM grants g JOIN events e … <tail>` as one literal (sqlx wants
/// `'static` SQL; the literal keeps the column list in one place).
macro_rules! grant_select {
    ($tail:literal) => {
        concat!(
            "SELECT g.photographer, g.event, g.role, g.max_bytes, g.used_bytes, g.used_files, g.created_at, \
             e.name AS event_name, e.status AS event_status, e.starts_at, e.ends_at, \
             e.max_bytes AS event_max_bytes, e.max_files AS event_max_files, \
             e.max_file_size AS event_max_file_size, e.allowed_types AS event_allowed_types, \
             e.used_bytes AS event_used_bytes, e.used_files AS event_used_files, \
             e.on_name_clash AS event_on_name_clash \
             FROM grants g JOIN events e ON e.id = g.event ",
            $tail
        )
    };
}

impl Catalog {
    pub async fn insert_photographer(
        &self,
        username: &Username,
        password_hash: &str,
    ) -> CoreResult<()> {
        let r = sqlx::query(
            "INSERT INTO photographers (username, password_hash, status, key_generation, created_at) \
             VALUES ($1, $2, 'active', 1, $3)",
        )
        .bind(username.as_str())
        .bind(password_hash)
        .bind(now_millis())
        .execute(self.pool())
        .await;
        super::inserted(r)
    }

    pub async fn photographer(&self, username: &str) -> CoreResult<Option<PhotographerRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM photographers WHERE username = $1")
                .bind(username)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn photographers(&self) -> CoreResult<Vec<PhotographerRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM photographers ORDER BY username")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Returns NotFound if there is no such photographer.
    pub async fn update_photographer(
        &self,
        username: &Username,
        status: Option<&str>,
        password_hash: Option<&str>,
        bump_keys: bool,
    ) -> CoreResult<()> {
        let r = sqlx::query(
            "UPDATE photographers SET status = COALESCE($2, status), \
             password_hash = COALESCE($3, password_hash), \
             key_generation = key_generation + $4 WHERE username = $1",
        )
        .bind(username.as_str())
        .bind(status)
        .bind(password_hash)
        .bind(i64::from(bump_keys))
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(CoreError::NotFound);
        }
        if bump_keys {
            self.delete_httpfs_keys(username).await?;
        }
        Ok(())
    }

    pub async fn insert_event(&self, id: &EventId, name: &str) -> CoreResult<()> {
        let r = sqlx::query(
            "INSERT INTO events (id, name, status, used_bytes, used_files, created_at) VALUES ($1, $2, 'open', 0, 0, $3)",
        )
        .bind(id.as_str())
        .bind(name)
        .bind(now_millis())
        .execute(self.pool())
        .await;
        super::inserted(r)
    }

    pub async fn event(&self, id: &str) -> CoreResult<Option<EventRow>> {
        Ok(sqlx::query_as("SELECT * FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn events(&self) -> CoreResult<Vec<EventRow>> {
        Ok(sqlx::query_as("SELECT * FROM events ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn set_event_status(&self, id: &EventId, status: &str) -> CoreResult<()> {
        let r = sqlx::query("UPDATE events SET status = $2 WHERE id = $1")
            .bind(id.as_str())
            .bind(status)
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(CoreError::NotFound);
        }
        Ok(())
    }

    /// Creates the grant, or changes the role of an existing one.
    pub async fn upsert_grant(
        &self,
        user: &Username,
        event: &EventId,
        role: Role,
    ) -> CoreResult<()> {
        sqlx::query(
            // A grant given again after a revoke finds the photographer's files still there:
            // its usage starts from them, not from zero.
            "INSERT INTO grants (photographer, event, role, used_bytes, used_files, created_at) \
             SELECT $1, $2, $3, CAST(COALESCE(SUM(size), 0) AS BIGINT), COUNT(*), $4 FROM entries \
             WHERE photographer = $1 AND event = $2 AND kind = 'file' \
             ON CONFLICT (photographer, event) DO UPDATE SET role = excluded.role",
        )
        .bind(user.as_str())
        .bind(event.as_str())
        .bind(role.as_str())
        .bind(now_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn delete_grant(&self, user: &Username, event: &EventId) -> CoreResult<()> {
        let r = sqlx::query("DELETE FROM grants WHERE photographer = $1 AND event = $2")
            .bind(user.as_str())
            .bind(event.as_str())
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(CoreError::NotFound);
        }
        Ok(())
    }

    pub async fn grants(&self) -> CoreResult<Vec<GrantRow>> {
        Ok(
            sqlx::query_as(grant_select!("ORDER BY g.event, g.photographer"))
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn grants_of(&self, user: &str) -> CoreResult<Vec<GrantRow>> {
        Ok(
            sqlx::query_as(grant_select!("WHERE g.photographer = $1 ORDER BY g.event"))
                .bind(user)
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn grant(&self, user: &str, event: &str) -> CoreResult<Option<GrantRow>> {
        Ok(
            sqlx::query_as(grant_select!("WHERE g.photographer = $1 AND g.event = $2"))
                .bind(user)
                .bind(event)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}

/// The grant as seen inside a write transaction: the commit re-checks permission with it, so
/// an event closed (or a grant revoked) while the body streamed refuses the commit.
pub(crate) async fn grant_in(
    conn: &mut sqlx::AnyConnection,
    user: &str,
    event: &str,
) -> CoreResult<Option<GrantRow>> {
    Ok(
        sqlx::query_as(grant_select!("WHERE g.photographer = $1 AND g.event = $2"))
            .bind(user)
            .bind(event)
            .fetch_optional(conn)
            .await?,
    )
}
