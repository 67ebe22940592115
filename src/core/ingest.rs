//! The upload pipeline (DESIGN §4): resolve and check before the first byte, sniff the type
//! from the first bytes, stream to the blob store under an immutable key while hashing and
//! enforcing size and quota, make the blob durable, then commit the entry, the usage and the
//! audit record in one catalog transaction. Only then does a door answer success.
//!
//! Anything that goes wrong before the commit (a cut body, a refused type, a limit, a storage
//! error) leaves nothing behind: no entry, no blob, quota unchanged.

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

use crate::base::domain::{NameClash, now_millis};
use crate::base::error::{CoreError, CoreResult};
use crate::base::photo::{InspectLimits, Inspector};
use crate::base::sniff::{self, FileKind, TypeGroup};
use crate::base::vpath::VPath;
use crate::core::gateway::{Gateway, delete_blob_quietly, ensure_parent_dirs, require_parent_dir};
use crate::core::identity::Session;
use crate::core::namespace::{Access, RelPath};
use crate::store::blobs::{BlobMeta, BlobWriter};
use crate::store::catalog::{self, EntryRow, Ns};

#[derive(Clone, Copy, Debug, Default)]
pub struct UploadOptions {
    /// Fail if the file exists (SFTP/`O_EXCL`).
    pub exclusive: bool,
    /// Fail with NotFound if the parent directory is missing, instead of creating it.
    pub parent_must_exist: bool,
}

/// What a finished upload did.
#[derive(Clone, Debug)]
pub struct Committed {
    pub size: u64,
    pub sha256: String,
    pub kind: FileKind,
    pub object_key: String,
    /// An existing file at the path was replaced.
    pub replaced: bool,
    /// The bytes were identical to the current file's: one copy kept, nothing changed.
    pub unchanged: bool,
}

pub struct Upload {
    gw: Gateway,
    session: Session,
    vpath: VPath,
    access: Access,
    rel: RelPath,
    opts: UploadOptions,
    allowed: Vec<TypeGroup>,
    /// The first bytes, held until the type is known.
    head: BytesMut,
    /// Is the file whole, and what does it say of itself? Fed every byte once the type is known.
    inspector: Option<Inspector>,
    kind: Option<FileKind>,
    key: Option<String>,
    writer: Option<BlobWriter>,
    hasher: Sha256,
    size: u64,
    max_size: u64,
    /// Bytes the quotas allow this file to take (counting the file it replaces), if limited.
    room: Option<u64>,
    started_at: i64,
}

/// Adds (or, with negative deltas, frees) usage on the event and the grant, atomically: the
/// conditional UPDATE refuses an increase that would pass a limit, even with concurrent
/// uploads on other replicas (the row lock serialises them).
pub(crate) async fn apply_usage(
    tx: &mut catalog::Tx,
    ns: &Ns,
    bytes: i64,
    files: i64,
) -> CoreResult<()> {
    let r = sqlx::query(
        "UPDATE events SET used_bytes = used_bytes + $2, used_files = used_files + $3 WHERE id = $1 \
         AND ($2 <= 0 OR max_bytes IS NULL OR used_bytes + $2 <= max_bytes) \
         AND ($3 <= 0 OR max_files IS NULL OR used_files + $3 <= max_files)",
    )
    .bind(&ns.event)
    .bind(bytes)
    .bind(files)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(CoreError::QuotaExceeded(
            "the event's storage quota is full",
        ));
    }
    let r = sqlx::query(
        "UPDATE grants SET used_bytes = used_bytes + $3, used_files = used_files + $4 \
         WHERE photographer = $1 AND event = $2 AND ($3 <= 0 OR max_bytes IS NULL OR used_bytes + $3 <= max_bytes)",
    )
    .bind(&ns.photographer)
    .bind(&ns.event)
    .bind(bytes)
    .bind(files)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(CoreError::QuotaExceeded("your quota in this event is full"));
    }
    Ok(())
}

