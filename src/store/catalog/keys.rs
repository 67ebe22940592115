//! HTTPFs keys: only their SHA-256 is stored, so the catalog alone cannot mint one.

use super::Catalog;
use crate::base::domain::{Millis, Username};
use crate::base::error::CoreResult;

/// A stored key, as the identity checks it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KeyRow {
    pub secret_hash: String,
    pub photographer: String,
    pub generation: i64,
    /// The client's address at the login that issued the key (the camera, not SFTPGo).
    pub client_ip: Option<String>,
}

impl Catalog {
    /// Stores a new key, and drops the photographer's keys unused since `stale_before` or
    /// issued under an older generation, keeping at most `keep` (newest used first).
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_httpfs_key(
        &self,
        key_id: &str,
        secret_hash: &str,
        user: &Username,
        generation: i64,
        now: Millis,
        stale_before: Millis,
        keep: i64,
        client_ip: Option<&str>,
    ) -> CoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "DELETE FROM httpfs_keys WHERE photographer = $1 AND (last_used_at < $2 OR generation < $3)",
        )
        .bind(user.as_str())
        .bind(stale_before)
        .bind(generation)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM httpfs_keys WHERE photographer = $1 AND key_id NOT IN \
             (SELECT key_id FROM httpfs_keys WHERE photographer = $1 \
              ORDER BY last_used_at DESC LIMIT $2)",
        )
        .bind(user.as_str())
        .bind(keep - 1)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO httpfs_keys (key_id, secret_hash, photographer, generation, created_at, last_used_at, client_ip) \
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(key_id)
        .bind(secret_hash)
        .bind(user.as_str())
        .bind(generation)
        .bind(now)
        .bind(client_ip)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn httpfs_key(&self, key_id: &str) -> CoreResult<Option<KeyRow>> {
        Ok(sqlx::query_as(
            "SELECT secret_hash, photographer, generation, client_ip FROM httpfs_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Marks a key as used (callers do it at most hourly, so this is no write per request).
    pub async fn touch_httpfs_key(&self, key_id: &str, now: Millis) -> CoreResult<()> {
        sqlx::query("UPDATE httpfs_keys SET last_used_at = $2 WHERE key_id = $1")
            .bind(key_id)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every key of the photographer (revoke-keys, a new password, disabling).
    pub async fn delete_httpfs_keys(&self, user: &Username) -> CoreResult<()> {
        sqlx::query("DELETE FROM httpfs_keys WHERE photographer = $1")
            .bind(user.as_str())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
