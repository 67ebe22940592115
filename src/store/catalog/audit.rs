//! The audit log: every login attempt and every mutation, with who, where from, through which
//! door, on what, and how it ended.

use sqlx::{AnyConnection, FromRow};

use super::Catalog;
use crate::base::domain::{Millis, now_millis};
use crate::base::error::CoreResult;

/// What to record. Fields that do not apply stay `None`.
#[derive(Clone, Debug, Default)]
pub struct AuditRecord {
    pub door: &'static str,
    pub action: &'static str,
    pub result: String,
    pub photographer: Option<String>,
    pub event: Option<String>,
    pub path: Option<String>,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: Millis,
    pub door: String,
    pub action: String,
    pub result: String,
    pub photographer: Option<String>,
    pub event: Option<String>,
    pub path: Option<String>,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub photographer: Option<String>,
    pub event: Option<String>,
    pub ip: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn insert(conn: &mut AnyConnection, r: &AuditRecord) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO audit (at, door, action, result, photographer, event, path, target, ip, size, sha256, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(now_millis())
    .bind(r.door)
    .bind(r.action)
    .bind(&r.result)
    .bind(&r.photographer)
    .bind(&r.event)
    .bind(&r.path)
    .bind(&r.target)
    .bind(&r.ip)
    .bind(r.size)
    .bind(&r.sha256)
    .bind(&r.detail)
    .execute(conn)
    .await?;
    Ok(())
}

impl Catalog {
    /// Records outside any other transaction (refusals, logins). A failure to audit is logged,
    /// never turned into a failure of the operation it describes.
    pub async fn audit(&self, r: &AuditRecord) {
        let res = async {
            let mut conn = self.pool().acquire().await?;
            insert(&mut conn, r).await
        }
        .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, action = r.action, "could not write the audit record");
        }
    }

    /// Newest first.
    pub async fn audit_query(&self, q: &AuditQuery) -> CoreResult<Vec<AuditRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM audit WHERE ($1 IS NULL OR photographer = $1) AND ($2 IS NULL OR event = $2) \
             AND ($3 IS NULL OR ip = $3) AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
             AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7",
        )
        .bind(&q.photographer)
        .bind(&q.event)
        .bind(&q.ip)
        .bind(q.since)
        .bind(q.until)
        .bind(q.before_id)
        .bind(q.limit)
        .fetch_all(self.pool())
        .await?)
    }
}
