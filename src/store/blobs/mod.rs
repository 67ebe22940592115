//! The blob store: where photo bytes live, under immutable keys
//! (`events/{event}/{photographer}/{ulid}.{ext}`) that never change when a file is renamed.
//!
//! Two implementations behind one interface: a local directory (the embedded default; durable
//! with fsync before a commit) and any `object_store` backend (S3 / R2, memory in unit tests).
//! Writers stream: memory per upload is bounded and nothing is visible until `finish`.

mod local;
pub mod object;

pub use local::LocalStore;
pub use object::ObjectBlobs;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::base::error::CoreResult;

/// Carried with every blob so the catalog can be rebuilt from the store alone.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BlobMeta {
    pub event: String,
    pub photographer: String,
    /// The client-visible path when the blob was written.
    pub path: String,
    pub sha256: String,
    pub content_type: String,
    pub size: u64,
    pub mtime: i64,
}

#[derive(Clone)]
pub enum BlobStore {
    Local(LocalStore),
    Object(ObjectBlobs),
}

pub enum BlobWriter {
    Local(local::LocalWriter),
    Object(object::ObjectWriter),
}

/// A byte stream of a blob from some offset.
pub type BlobStream = BoxStream<'static, std::io::Result<Bytes>>;

impl BlobStore {
    /// From `blobs.url` (a path or `file://` URL); the default is `data_dir/blobs`.
    pub async fn open(cfg: &crate::base::config::Config) -> CoreResult<BlobStore> {
        let url = cfg.blobs.url.clone();
        match url.as_deref() {
            None => Ok(BlobStore::Local(
                LocalStore::open(cfg.data_dir.join("blobs")).await?,
            )),
            Some(u) if u.starts_with("file://") => Ok(BlobStore::Local(
                LocalStore::open(u.trim_start_matches("file://").into()).await?,
            )),
            Some(u) if !u.contains("://") => {
                Ok(BlobStore::Local(LocalStore::open(u.into()).await?))
            }
            Some(u) if u.starts_with("s3://") => {
                Ok(BlobStore::Object(ObjectBlobs::s3(&cfg.blobs, u)?))
            }
            Some(u) => Err(crate::base::error::CoreError::Storage(format!(
                "unsupported blobs.url {u:?}: use a directory path, file:///dir or s3://bucket/prefix"
            ))),
        }
    }

    /// `meta` is what is known when the upload starts (its checksum and size come at finish).
    pub async fn writer(&self, key: &str, meta: &BlobMeta) -> CoreResult<BlobWriter> {
        match self {
            BlobStore::Local(s) => Ok(BlobWriter::Local(s.writer(key).await?)),
            BlobStore::Object(s) => Ok(BlobWriter::Object(s.writer(key, meta).await?)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            BlobStore::Local(s) => format!("local directory {}", s.root().display()),
            BlobStore::Object(s) => s.describe.clone(),
        }
    }

    pub async fn read(&self, key: &str, offset: u64) -> CoreResult<BlobStream> {
        match self {
            BlobStore::Local(s) => s.read(key, offset).await,
            BlobStore::Object(s) => s.read(key, offset).await,
        }
    }

    /// Deleting a blob that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> CoreResult<()> {
        match self {
            BlobStore::Local(s) => s.delete(key).await,
            BlobStore::Object(s) => s.delete(key).await,
        }
    }

    /// Every photo blob (under `events/`) with its last-modified time, for `reconcile`.
    pub async fn list(&self) -> CoreResult<Vec<(String, i64)>> {
        match self {
            BlobStore::Local(s) => s.list().await,
            BlobStore::Object(s) => s.list().await,
        }
    }

    /// The metadata stored with a blob (to rebuild the catalog from the store).
    pub async fn meta(&self, key: &str) -> CoreResult<Option<BlobMeta>> {
        match self {
            BlobStore::Local(s) => s.meta(key).await,
            BlobStore::Object(s) => s.meta(key).await,
        }
    }

    /// Bytes free where blobs are written, if the store can tell.
    pub async fn free_space(&self) -> Option<u64> {
        match self {
            BlobStore::Local(s) => s.free_space().await,
            BlobStore::Object(_) => None,
        }
    }

    /// Writes, reads back and deletes a probe object (for `/readyz` and `ftpgate check`).
    pub async fn probe(&self) -> CoreResult<()> {
        if let BlobStore::Object(o) = self {
            // A LIST first: some S3 servers create a missing bucket on PUT, hiding the mistake.
            o.check_bucket().await?;
        }
        let key = format!(
            "probes/{}.probe",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let meta = BlobMeta {
            event: "-".into(),
            photographer: "-".into(),
            path: "probe".into(),
            sha256: String::new(),
            content_type: "application/octet-stream".into(),
            size: 13,
            mtime: crate::base::domain::now_millis(),
        };
        let mut w = self.writer(&key, &meta).await?;
        w.write(Bytes::from_static(b"ftpgate probe")).await?;
        w.finish(&meta).await?;
        let mut s = self.read(&key, 0).await?;
        let mut got = Vec::new();
        use futures_util::StreamExt;
        while let Some(chunk) = s.next().await {
            got.extend_from_slice(&chunk?);
        }
        self.delete(&key).await?;
        if got != b"ftpgate probe" {
            return Err(crate::base::error::CoreError::Storage(
                "probe object read back wrong bytes".into(),
            ));
        }
        Ok(())
    }
}

impl BlobWriter {
    pub async fn write(&mut self, data: Bytes) -> CoreResult<()> {
        match self {
            BlobWriter::Local(w) => w.write(data).await,
            BlobWriter::Object(w) => w.write(data).await,
        }
    }

    /// Makes the blob durable and visible under its key. Only after this returns may the
    /// catalog point at it.
    pub async fn finish(self, meta: &BlobMeta) -> CoreResult<()> {
        match self {
            BlobWriter::Local(w) => w.finish(Some(meta)).await,
            BlobWriter::Object(w) => w.finish(meta).await,
        }
    }

    /// Discards everything written; nothing stays behind.
    pub async fn abort(self) {
        match self {
            BlobWriter::Local(w) => w.abort().await,
            BlobWriter::Object(w) => w.abort().await,
        }
    }
}
