//! The entry tree of each (event, photographer) namespace. Directories are rows, not marker
//! objects; a file row points at an immutable object key, so renames of files and whole
//! directories are one catalog transaction and never touch the blob store.

use sqlx::{AnyConnection, FromRow};

use super::Catalog;
use crate::base::domain::Millis;
use crate::base::error::CoreResult;

/// One photographer's namespace in one event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ns {
    pub event: String,
    pub photographer: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
        }
    }
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct EntryRow {
    pub event: String,
    pub photographer: String,
    /// Relative to the namespace root, components joined by '/'.
    pub path: String,
    pub parent: String,
    pub name: String,
    pub kind: String,
    pub size: i64,
    pub mtime: Millis,
    pub sha256: Option<String>,
    pub content_type: Option<String>,
    pub object_key: Option<String>,
    pub uploader_ip: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// 1 when `reconcile --fix` found the blob gone.
    #[sqlx(default)]
    pub blob_missing: i64,
    /// What ingest read from the photo ([`crate::base::photo::PhotoMeta`] as JSON).
    #[sqlx(default)]
    pub meta: Option<String>,
    /// Why its metadata could not be read (the photo is still accepted).
    #[sqlx(default)]
    pub meta_error: Option<String>,
    /// From the metadata, for sorting and filtering the uploads list.
    #[sqlx(default)]
    pub captured_ms: Option<i64>,
    #[sqlx(default)]
    pub camera_serial: Option<String>,
}

/// What a directory listing needs of an entry.
#[derive(Clone, Debug, FromRow)]
pub struct ListingRow {
    pub name: String,
    pub kind: String,
    pub size: i64,
    pub mtime: Millis,
    pub content_type: Option<String>,
    pub sha256: Option<String>,
}

impl EntryRow {
    pub fn is_dir(&self) -> bool {
        self.kind == "dir"
    }
}

/// Number of characters, as SQL `substr` counts them (both backends count characters in TEXT).
fn char_len(s: &str) -> i64 {
    s.chars().count() as i64
}

impl Catalog {
    pub async fn entry(&self, ns: &Ns, path: &str) -> CoreResult<Option<EntryRow>> {
        let mut conn = self.pool().acquire().await?;
        entry(&mut conn, ns, path).await
    }

    /// A directory's entries, with only the columns a listing shows (a listing of 10 000
    /// photos decodes a third of the values `SELECT *` would).
    pub async fn children(&self, ns: &Ns, parent: &str) -> CoreResult<Vec<ListingRow>> {
        Ok(sqlx::query_as(
            "SELECT name, kind, size, mtime, content_type, sha256 FROM entries \
             WHERE event = $1 AND photographer = $2 AND parent = $3 ORDER BY name",
        )
        .bind(&ns.event)
        .bind(&ns.photographer)
        .bind(parent)
        .fetch_all(self.pool())
        .await?)
    }