/// The event's name-clash rule for a file called `name`. Temporary names (`.filepart`...) are
/// not photos yet: a client re-sending one replaces it.
pub(crate) fn clash_rule(a: &Access, name: &str, cfg: &crate::base::config::Config) -> NameClash {
    if crate::core::outbox::is_temp_name(name, &cfg.upload.temp_suffixes) {
        NameClash::Replace
    } else {
        NameClash::of(&a.grant.event_on_name_clash)
    }
}

fn count_failure(door: &'static str, e: &CoreError) {
    metrics::counter!("ftpgate_uploads_total", "door" => door, "result" => e.kind()).increment(1);
    if matches!(e, CoreError::Storage(_)) {
        metrics::counter!("ftpgate_blob_errors_total").increment(1);
    }
}

fn parse_groups(list: &str) -> Vec<TypeGroup> {
    list.split(',')
        .filter_map(|s| {
            serde_json::from_value(serde_json::Value::String(s.trim().to_string())).ok()
        })
        .collect()
}

impl Gateway {
    /// Checks everything that can be known before the body: the path, the permission, the
    /// target's state and whether the quota is already spent. The caller then streams with
    /// [`Upload::write`] and ends with [`Upload::finish`] or [`Upload::abort`].
    pub async fn begin_upload(
        &self,
        s: &Session,
        path: &VPath,
        opts: UploadOptions,
    ) -> CoreResult<Upload> {
        let res = self.begin_upload_inner(s, path, opts).await;
        if let Err(e) = &res {
            self.audit_refusal(s, "upload", path, e).await;
            self.announce_rejection(s, path, e, 0).await;
        }
        res
    }

    async fn begin_upload_inner(
        &self,
        s: &Session,
        path: &VPath,
        opts: UploadOptions,
    ) -> CoreResult<Upload> {
        let (access, rel) = match crate::core::namespace::resolve_for_write(self.catalog(), s, path)
            .await?
        {
            crate::core::namespace::Location::Inside(a, rel) => (a, rel),
            crate::core::namespace::Location::Root => {
                return Err(CoreError::Denied(
                    "the root holds one directory per event and is read-only",
                ));
            }
            crate::core::namespace::Location::EventRoot(_) => return Err(CoreError::IsADirectory),
        };
        access.require_write()?;
        let existing = self.catalog().entry(&access.ns, &rel.path).await?;
        let replaced_size = match &existing {
            Some(e) if e.is_dir() => return Err(CoreError::IsADirectory),
            Some(_) if opts.exclusive => return Err(CoreError::AlreadyExists),
            Some(e) => Some(e.size.max(0) as u64),
            None => None,
        };
        // Ancestors: a file in the way is an error now, not after the body.
        for dir in rel.ancestors() {
            match self.catalog().entry(&access.ns, &dir).await? {
                Some(e) if !e.is_dir() => return Err(CoreError::NotADirectory),
                None if opts.parent_must_exist => return Err(CoreError::NotFound),
                _ => {}
            }
        }
        let g = &access.grant;
        let mut room: Option<u64> = None;
        for (max, used) in [
            (g.event_max_bytes, g.event_used_bytes),
            (g.max_bytes, g.used_bytes),
        ] {
            if let Some(max) = max {
                let left = (max.max(0) as u64).saturating_sub(used.max(0) as u64)
                    + replaced_size.unwrap_or(0);
                room = Some(room.map_or(left, |r: u64| r.min(left)));
            }
        }
        if room == Some(0) {
            return Err(CoreError::QuotaExceeded("the storage quota is full"));
        }
        if replaced_size.is_none()
            && let Some(max) = g.event_max_files
            && g.event_used_files >= max
        {
            return Err(CoreError::QuotaExceeded("the event's file quota is full"));
        }
        let cfg = self.config();
        let max_size = g
            .event_max_file_size
            .map(|m| (m.max(0) as u64).min(cfg.upload.max_file_size))
            .unwrap_or(cfg.upload.max_file_size);
        let allowed = g
            .event_allowed_types
            .as_deref()
            .map(parse_groups)
            .unwrap_or_else(|| cfg.upload.allowed_types.clone());
        Ok(Upload {
            gw: self.clone(),
            session: s.clone(),
            vpath: path.clone(),
            access,
            rel,
            opts,
            allowed,
            head: BytesMut::new(),
            inspector: None,
            kind: None,
            key: None,
            writer: None,
            hasher: Sha256::new(),
            size: 0,
            max_size,
            room,
            started_at: now_millis(),
        })
    }
}

