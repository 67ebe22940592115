//! The core's front: every file operation either door performs, with every rule applied here,
//! once. Doors translate their protocol into these calls and map [`CoreError`] back.

use std::sync::Arc;

use futures_util::StreamExt;

use crate::base::config::Config;
use crate::base::domain::{Millis, NameClash, now_millis};
use crate::base::error::{CoreError, CoreResult};
use crate::base::vpath::VPath;
use crate::core::identity::{Identity, Session};
use crate::core::namespace::{self, Access, Location, RelPath};
use crate::store::blobs::{BlobStore, BlobStream};
use crate::store::catalog::{self, AuditRecord, Catalog, EntryRow, Ns};

/// What `stat` and `readdir` report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub mtime: Millis,
    pub mime: Option<String>,
    pub sha256: Option<String>,
}

impl FileInfo {
    fn dir(name: &str, mtime: Millis) -> FileInfo {
        FileInfo {
            name: name.to_string(),
            is_dir: true,
            size: 0,
            mtime,
            mime: None,
            sha256: None,
        }
    }

    fn from_listing(e: &crate::store::catalog::ListingRow) -> FileInfo {
        FileInfo {
            name: e.name.clone(),
            is_dir: e.kind == "dir",
            size: e.size.max(0) as u64,
            mtime: e.mtime,
            mime: e.content_type.clone(),
            sha256: e.sha256.clone(),
        }
    }

    fn from_entry(e: &EntryRow) -> FileInfo {
        FileInfo {
            name: e.name.clone(),
            is_dir: e.is_dir(),
            size: e.size.max(0) as u64,
            mtime: e.mtime,
            mime: e.content_type.clone(),
            sha256: e.sha256.clone(),
        }
    }
}

/// Space left for uploads at a path, as `statvfs` and FTP `AVBL` report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub total_files: u64,
    pub free_files: u64,
}

/// A download: the file's size and its bytes from the requested offset.
pub struct Download {
    pub size: u64,
    pub offset: u64,
    pub mime: Option<String>,
    pub stream: BlobStream,
}

#[derive(Clone)]
pub struct Gateway {
    // Only the core reaches inside; doors and ops use the methods below.
    pub(in crate::core) inner: Arc<Inner>,
}

pub(in crate::core) struct Inner {
    pub config: Arc<Config>,
    pub catalog: Catalog,
    pub blobs: BlobStore,
    pub identity: Arc<Identity>,
    /// Wakes the webhook worker after a commit that queued a notification.
    pub outbox_wake: Arc<tokio::sync::Notify>,
}

/// When a replaced or deleted blob is no longer referenced, remove it; a failure leaves an
/// orphan for `reconcile`, never a missing photo.
pub(crate) async fn delete_blob_quietly(blobs: &BlobStore, key: &str) {
    if let Err(e) = blobs.delete(key).await {
        tracing::warn!(key, error = %e, "could not delete an unreferenced blob; reconcile will");
    }
}

