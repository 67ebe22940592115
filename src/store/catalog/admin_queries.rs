//! Catalog queries of the admin API and CLI: admin tokens, event and grant settings, usage
//! summaries and the paginated list of an event's uploads. Same rules as the rest of the
//! catalog: run-time checked, `$N` placeholders, portable SQL, BIGINT millisecond times.

use sqlx::FromRow;

use super::{Catalog, GrantRow};
use crate::base::domain::{EventId, Millis, Username, now_millis};
use crate::base::error::{CoreError, CoreResult};

/// One admin API token. The hash is what is stored; the token itself never is.
#[derive(Clone, Debug, FromRow)]
pub struct AdminTokenRow {
    pub token_hash: String,
    pub name: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// A change to an event's settings. `None`: leave as is; `Some(None)`: clear (no limit, no
/// window bound, the deployment's default types); `Some(Some(v))`: set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventChanges {
    pub name: Option<String>,
    pub status: Option<String>,
    pub starts_at: Option<Option<Millis>>,
    pub ends_at: Option<Option<Millis>>,
    pub max_bytes: Option<Option<i64>>,
    pub max_files: Option<Option<i64>>,
    pub max_file_size: Option<Option<i64>>,
    /// Comma-separated type group names, as the core reads them.
    pub allowed_types: Option<Option<String>>,
    pub on_name_clash: Option<String>,
}

/// Files and bytes of one photographer in one event, counted from the entries themselves.
#[derive(Clone, Debug, FromRow, PartialEq, Eq)]
pub struct StoredUsage {
    /// The photographer (per-event summaries) or the event (per-photographer summaries).
    pub key: String,
    pub files: i64,
    pub bytes: i64,
}

/// One photo of an event's uploads list: in the tree, or superseded (`superseded_by` set).
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct UploadRow {
    pub event: String,
    pub photographer: String,
    pub path: String,
    pub size: i64,
    pub sha256: Option<String>,
    pub content_type: Option<String>,
    pub object_key: Option<String>,
    pub uploader_ip: Option<String>,
    pub updated_at: Millis,
    pub blob_missing: i64,
    pub superseded_by: Option<String>,
    pub meta: Option<String>,
    pub meta_error: Option<String>,
    pub captured_ms: Option<i64>,
    pub camera_serial: Option<String>,
}

/// The columns both halves of the uploads list share (`u.*` of [`UploadRow`]).
macro_rules! uploads_union {
    ($where_entries:literal, $where_superseded:literal) => {
        concat!(
            "SELECT event, photographer, path, size, sha256, content_type, object_key, uploader_ip, \
             updated_at, blob_missing, CAST(NULL AS TEXT) AS superseded_by, meta, meta_error, \
             captured_ms, camera_serial FROM entries WHERE kind = 'file' AND ",
            $where_entries,
            " UNION ALL SELECT event, photographer, path, size, sha256, content_type, object_key, \
             uploader_ip, updated_at, CAST(0 AS BIGINT) AS blob_missing, superseded_by, meta, \
             meta_error, captured_ms, camera_serial FROM superseded WHERE ",
            $where_superseded
        )
    };
}

/// Where a page of an event's uploads ends: the last row's sort key. The list is ordered by
/// `updated_at` DESC, then `path` DESC, then `photographer` DESC (paths are unique only within
/// one photographer's namespace).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadPosition {
    pub updated_at: Millis,
    pub path: String,
    pub photographer: String,
    /// In capture-time order: the last row's capture key (no capture time sorts last).
    pub captured: Option<i64>,
}

/// The order of an event's uploads list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UploadOrder {
    /// Newest upload first.
    #[default]
    Uploaded,
    /// By the cameras' capture time, earliest first; photos without one last.
    Captured,
}

/// Photos without a capture time sort after every real one.
const NO_CAPTURE: i64 = i64::MAX;

impl UploadPosition {
    pub fn of(e: &UploadRow, order: UploadOrder) -> UploadPosition {
        UploadPosition {
            captured: (order == UploadOrder::Captured).then(|| e.captured_ms.unwrap_or(NO_CAPTURE)),
            updated_at: e.updated_at,
            path: e.path.clone(),
            photographer: e.photographer.clone(),
        }
    }
}