impl Upload {
    pub fn path(&self) -> &VPath {
        &self.vpath
    }

    pub fn bytes_received(&self) -> u64 {
        self.size
    }

    /// Takes the next piece of the body. An error means the upload is refused: the caller
    /// stops reading and calls [`Upload::abort`].
    pub async fn write(&mut self, data: Bytes) -> CoreResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.size += data.len() as u64;
        if self.size > self.max_size {
            return Err(CoreError::TooLarge {
                limit: self.max_size,
            });
        }
        if let Some(room) = self.room
            && self.size > room
        {
            return Err(CoreError::QuotaExceeded(
                "the file does not fit in the remaining quota",
            ));
        }
        self.hasher.update(&data);
        if let Some(i) = self.inspector.as_mut() {
            i.feed(&data);
        }
        if self.writer.is_some() {
            return self.put(data).await;
        }
        self.head.extend_from_slice(&data);
        if self.head.len() >= sniff::SNIFF_LEN {
            self.start_blob().await?;
        }
        Ok(())
    }

    async fn put(&mut self, data: Bytes) -> CoreResult<()> {
        match self.writer.as_mut() {
            Some(w) => w.write(data).await,
            None => Err(CoreError::Storage("upload has no blob writer".into())),
        }
    }

    /// Decides the type from the buffered first bytes, then opens the blob under its key.
    async fn start_blob(&mut self) -> CoreResult<()> {
        let kind = sniff::detect(&self.head, Some(&self.rel.name));
        let kind = match kind {
            Some(k) if self.allowed.contains(&k.group()) => k,
            Some(k) => {
                return Err(CoreError::NotAllowedType(format!(
                    "{} files are not accepted here",
                    k.name()
                )));
            }
            None if self.head.is_empty() => {
                return Err(CoreError::NotAllowedType("the file is empty".into()));
            }
            None => {
                return Err(CoreError::NotAllowedType(
                    "not a recognised photo format".into(),
                ));
            }
        };
        let key = format!(
            "events/{}/{}/{}.{}",
            self.access.ns.event,
            self.access.ns.photographer,
            ulid::Ulid::new().to_string().to_lowercase(),
            kind.ext()
        );
        let meta = BlobMeta {
            event: self.access.ns.event.clone(),
            photographer: self.access.ns.photographer.clone(),
            path: self.rel.path.clone(),
            sha256: String::new(),
            content_type: kind.mime().to_string(),
            size: 0,
            mtime: self.started_at,
        };
        self.writer = Some(self.gw.blobs().writer(&key, &meta).await?);
        self.kind = Some(kind);
        self.key = Some(key);
        let mut inspector = Inspector::new(kind, InspectLimits::default());
        inspector.feed(&self.head);
        self.inspector = Some(inspector);
        let head = std::mem::take(&mut self.head).freeze();
        self.put(head).await
    }

    /// The body ended normally: make the blob durable, then commit. Returns only once the
    /// file is in the catalog, so the door's success reply means the photo is safe.
    pub async fn finish(mut self) -> CoreResult<Committed> {
        let res = self.finish_inner().await;
        if let Err(e) = &res {
            self.cleanup().await;
            self.gw
                .audit_refusal(&self.session, "upload", &self.vpath, e)
                .await;
            self.gw
                .announce_rejection(&self.session, &self.vpath, e, self.size)
                .await;
            count_failure(self.session.door.as_str(), e);
        }
        res
    }

    async fn finish_inner(&mut self) -> CoreResult<Committed> {
        if self.writer.is_none() {
            self.start_blob().await?;
        }
        let (Some(kind), Some(key), Some(writer)) =
            (self.kind, self.key.clone(), self.writer.take())
        else {
            return Err(CoreError::Storage("upload was not started".into()));
        };
        // A body that ended normally may still carry a cut file (a clean close mid-file on
        // plain FTP): refuse it before the blob is made durable.
        let inspection = self.inspector.take().map(|i| i.finish(self.size));
        if let Some(Err(incomplete)) = inspection.as_ref().map(|i| &i.complete) {
            return Err(CoreError::Incomplete(incomplete.reason.clone()));
        }
        let (photo_meta, meta_error) = match inspection {
            Some(i) => (i.meta, i.meta_error),
            None => (None, None),
        };
        let captured_ms = photo_meta
            .as_ref()
            .and_then(|m| m.captured_at.as_deref())
            .and_then(crate::base::photo::local_time_ms);
        let camera_serial = photo_meta.as_ref().and_then(|m| m.camera.serial.clone());
        let photo_meta = photo_meta.and_then(|m| serde_json::to_string(&m).ok());
        let sha256 = hex::encode(self.hasher.clone().finalize());
        let now = now_millis();
        let meta = BlobMeta {
            event: self.access.ns.event.clone(),
            photographer: self.access.ns.photographer.clone(),
            path: self.rel.path.clone(),
            sha256: sha256.clone(),
            content_type: kind.mime().to_string(),
            size: self.size,
            mtime: now,
        };
        writer.finish(&meta).await?;

        let gw = self.gw.clone();
        let ns = self.access.ns.clone();
        let mut tx = gw.catalog().begin_write().await?;
        crate::core::gateway::recheck_write(&mut tx, &self.access).await?;
        let existing = catalog::entries::entry(&mut tx, &ns, &self.rel.path).await?;
        if let Some(e) = &existing {
            if e.is_dir() {
                return Err(CoreError::IsADirectory);
            }
            if self.opts.exclusive {
                return Err(CoreError::AlreadyExists);
            }
        }
        let size = i64::try_from(self.size).map_err(|_| CoreError::TooLarge {
            limit: self.max_size,
        })?;
        let mut audit = gw.audit_base(&self.session, "upload", Some(&self.access));
        audit.path = Some(self.vpath.to_string());
        audit.size = Some(size);
        audit.sha256 = Some(sha256.clone());

        if let Some(e) = existing
            .as_ref()
            .filter(|e| e.sha256.as_deref() == Some(sha256.as_str()))
        {
            // The camera re-sent the same photo after a Wi-Fi drop: keep the copy we have.
            audit.result = "unchanged".into();
            metrics::counter!("ftpgate_uploads_total", "door" => self.session.door.as_str(), "result" => "unchanged").increment(1);
            catalog::audit::insert(&mut tx, &audit).await?;
            tx.commit().await?;
            delete_blob_quietly(gw.blobs(), &key).await;
            self.key = None;
            return Ok(Committed {
                size: self.size,
                sha256,
                kind,
                object_key: e.object_key.clone().unwrap_or_default(),
                replaced: false,
                unchanged: true,
            });
        }

        // A different photo under a name already taken: the event's rule decides.
        let rule = clash_rule(&self.access, &self.rel.name, gw.config());
        let new_id = crate::base::domain::photo_id(&key).to_string();
        let mut superseded = None;
        if let Some(e) = existing.as_ref().filter(|e| e.object_key.is_some()) {
            match rule {
                NameClash::Refuse => return Err(CoreError::NameTaken),
                NameClash::KeepBoth => {
                    catalog::superseded::supersede(&mut tx, e, &new_id, now).await?;
                    superseded = Some(e.clone());
                }
                NameClash::Replace => {}
            }
        }
        if self.opts.parent_must_exist {
            require_parent_dir(&mut tx, &self.access, &self.rel).await?;
        } else {
            if !self.rel.parent.is_empty()
                && catalog::entries::entry(&mut tx, &ns, &self.rel.parent)
                    .await?
                    .is_none()
            {
                gw.require_entry_room(&mut tx, &ns).await?;
            }
            ensure_parent_dirs(&mut tx, &ns, &self.rel, now).await?;
        }
        // A superseded photo stays in the quota: only a replaced one gives its share back.
        let (old_size, old_files) = match (&existing, &superseded) {
            (Some(e), None) => (e.size, 1),
            _ => (0, 0),
        };
        apply_usage(&mut tx, &ns, size - old_size, 1 - old_files).await?;
        let row = EntryRow {
            event: ns.event.clone(),
            photographer: ns.photographer.clone(),
            path: self.rel.path.clone(),
            parent: self.rel.parent.clone(),
            name: self.rel.name.clone(),
            kind: "file".into(),
            size,
            mtime: now,
            sha256: Some(sha256.clone()),
            content_type: Some(kind.mime().to_string()),
            object_key: Some(key.clone()),
            uploader_ip: self.session.ip.map(|i| i.to_string()),
            created_at: match (&existing, &superseded) {
                (Some(e), None) => e.created_at,
                _ => now,
            },
            updated_at: now,
            blob_missing: 0,
            meta: photo_meta,
            meta_error,
            captured_ms,
            camera_serial,
        };
        catalog::entries::put_entry(&mut tx, &row).await?;
        let notify =
            !crate::core::outbox::is_temp_name(&self.rel.name, &gw.config().upload.temp_suffixes);
        if notify {
            let mut n = crate::core::outbox::Notification::about("photo.created", &row);
            if let Some(old) = &superseded {
                let mut s = crate::core::outbox::Notification::about("photo.superseded", old);
                s.superseded_by = Some(new_id.clone());
                n.supersedes = Some(s.photo_id.clone());
                crate::core::outbox::enqueue(&mut tx, gw.config(), &s).await?;
            }
            crate::core::outbox::enqueue(&mut tx, gw.config(), &n).await?;
        }
        audit.result = match (&existing, &superseded) {
            (_, Some(old)) => {
                audit.target = old.object_key.as_deref().map(|k| format!("kept {k}"));
                "kept_both".into()
            }
            (Some(_), None) => "replaced".into(),
            (None, None) => "ok".into(),
        };
        audit.detail = Some(format!("{} in {} ms", kind.name(), now - self.started_at));
        catalog::audit::insert(&mut tx, &audit).await?;
        tx.commit().await?;
        self.key = None; // committed: the blob now belongs to the catalog
        if notify {
            gw.inner.outbox_wake.notify_one();
        }
        let door = self.session.door.as_str();
        let result = match (&existing, &superseded) {
            (_, Some(_)) => "kept_both",
            (Some(_), None) => "replaced",
            (None, None) => "ok",
        };
        metrics::counter!("ftpgate_uploads_total", "door" => door, "result" => result).increment(1);
        metrics::counter!("ftpgate_upload_bytes_total", "door" => door).increment(self.size);
        metrics::histogram!("ftpgate_upload_duration_seconds", "door" => door)
            .record((now_millis() - self.started_at) as f64 / 1000.0);
        if superseded.is_none()
            && let Some(old_key) = existing.and_then(|e| e.object_key)
        {
            delete_blob_quietly(gw.blobs(), &old_key).await;
        }
        Ok(Committed {
            size: self.size,
            sha256,
            kind,
            object_key: key,
            replaced: old_files == 1,
            unchanged: false,
        })
    }

    /// Removes whatever this upload wrote that the catalog does not reference.
    async fn cleanup(&mut self) {
        if let Some(w) = self.writer.take() {
            w.abort().await;
        }
        if let Some(key) = self.key.take() {
            delete_blob_quietly(self.gw.blobs(), &key).await;
        }
    }

    /// The upload is refused or the client went away: nothing of it stays.
    pub async fn abort(mut self, reason: &CoreError) {
        self.cleanup().await;
        count_failure(self.session.door.as_str(), reason);
        self.gw
            .audit_refusal(&self.session, "upload", &self.vpath, reason)
            .await;
        self.gw
            .announce_rejection(&self.session, &self.vpath, reason, self.size)
            .await;
    }
}