impl Gateway {
    pub async fn new(
        config: Arc<Config>,
        catalog: Catalog,
        blobs: BlobStore,
    ) -> CoreResult<Gateway> {
        let identity = Identity::new(catalog.clone(), config.lockout.clone()).await?;
        Ok(Gateway {
            inner: Arc::new(Inner {
                config,
                catalog,
                blobs,
                identity,
                outbox_wake: Arc::new(tokio::sync::Notify::new()),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    /// The configuration, shared, for tasks that outlive a borrow of the gateway.
    pub fn config_shared(&self) -> Arc<Config> {
        self.inner.config.clone()
    }
    /// Notified after a commit that queued a notification (the webhook worker waits on it).
    pub fn outbox_wake(&self) -> Arc<tokio::sync::Notify> {
        self.inner.outbox_wake.clone()
    }
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }
    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    pub(crate) fn audit_base(
        &self,
        s: &Session,
        action: &'static str,
        access: Option<&Access>,
    ) -> AuditRecord {
        AuditRecord {
            door: s.door.as_str(),
            action,
            photographer: Some(s.username.to_string()),
            event: access.map(|a| a.ns.event.clone()),
            ip: s.ip.map(|i| i.to_string()),
            ..Default::default()
        }
    }

    /// Tells the platform an upload was refused for a reason the photographer can act on
    /// (type, incomplete file, size, quota, a closed event, a name clash): an
    /// `upload.rejected` notification. Cut connections and storage trouble are not news.
    pub(crate) async fn announce_rejection(
        &self,
        s: &Session,
        path: &VPath,
        err: &CoreError,
        size: u64,
    ) {
        let reportable = matches!(
            err,
            CoreError::NotAllowedType(_)
                | CoreError::Incomplete(_)
                | CoreError::TooLarge { .. }
                | CoreError::QuotaExceeded(_)
                | CoreError::Denied(_)
                | CoreError::NameTaken
        );
        let parts = path.components();
        if !reportable || parts.len() < 2 {
            return;
        }
        let n = crate::core::outbox::Notification::rejection(
            &parts[0],
            s,
            &parts[1..].join("/"),
            size,
            err.public_message(),
        );
        let res = async {
            let mut tx = self.catalog().begin_write().await?;
            crate::core::outbox::enqueue(&mut tx, self.config(), &n).await?;
            tx.commit().await?;
            Ok::<(), CoreError>(())
        }
        .await;
        match res {
            Ok(()) => self.inner.outbox_wake.notify_one(),
            Err(e) => tracing::warn!(error = %e, "could not queue an upload.rejected notification"),
        }
    }

    /// Records a refused mutation (the successful ones are audited inside their transaction).
    pub(crate) async fn audit_refusal(
        &self,
        s: &Session,
        action: &'static str,
        path: &VPath,
        err: &CoreError,
    ) {
        let mut r = self.audit_base(s, action, None);
        // `/x.jpg` names no event: the first part is an event only with something inside it.
        let parts = path.components();
        r.event = (parts.len() > 1).then(|| parts[0].clone());
        r.path = Some(path.to_string());
        r.result = "refused".into();
        r.detail = Some(err.to_string());
        self.catalog().audit(&r).await;
    }

    pub async fn stat(&self, s: &Session, path: &VPath) -> CoreResult<FileInfo> {
        match namespace::resolve(self.catalog(), s, path).await? {
            Location::Root => Ok(FileInfo::dir("/", now_millis())),
            Location::EventRoot(a) => Ok(FileInfo::dir(&a.ns.event, a.grant.created_at)),
            Location::Inside(a, rel) => {
                let e = self
                    .catalog()
                    .entry(&a.ns, &rel.path)
                    .await?
                    .ok_or(CoreError::NotFound)?;
                Ok(FileInfo::from_entry(&e))
            }
        }
    }

    pub async fn read_dir(&self, s: &Session, path: &VPath) -> CoreResult<Vec<FileInfo>> {
        match namespace::resolve(self.catalog(), s, path).await? {
            Location::Root => Ok(namespace::visible_events(self.catalog(), s)
                .await?
                .iter()
                .map(|a| FileInfo::dir(&a.ns.event, a.grant.created_at))
                .collect()),
            Location::EventRoot(a) => Ok(self
                .catalog()
                .children(&a.ns, "")
                .await?
                .iter()
                .map(FileInfo::from_listing)
                .collect()),
            Location::Inside(a, rel) => {
                let e = self
                    .catalog()
                    .entry(&a.ns, &rel.path)
                    .await?
                    .ok_or(CoreError::NotFound)?;
                if !e.is_dir() {
                    return Err(CoreError::NotADirectory);
                }
                Ok(self
                    .catalog()
                    .children(&a.ns, &rel.path)
                    .await?
                    .iter()
                    .map(FileInfo::from_listing)
                    .collect())
            }
        }
    }

    /// Resolves a path that must name a file in one of the caller's namespaces.
    async fn file_entry(
        &self,
        s: &Session,
        path: &VPath,
    ) -> CoreResult<(Access, RelPath, EntryRow)> {
        match namespace::resolve(self.catalog(), s, path).await? {
            Location::Root | Location::EventRoot(_) => Err(CoreError::IsADirectory),
            Location::Inside(a, rel) => {
                let e = self
                    .catalog()
                    .entry(&a.ns, &rel.path)
                    .await?
                    .ok_or(CoreError::NotFound)?;
                if e.is_dir() {
                    return Err(CoreError::IsADirectory);
                }
                Ok((a, rel, e))
            }
        }
    }

    pub async fn open(&self, s: &Session, path: &VPath, offset: u64) -> CoreResult<Download> {
        let (_a, _rel, e) = self.file_entry(s, path).await?;
        let size = e.size.max(0) as u64;
        if offset > size {
            return Err(CoreError::BadRequest(format!(
                "offset {offset} is beyond the end of the file ({size} bytes)"
            )));
        }
        let key = e
            .object_key
            .as_deref()
            .ok_or_else(|| CoreError::Storage("entry has no blob".into()))?;
        if e.blob_missing != 0 {
            return Err(CoreError::Storage(
                "the stored copy of this file is missing; see ftpgate reconcile".into(),
            ));
        }
        let stream = self.blobs().read(key, offset).await?;
        Ok(Download {
            size,
            offset,
            mime: e.content_type.clone(),
            stream,
        })
    }

    /// The SHA-256 computed while the file was uploaded (FTP `HASH`, integrity checks).
    pub async fn sha256(&self, s: &Session, path: &VPath) -> CoreResult<(String, u64)> {
        let (_a, _rel, e) = self.file_entry(s, path).await?;
        let sha = e
            .sha256
            .ok_or_else(|| CoreError::Storage("entry has no checksum".into()))?;
        Ok((sha, e.size.max(0) as u64))
    }

    async fn writable_inside(&self, s: &Session, path: &VPath) -> CoreResult<(Access, RelPath)> {
        match namespace::resolve_for_write(self.catalog(), s, path).await? {
            Location::Root => Err(CoreError::Denied(
                "the root holds one directory per event and is read-only",
            )),
            Location::EventRoot(_) => Err(CoreError::Denied(
                "event directories are managed by the platform",
            )),
            Location::Inside(a, rel) => {
                a.require_write()?;
                Ok((a, rel))
            }
        }
    }

    pub async fn mkdir(&self, s: &Session, path: &VPath) -> CoreResult<()> {
        let res = self.mkdir_inner(s, path).await;
        if let Err(e) = &res {
            self.audit_refusal(s, "mkdir", path, e).await;
        }
        res
    }

    async fn mkdir_inner(&self, s: &Session, path: &VPath) -> CoreResult<()> {
        let (a, rel) = self.writable_inside(s, path).await?;
        let mut tx = self.catalog().begin_write().await?;
        if catalog::entries::entry(&mut tx, &a.ns, &rel.path)
            .await?
            .is_some()
        {
            return Err(CoreError::AlreadyExists);
        }
        recheck_write(&mut tx, &a).await?;
        require_parent_dir(&mut tx, &a, &rel).await?;
        self.require_entry_room(&mut tx, &a.ns).await?;
        let now = now_millis();
        catalog::entries::put_entry(&mut tx, &dir_row(&a.ns, &rel.path, now)).await?;
        let mut r = self.audit_base(s, "mkdir", Some(&a));
        r.path = Some(path.to_string());
        r.result = "ok".into();
        catalog::audit::insert(&mut tx, &r).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove(&self, s: &Session, path: &VPath) -> CoreResult<()> {
        let res = self.remove_inner(s, path).await;
        if let Err(e) = &res {
            self.audit_refusal(s, "remove", path, e).await;
        }
        res
    }

    async fn remove_inner(&self, s: &Session, path: &VPath) -> CoreResult<()> {
        let (a, rel) = self.writable_inside(s, path).await?;
        let mut tx = self.catalog().begin_write().await?;
        recheck_write(&mut tx, &a).await?;
        let e = catalog::entries::entry(&mut tx, &a.ns, &rel.path)
            .await?
            .ok_or(CoreError::NotFound)?;
        if e.is_dir() && catalog::entries::has_children(&mut tx, &a.ns, &rel.path).await? {
            return Err(CoreError::NotEmpty);
        }
        catalog::entries::delete_entry(&mut tx, &a.ns, &rel.path).await?;
        let announce = !e.is_dir()
            && !crate::core::outbox::is_temp_name(&rel.name, &self.config().upload.temp_suffixes);
        if !e.is_dir() {
            crate::core::ingest::apply_usage(&mut tx, &a.ns, -e.size, -1).await?;
        }
        if announce {
            let n = crate::core::outbox::Notification::about("photo.deleted", &e);
            crate::core::outbox::enqueue(&mut tx, self.config(), &n).await?;
        }
        let mut r = self.audit_base(s, "remove", Some(&a));
        r.path = Some(path.to_string());
        r.size = Some(e.size);
        r.sha256 = e.sha256.clone();
        r.result = "ok".into();
        catalog::audit::insert(&mut tx, &r).await?;
        tx.commit().await?;
        if announce {
            self.inner.outbox_wake.notify_one();
        }
        if let Some(key) = &e.object_key {
            delete_blob_quietly(self.blobs(), key).await;
        }
        Ok(())
    }

    /// Moves a file or a whole directory in one catalog transaction; an existing file at the
    /// target is replaced. Both paths must be in the same event.
    pub async fn rename(&self, s: &Session, from: &VPath, to: &VPath) -> CoreResult<()> {
        let res = self.rename_inner(s, from, to).await;
        if let Err(e) = &res {
            self.audit_refusal(s, "rename", from, e).await;
        }
        res
    }

    async fn rename_inner(&self, s: &Session, from: &VPath, to: &VPath) -> CoreResult<()> {
        let (a, src) = self.writable_inside(s, from).await?;
        let (b, dst) = self.writable_inside(s, to).await?;
        if a.ns != b.ns {
            return Err(CoreError::Denied("files cannot be moved between events"));
        }
        if src.path == dst.path {
            return match self.catalog().entry(&a.ns, &src.path).await? {
                Some(_) => Ok(()),
                None => Err(CoreError::NotFound),
            };
        }
        if dst.path.starts_with(&format!("{}/", src.path)) {
            return Err(CoreError::BadRequest(
                "a directory cannot be moved into itself".into(),
            ));
        }
        let mut tx = self.catalog().begin_write().await?;
        recheck_write(&mut tx, &a).await?;
        let e = catalog::entries::entry(&mut tx, &a.ns, &src.path)
            .await?
            .ok_or(CoreError::NotFound)?;
        if e.is_dir() {
            // Every descendant's full path ("/event/dst/…") must stay within the path limit,
            // or it could be neither read nor removed afterwards.
            let longest = catalog::entries::longest_below(
                &mut tx,
                self.catalog().backend(),
                &a.ns,
                &src.path,
            )
            .await?;
            if longest > 0 {
                let grown = 2
                    + a.ns.event.len() as i64
                    + dst.path.len() as i64
                    + (longest - src.path.len() as i64);
                if grown > crate::base::vpath::MAX_PATH_BYTES as i64 {
                    return Err(CoreError::BadRequest(format!(
                        "the move would make a path inside the directory longer than {} bytes",
                        crate::base::vpath::MAX_PATH_BYTES
                    )));
                }
            }
        }
        let mut replaced_key = None;
        let mut superseded_id = None;
        let mut superseded_notice = None;
        if let Some(existing) = catalog::entries::entry(&mut tx, &a.ns, &dst.path).await? {
            if existing.is_dir() || e.is_dir() {
                return Err(CoreError::AlreadyExists);
            }
            let same = existing.sha256.is_some() && existing.sha256 == e.sha256;
            match crate::core::ingest::clash_rule(&a, &dst.name, self.config()) {
                NameClash::Refuse if !same => return Err(CoreError::NameTaken),
                NameClash::KeepBoth if !same && existing.object_key.is_some() => {
                    // The earlier photo stays, superseded, with its blob and its quota share.
                    let newer =
                        crate::base::domain::photo_id(e.object_key.as_deref().unwrap_or_default());
                    catalog::superseded::supersede(&mut tx, &existing, newer, now_millis()).await?;
                    catalog::entries::delete_entry(&mut tx, &a.ns, &dst.path).await?;
                    let mut n =
                        crate::core::outbox::Notification::about("photo.superseded", &existing);
                    n.superseded_by = Some(newer.to_string());
                    superseded_id = Some(n.photo_id.clone());
                    superseded_notice = Some(n);
                }
                _ => {
                    catalog::entries::delete_entry(&mut tx, &a.ns, &dst.path).await?;
                    crate::core::ingest::apply_usage(&mut tx, &a.ns, -existing.size, -1).await?;
                    replaced_key = existing.object_key.clone();
                }
            }
        }
        require_parent_dir(&mut tx, &a, &dst).await?;
        catalog::entries::move_subtree(
            &mut tx,
            &a.ns,
            &src.path,
            &dst.path,
            &dst.parent,
            &dst.name,
        )
        .await?;
        let suffixes = &self.config().upload.temp_suffixes;
        let became_final = !e.is_dir()
            && crate::core::outbox::is_temp_name(&src.name, suffixes)
            && !crate::core::outbox::is_temp_name(&dst.name, suffixes);
        if became_final {
            let moved = EntryRow {
                path: dst.path.clone(),
                ..e.clone()
            };
            let mut n = crate::core::outbox::Notification::about("photo.created", &moved);
            n.supersedes = superseded_id.clone();
            crate::core::outbox::enqueue(&mut tx, self.config(), &n).await?;
        }
        let notified = became_final || superseded_notice.is_some();
        if let Some(n) = &superseded_notice {
            crate::core::outbox::enqueue(&mut tx, self.config(), n).await?;
        }
        let mut r = self.audit_base(s, "rename", Some(&a));
        r.path = Some(from.to_string());
        r.target = Some(to.to_string());
        r.result = "ok".into();
        catalog::audit::insert(&mut tx, &r).await?;
        tx.commit().await?;
        if notified {
            self.inner.outbox_wake.notify_one();
        }
        if let Some(key) = replaced_key {
            delete_blob_quietly(self.blobs(), &key).await;
        }
        Ok(())
    }

    /// Sets the modification time (FTP `MFMT`, SFTPGo `chtimes`): keeps a photo's capture time.
    pub async fn set_mtime(&self, s: &Session, path: &VPath, mtime: Millis) -> CoreResult<()> {
        let (a, rel) = self.writable_inside(s, path).await?;
        if !self.catalog().set_mtime(&a.ns, &rel.path, mtime).await? {
            return Err(CoreError::NotFound);
        }
        Ok(())
    }

    /// Cuts a file to `size`, through the same upload pipeline as any write (type check,
    /// quota, checksum, commit), so a truncated photo is held to the same rules. Growing is
    /// refused: zero-filling would be durable writes at no quota cost, and no client needs it.
    pub async fn truncate(&self, s: &Session, path: &VPath, size: u64) -> CoreResult<()> {
        let (_a, _rel, e) = self.file_entry(s, path).await?;
        let old = e.size.max(0) as u64;
        if old == size {
            return Ok(());
        }
        if size > old {
            return Err(CoreError::BadRequest(format!(
                "truncate can only shrink a file ({old} bytes), not grow it to {size}"
            )));
        }
        let mut upload = self
            .begin_upload(s, path, crate::core::ingest::UploadOptions::default())
            .await?;
        let res = async {
            if size > 0 && old > 0 {
                let key = e
                    .object_key
                    .as_deref()
                    .ok_or_else(|| CoreError::Storage("entry has no blob".into()))?;
                let mut stream = self.blobs().read(key, 0).await?;
                let mut copied = 0u64;
                while copied < size.min(old) {
                    let Some(chunk) = stream.next().await else {
                        break;
                    };
                    let chunk = chunk?;
                    let take = (size.min(old) - copied).min(chunk.len() as u64) as usize;
                    upload.write(chunk.slice(..take)).await?;
                    copied += take as u64;
                }
            }
            Ok::<(), CoreError>(())
        }
        .await;
        match res {
            Ok(()) => upload.finish().await.map(|_| ()),
            Err(err) => {
                upload.abort(&err).await;
                Err(err)
            }
        }
    }

    /// A new directory must fit under `upload.max_entries_per_namespace` (directories count
    /// toward no other quota, so `mkdir` in a loop would otherwise grow the catalog forever).
    pub(crate) async fn require_entry_room(&self, tx: &mut catalog::Tx, ns: &Ns) -> CoreResult<()> {
        let max = self.config().upload.max_entries_per_namespace;
        let n = catalog::entries::count_in_ns(tx, ns).await?;
        if n.max(0) as u64 >= max {
            return Err(CoreError::QuotaExceeded(
                "too many files and directories in this event",
            ));
        }
        Ok(())
    }

    /// Files and bytes at or below a path.
    pub async fn dir_size(&self, s: &Session, path: &VPath) -> CoreResult<(u64, u64)> {
        let (files, bytes) = match namespace::resolve(self.catalog(), s, path).await? {
            Location::Root => {
                let mut t = (0i64, 0i64);
                for a in namespace::visible_events(self.catalog(), s).await? {
                    let (f, b) = self.catalog().totals(&a.ns, "").await?;
                    t = (t.0 + f, t.1 + b);
                }
                t
            }
            Location::EventRoot(a) => self.catalog().totals(&a.ns, "").await?,
            Location::Inside(a, rel) => {
                let e = self
                    .catalog()
                    .entry(&a.ns, &rel.path)
                    .await?
                    .ok_or(CoreError::NotFound)?;
                if e.is_dir() {
                    self.catalog().totals(&a.ns, &rel.path).await?
                } else {
                    (1, e.size)
                }
            }
        };
        Ok((files.max(0) as u64, bytes.max(0) as u64))
    }

    /// What the quotas (and the disk, for local blobs) still allow at this path.
    pub async fn space(&self, s: &Session, path: &VPath) -> CoreResult<Space> {
        let disk_free = self.blobs().free_space().await.unwrap_or(1 << 50);
        let access = match namespace::resolve(self.catalog(), s, path).await? {
            Location::Root => None,
            Location::EventRoot(a) | Location::Inside(a, _) => Some(a),
        };
        let mut space = Space {
            total_bytes: disk_free,
            free_bytes: disk_free,
            total_files: 1 << 32,
            free_files: 1 << 32,
        };
        let Some(a) = access else { return Ok(space) };
        if a.read_only.is_some() {
            space.free_bytes = 0;
            space.free_files = 0;
        }
        let g = &a.grant;
        for (max, used) in [
            (g.event_max_bytes, g.event_used_bytes),
            (g.max_bytes, g.used_bytes),
        ] {
            if let Some(max) = max {
                let max = max.max(0) as u64;
                space.total_bytes = space.total_bytes.min(max);
                space.free_bytes = space.free_bytes.min(max.saturating_sub(used.max(0) as u64));
            }
        }
        if let Some(max) = g.event_max_files {
            let max = max.max(0) as u64;
            space.total_files = max;
            space.free_files = space
                .free_files
                .min(max.saturating_sub(g.event_used_files.max(0) as u64));
        }
        Ok(space)
    }
}

/// Write permission again, inside the commit transaction: an upload or change that began
/// before its event closed, its window ended or its grant was revoked must not commit after.
pub(crate) async fn recheck_write(tx: &mut catalog::Tx, a: &Access) -> CoreResult<()> {
    let g = catalog::people::grant_in(tx, &a.ns.photographer, &a.ns.event)
        .await?
        .filter(namespace::is_visible)
        .ok_or(CoreError::NotFound)?;
    match namespace::read_only_reason(&g, now_millis()) {
        Some(why) => Err(CoreError::Denied(why)),
        None => Ok(()),
    }
}

/// A directory entry at `path`; file rows start from it too (`..dir_row(…)`).
pub(crate) fn dir_row(ns: &Ns, path: &str, now: Millis) -> EntryRow {
    let (parent, name) = RelPath::split_parent(path);
    EntryRow {
        meta: None,
        meta_error: None,
        captured_ms: None,
        camera_serial: None,
        event: ns.event.clone(),
        photographer: ns.photographer.clone(),
        path: path.to_string(),
        parent,
        name,
        kind: "dir".into(),
        size: 0,
        mtime: now,
        sha256: None,
        content_type: None,
        object_key: None,
        uploader_ip: None,
        created_at: now,
        updated_at: now,
        blob_missing: 0,
    }
}

/// The parent of `rel` must exist as a directory (the namespace root always does).
pub(crate) async fn require_parent_dir(
    tx: &mut catalog::Tx,
    a: &Access,
    rel: &RelPath,
) -> CoreResult<()> {
    if rel.parent.is_empty() {
        return Ok(());
    }
    match catalog::entries::entry(tx, &a.ns, &rel.parent).await? {
        Some(p) if p.is_dir() => Ok(()),
        Some(_) => Err(CoreError::NotADirectory),
        None => Err(CoreError::NotFound),
    }
}

/// Creates missing ancestor directories of `rel` (an upload into a folder the client never
/// made, as S3-minded tools do); refuses if an ancestor is a file.
pub(crate) async fn ensure_parent_dirs(
    tx: &mut catalog::Tx,
    ns: &Ns,
    rel: &RelPath,
    now: Millis,
) -> CoreResult<()> {
    for dir in rel.ancestors() {
        match catalog::entries::entry(tx, ns, &dir).await? {
            Some(e) if e.is_dir() => {}
            Some(_) => return Err(CoreError::NotADirectory),
            None => catalog::entries::put_entry(tx, &dir_row(ns, &dir, now)).await?,
        }
    }
    Ok(())
}
