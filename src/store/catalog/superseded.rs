//! Photos a newer one took the name of (an event's `keep_both` rule): out of the tree, kept
//! with their blob and counted in the quota, listed and served by the admin API.

use sqlx::AnyConnection;

use super::{Catalog, EntryRow};
use crate::base::domain::{Millis, photo_id};
use crate::base::error::CoreResult;

/// Moves the file at `e`'s path out of the tree into `superseded`, naming the newer photo.
/// The caller then writes the newer photo's entry at that path, in the same transaction.
pub async fn supersede(
    conn: &mut AnyConnection,
    e: &EntryRow,
    newer_id: &str,
    now: Millis,
) -> CoreResult<()> {
    let key = e.object_key.as_deref().unwrap_or_default();
    sqlx::query(
        "INSERT INTO superseded (id, event, photographer, path, size, mtime, sha256, content_type, \
         object_key, uploader_ip, created_at, updated_at, superseded_by, superseded_at, meta, meta_error, \
         captured_ms, camera_serial) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(photo_id(key))
    .bind(&e.event)
    .bind(&e.photographer)
    .bind(&e.path)
    .bind(e.size)
    .bind(e.mtime)
    .bind(&e.sha256)
    .bind(&e.content_type)
    .bind(key)
    .bind(&e.uploader_ip)
    .bind(e.created_at)
    .bind(e.updated_at)
    .bind(newer_id)
    .bind(now)
    .bind(&e.meta)
    .bind(&e.meta_error)
    .bind(e.captured_ms)
    .bind(&e.camera_serial)
    .execute(conn)
    .await?;
    Ok(())
}

impl Catalog {
    /// Every object key a superseded photo still holds (`reconcile` must not take them for
    /// orphans).
    pub async fn superseded_keys(&self) -> CoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT object_key FROM superseded")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
