//! `ftpgate check` and `ftpgate reconcile`: does the catalog agree with the blob store?
//!
//! Orphans are blobs no entry points at (a crash between the durable write and the commit, or a
//! failed delete): harmless, but they cost storage. Missing blobs are entries whose bytes are
//! gone: a real loss that an operator must hear about. `--fix` deletes orphans older than the
//! grace period (younger ones may belong to uploads committing right now) and marks missing
//! entries; `--rebuild` recreates entries from the metadata stored with each blob.

use std::collections::{HashMap, HashSet};

use crate::base::domain::now_millis;
use crate::base::error::{CoreError, CoreResult};
use crate::core::gateway::{dir_row, ensure_parent_dirs};
use crate::core::namespace::RelPath;
use crate::store::blobs::BlobStore;
use crate::store::catalog::{self, AuditRecord, Catalog, EntryRow, Ns};

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Report {
    pub blobs: usize,
    pub entries: usize,
    pub orphans: Vec<String>,
    pub young_orphans: usize,
    pub missing: Vec<(String, String, String)>,
    pub deleted: usize,
    pub marked: usize,
    pub rebuilt: usize,
    pub rebuild_skipped: usize,
}

impl Report {
    pub fn summary(&self) -> String {
        format!(
            "{} blobs, {} catalog entries: {} orphan blobs ({} younger than the grace period, left alone), {} entries with a missing blob; deleted {}, marked {}, rebuilt {} (skipped {})",
            self.blobs,
            self.entries,
            self.orphans.len(),
            self.young_orphans,
            self.missing.len(),
            self.deleted,
            self.marked,
            self.rebuilt,
            self.rebuild_skipped
        )
    }
}

pub struct Options {
    pub fix: bool,
    pub rebuild: bool,
    pub grace_ms: i64,
}

/// `progress(done, total)` is called while blobs are examined (a progress bar on a terminal).
pub async fn reconcile(
    catalog: &Catalog,
    blobs: &BlobStore,
    opts: &Options,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> CoreResult<Report> {
    let listed = blobs.list().await?;
    let entries = catalog.file_entries().await?;
    let referenced: HashMap<&str, &EntryRow> = entries
        .iter()
        .filter_map(|e| e.object_key.as_deref().map(|k| (k, e)))
        .collect();
    // Superseded photos (keep_both) are out of the tree but keep their blobs.
    let kept: HashSet<String> = catalog.superseded_keys().await?.into_iter().collect();
    let present: HashSet<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
    let mut report = Report {
        blobs: listed.len(),
        entries: entries.len(),
        ..Default::default()
    };
    let now = now_millis();
    let total = listed.len() as u64;
    for (i, (key, modified)) in listed.iter().enumerate() {
        progress(i as u64 + 1, total);
        if referenced.contains_key(key.as_str()) || kept.contains(key) {
            continue;
        }
        if now - modified < opts.grace_ms {
            report.young_orphans += 1;
            continue;
        }
        report.orphans.push(key.clone());
        if opts.rebuild && rebuild_entry(catalog, blobs, key).await? {
            report.rebuilt += 1;
            continue;
        } else if opts.rebuild {
            report.rebuild_skipped += 1;
        }
        if opts.fix {
            blobs.delete(key).await?;
            report.deleted += 1;
        }
    }
    for e in &entries {
        let Some(key) = e.object_key.as_deref() else {
            continue;
        };
        if present.contains(key) {
            continue;
        }
        report
            .missing
            .push((e.event.clone(), e.photographer.clone(), e.path.clone()));
        if opts.fix && e.blob_missing == 0 {
            catalog
                .mark_blob_missing(
                    &Ns {
                        event: e.event.clone(),
                        photographer: e.photographer.clone(),
                    },
                    &e.path,
                )
                .await?;
            catalog
                .audit(&AuditRecord {
                    door: "admin",
                    action: "reconcile",
                    result: "blob_missing".into(),
                    photographer: Some(e.photographer.clone()),
                    event: Some(e.event.clone()),
                    path: Some(e.path.clone()),
                    detail: Some(key.to_string()),
                    ..Default::default()
                })
                .await;
            report.marked += 1;
        }
    }
    Ok(report)
}

/// Recreates the entry of an unreferenced blob from its metadata, if the path is free.
async fn rebuild_entry(catalog: &Catalog, blobs: &BlobStore, key: &str) -> CoreResult<bool> {
    let Some(meta) = blobs.meta(key).await? else {
        return Ok(false);
    };
    if meta.sha256.is_empty() || meta.path.is_empty() {
        return Ok(false);
    }
    let ns = Ns {
        event: meta.event.clone(),
        photographer: meta.photographer.clone(),
    };
    let (parent, name) = RelPath::split_parent(&meta.path);
    let now = now_millis();
    let mut tx = catalog.begin_write().await?;
    if catalog.event(&meta.event).await?.is_none()
        || catalog::entries::entry(&mut tx, &ns, &meta.path)
            .await?
            .is_some()
    {
        return Ok(false);
    }
    // Parent directories, as the original upload created them; a file in the way: skip.
    let rel = RelPath {
        path: meta.path.clone(),
        parent,
        name,
    };
    match ensure_parent_dirs(&mut tx, &ns, &rel, now).await {
        Err(CoreError::NotADirectory) => return Ok(false),
        other => other?,
    }
    let size = i64::try_from(meta.size).map_err(|_| CoreError::Storage("blob too large".into()))?;
    let file = EntryRow {
        kind: "file".into(),
        size,
        mtime: if meta.mtime > 0 { meta.mtime } else { now },
        sha256: Some(meta.sha256.clone()),
        content_type: Some(meta.content_type.clone()),
        object_key: Some(key.to_string()),
        ..dir_row(&ns, &meta.path, now)
    };
    catalog::entries::put_entry(&mut tx, &file).await?;
    sqlx::query(
        "UPDATE events SET used_bytes = used_bytes + $2, used_files = used_files + 1 WHERE id = $1",
    )
    .bind(&ns.event)
    .bind(size)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE grants SET used_bytes = used_bytes + $3, used_files = used_files + 1 WHERE photographer = $1 AND event = $2")
        .bind(&ns.photographer)
        .bind(&ns.event)
        .bind(size)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// `ftpgate check`: each store answers, or a specific sentence says why not.
pub async fn check(cfg: &crate::base::config::Config) -> Vec<(String, Result<String, String>)> {
    let mut out = Vec::new();
    let url = cfg.catalog_url();
    let cat = match Catalog::connect(&url, Some(1)).await {
        Ok(c) => match c.ping().await {
            Ok(()) => Ok(format!("reachable ({})", catalog::redact_url(&url))),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    out.push(("catalog".to_string(), cat));
    let blobs = match BlobStore::open(cfg).await {
        Ok(b) => match b.probe().await {
            Ok(()) => Ok(format!(
                "wrote, read and deleted a probe object in {}",
                b.describe()
            )),
            Err(e) => Err(crate::store::blobs::object::explain(&e)),
        },
        Err(e) => Err(crate::store::blobs::object::explain(&e)),
    };
    out.push(("blobs".to_string(), blobs));
    out
}