    /// Files and bytes under `dir` ("" = the whole namespace).
    pub async fn totals(&self, ns: &Ns, dir: &str) -> CoreResult<(i64, i64)> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let (files, bytes): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM entries \
             WHERE event = $1 AND photographer = $2 AND kind = 'file' \
             AND ($3 = '' OR substr(path, 1, CAST($4 AS INTEGER)) = $3)",
        )
        .bind(&ns.event)
        .bind(&ns.photographer)
        .bind(&prefix)
        .bind(char_len(&prefix))
        .fetch_one(self.pool())
        .await?;
        Ok((files, bytes))
    }

    pub async fn set_mtime(&self, ns: &Ns, path: &str, mtime: Millis) -> CoreResult<bool> {
        let r = sqlx::query(
            "UPDATE entries SET mtime = $4, updated_at = $5 WHERE event = $1 AND photographer = $2 AND path = $3",
        )
        .bind(&ns.event)
        .bind(&ns.photographer)
        .bind(path)
        .bind(mtime)
        .bind(crate::base::domain::now_millis())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Every object key the catalog references, with its entry (for `reconcile`).
    pub async fn file_entries(&self) -> CoreResult<Vec<EntryRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM entries WHERE object_key IS NOT NULL")
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn mark_blob_missing(&self, ns: &Ns, path: &str) -> CoreResult<()> {
        sqlx::query("UPDATE entries SET blob_missing = 1 WHERE event = $1 AND photographer = $2 AND path = $3")
            .bind(&ns.event)
            .bind(&ns.photographer)
            .bind(path)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

pub async fn entry(conn: &mut AnyConnection, ns: &Ns, path: &str) -> CoreResult<Option<EntryRow>> {
    Ok(
        sqlx::query_as(
            "SELECT * FROM entries WHERE event = $1 AND photographer = $2 AND path = $3",
        )
        .bind(&ns.event)
        .bind(&ns.photographer)
        .bind(path)
        .fetch_optional(conn)
        .await?,
    )
}

pub async fn has_children(conn: &mut AnyConnection, ns: &Ns, path: &str) -> CoreResult<bool> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM entries WHERE event = $1 AND photographer = $2 AND parent = $3 LIMIT 1",
    )
    .bind(&ns.event)
    .bind(&ns.photographer)
    .bind(path)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Inserts or replaces a row (files on upload, dirs on mkdir).
pub async fn put_entry(conn: &mut AnyConnection, e: &EntryRow) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO entries (event, photographer, path, parent, name, kind, size, mtime, sha256, content_type, \
         object_key, uploader_ip, created_at, updated_at, meta, meta_error, captured_ms, camera_serial) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (event, photographer, path) DO UPDATE SET kind = excluded.kind, size = excluded.size, \
         mtime = excluded.mtime, sha256 = excluded.sha256, content_type = excluded.content_type, \
         object_key = excluded.object_key, uploader_ip = excluded.uploader_ip, updated_at = excluded.updated_at, \
         blob_missing = 0, meta = excluded.meta, meta_error = excluded.meta_error, \
         captured_ms = excluded.captured_ms, camera_serial = excluded.camera_serial",
    )
    .bind(&e.event)
    .bind(&e.photographer)
    .bind(&e.path)
    .bind(&e.parent)
    .bind(&e.name)
    .bind(&e.kind)
    .bind(e.size)
    .bind(e.mtime)
    .bind(&e.sha256)
    .bind(&e.content_type)
    .bind(&e.object_key)
    .bind(&e.uploader_ip)
    .bind(e.created_at)
    .bind(e.updated_at)
    .bind(&e.meta)
    .bind(&e.meta_error)
    .bind(e.captured_ms)
    .bind(&e.camera_serial)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_entry(conn: &mut AnyConnection, ns: &Ns, path: &str) -> CoreResult<bool> {
    let r = sqlx::query("DELETE FROM entries WHERE event = $1 AND photographer = $2 AND path = $3")
        .bind(&ns.event)
        .bind(&ns.photographer)
        .bind(path)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Moves `src` and, if it is a directory, everything below it to `dst`, in the caller's
/// transaction. The caller has checked that `dst` is free and not inside `src`.
pub async fn move_subtree(
    conn: &mut AnyConnection,
    ns: &Ns,
    src: &str,
    dst: &str,
    dst_parent: &str,
    dst_name: &str,
) -> CoreResult<()> {
    let now = crate::base::domain::now_millis();
    sqlx::query(
        "UPDATE entries SET path = $4, parent = $5, name = $6, updated_at = $7 \
         WHERE event = $1 AND photographer = $2 AND path = $3",
    )
    .bind(&ns.event)
    .bind(&ns.photographer)
    .bind(src)
    .bind(dst)
    .bind(dst_parent)
    .bind(dst_name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // Descendants: "src/x/y" becomes "dst/x/y"; their parent "src" or "src/x" likewise.
    let src_slash = format!("{src}/");
    sqlx::query(
        "UPDATE entries SET path = $4 || substr(path, CAST($5 AS INTEGER)), \
         parent = $4 || substr(parent, CAST($5 AS INTEGER)), updated_at = $6 \
         WHERE event = $1 AND photographer = $2 AND substr(path, 1, CAST($7 AS INTEGER)) = $3",
    )
    .bind(&ns.event)
    .bind(&ns.photographer)
    .bind(&src_slash)
    .bind(dst)
    .bind(char_len(src) + 1)
    .bind(now)
    .bind(char_len(&src_slash))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Entries (files and directories) in a namespace, for `upload.max_entries_per_namespace`.
pub async fn count_in_ns(conn: &mut AnyConnection, ns: &Ns) -> CoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM entries WHERE event = $1 AND photographer = $2",
    )
    .bind(&ns.event)
    .bind(&ns.photographer)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// Length in bytes of the longest path below directory `dir` (0 if it has no descendants).
pub async fn longest_below(
    conn: &mut AnyConnection,
    backend: super::Backend,
    ns: &Ns,
    dir: &str,
) -> CoreResult<i64> {
    let dir_slash = format!("{dir}/");
    let sql = match backend {
        super::Backend::Sqlite => {
            "SELECT CAST(COALESCE(MAX(length(CAST(path AS BLOB))), 0) AS BIGINT) FROM entries \
             WHERE event = $1 AND photographer = $2 AND substr(path, 1, CAST($4 AS INTEGER)) = $3"
        }
        super::Backend::Postgres => {
            "SELECT CAST(COALESCE(MAX(octet_length(path)), 0) AS BIGINT) FROM entries \
             WHERE event = $1 AND photographer = $2 AND substr(path, 1, CAST($4 AS INTEGER)) = $3"
        }
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(&ns.event)
        .bind(&ns.photographer)
        .bind(&dir_slash)
        .bind(char_len(&dir_slash))
        .fetch_one(conn)
        .await?;
    Ok(n)
}