fn flag<T>(change: &Option<T>) -> i64 {
    i64::from(change.is_some())
}

impl Catalog {
    // --- admin tokens ---------------------------------------------------------------------

    /// AlreadyExists if an active token has that name.
    pub async fn insert_admin_token(&self, name: &str, token_hash: &str) -> CoreResult<()> {
        let r = sqlx::query(
            "INSERT INTO admin_tokens (token_hash, name, created_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(name)
        .bind(now_millis())
        .execute(self.pool())
        .await;
        super::inserted(r)
    }

    pub async fn admin_token_by_hash(&self, token_hash: &str) -> CoreResult<Option<AdminTokenRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM admin_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Active tokens first, then revoked ones, each by name.
    pub async fn admin_tokens(&self) -> CoreResult<Vec<AdminTokenRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM admin_tokens ORDER BY CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, name, created_at",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// NotFound if no active token has that name.
    pub async fn revoke_admin_token(&self, name: &str) -> CoreResult<()> {
        let r = sqlx::query(
            "UPDATE admin_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(now_millis())
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(CoreError::NotFound);
        }
        Ok(())
    }

    pub async fn touch_admin_token(&self, token_hash: &str, at: Millis) -> CoreResult<()> {
        sqlx::query("UPDATE admin_tokens SET last_used_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // --- events and grants ----------------------------------------------------------------

    /// Applies every change in one statement. NotFound if there is no such event.
    pub async fn update_event(&self, id: &EventId, c: &EventChanges) -> CoreResult<()> {
        fn value<T: Clone>(change: &Option<Option<T>>) -> Option<T> {
            change.clone().flatten()
        }
        let r = sqlx::query(
            "UPDATE events SET name = COALESCE($2, name), status = COALESCE($3, status), \
             starts_at = CASE WHEN $4 = 1 THEN $5 ELSE starts_at END, \
             ends_at = CASE WHEN $6 = 1 THEN $7 ELSE ends_at END, \
             max_bytes = CASE WHEN $8 = 1 THEN $9 ELSE max_bytes END, \
             max_files = CASE WHEN $10 = 1 THEN $11 ELSE max_files END, \
             max_file_size = CASE WHEN $12 = 1 THEN $13 ELSE max_file_size END, \
             allowed_types = CASE WHEN $14 = 1 THEN $15 ELSE allowed_types END, \
             on_name_clash = COALESCE($16, on_name_clash) \
             WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(c.name.as_deref())
        .bind(c.status.as_deref())
        .bind(flag(&c.starts_at))
        .bind(value(&c.starts_at))
        .bind(flag(&c.ends_at))
        .bind(value(&c.ends_at))
        .bind(flag(&c.max_bytes))
        .bind(value(&c.max_bytes))
        .bind(flag(&c.max_files))
        .bind(value(&c.max_files))
        .bind(flag(&c.max_file_size))
        .bind(value(&c.max_file_size))
        .bind(flag(&c.allowed_types))
        .bind(value(&c.allowed_types))
        .bind(c.on_name_clash.as_deref())
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(CoreError::NotFound);
        }
        Ok(())
    }

    /// Changes the role and/or the byte quota of an existing grant. NotFound if there is none.
    pub async fn update_grant(
        &self,
        user: &Username,
        event: &EventId,
        role: Option<&str>,
        max_bytes: Option<Option<i64>>,
    ) -> CoreResult<()> {
        let r = sqlx::query(
            "UPDATE grants SET role = COALESCE($3, role), \
             max_bytes = CASE WHEN $4 = 1 THEN $5 ELSE max_bytes END \
             WHERE photographer = $1 AND event = $2",
        )
        .bind(user.as_str())
        .bind(event.as_str())
        .bind(role)
        .bind(flag(&max_bytes))
        .bind(max_bytes.flatten())
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(CoreError::NotFound);
        }
        Ok(())
    }

    /// Grants, optionally only of one event and/or one photographer.
    pub async fn grants_where(
        &self,
        event: Option<&str>,
        user: Option<&str>,
    ) -> CoreResult<Vec<GrantRow>> {
        Ok(sqlx::query_as(grant_select!(
            "WHERE ($1 IS NULL OR g.event = $1) AND ($2 IS NULL OR g.photographer = $2) \
             ORDER BY g.event, g.photographer"
        ))
        .bind(event)
        .bind(user)
        .fetch_all(self.pool())
        .await?)
    }

    // --- usage and uploads ----------------------------------------------------------------

    /// Stored files and bytes per photographer in one event.
    pub async fn stored_usage_of_event(&self, event: &str) -> CoreResult<Vec<StoredUsage>> {
        Ok(sqlx::query_as(
            "SELECT photographer AS key, COUNT(*) AS files, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes \
             FROM entries WHERE event = $1 AND kind = 'file' GROUP BY photographer ORDER BY photographer",
        )
        .bind(event)
        .fetch_all(self.pool())
        .await?)
    }

    /// Stored files and bytes per event of one photographer.
    pub async fn stored_usage_of_photographer(&self, user: &str) -> CoreResult<Vec<StoredUsage>> {
        Ok(sqlx::query_as(
            "SELECT event AS key, COUNT(*) AS files, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes \
             FROM entries WHERE photographer = $1 AND kind = 'file' GROUP BY event ORDER BY event",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await?)
    }

    /// Up to `limit` files of an event in `order`, strictly after `after`; only one
    /// photographer's or one camera body's when asked.
    #[allow(clippy::too_many_arguments)]
    pub async fn uploads_page(
        &self,
        event: &str,
        photographer: Option<&str>,
        camera_serial: Option<&str>,
        order: UploadOrder,
        after: Option<&UploadPosition>,
        limit: i64,
    ) -> CoreResult<Vec<UploadRow>> {
        let q = match order {
            UploadOrder::Uploaded => sqlx::query_as(concat!(
                "SELECT * FROM (",
                uploads_union!("event = $1", "event = $1"),
                ") u WHERE ($2 IS NULL OR photographer = $2) AND ($7 IS NULL OR camera_serial = $7) \
                 AND ($3 IS NULL OR updated_at < $3 OR (updated_at = $3 AND (path < $4 \
                      OR (path = $4 AND photographer < $5)))) \
                 ORDER BY updated_at DESC, path DESC, photographer DESC LIMIT $6"
            ))
            .bind(event)
            .bind(photographer)
            .bind(after.map(|a| a.updated_at)),
            UploadOrder::Captured => sqlx::query_as(concat!(
                "SELECT * FROM (SELECT x.*, COALESCE(x.captured_ms, 9223372036854775807) AS capture_key FROM (",
                uploads_union!("event = $1", "event = $1"),
                ") x) u WHERE ($2 IS NULL OR photographer = $2) AND ($7 IS NULL OR camera_serial = $7) \
                 AND ($3 IS NULL OR capture_key > $3 OR (capture_key = $3 AND (path > $4 \
                      OR (path = $4 AND photographer > $5)))) \
                 ORDER BY capture_key ASC, path ASC, photographer ASC LIMIT $6"
            ))
            .bind(event)
            .bind(photographer)
            .bind(after.and_then(|a| a.captured)),
        };
        Ok(q.bind(after.map(|a| a.path.as_str()).unwrap_or(""))
            .bind(after.map(|a| a.photographer.as_str()).unwrap_or(""))
            .bind(limit)
            .bind(camera_serial)
            .fetch_all(self.pool())
            .await?)
    }

    /// One photo by id, in the tree or superseded (ids are the ULIDs of object keys, so the
    /// key's last part starts with it).
    pub async fn upload_by_id(&self, id: &str) -> CoreResult<Option<UploadRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT * FROM (",
            uploads_union!("object_key LIKE $1", "id = $2"),
            ") u LIMIT 1"
        ))
        .bind(format!("events/%/%/{id}.%"))
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The photo superseded by `id` (the one it took the name of), if any.
    pub async fn superseded_by(&self, id: &str) -> CoreResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM superseded WHERE superseded_by = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }
}
