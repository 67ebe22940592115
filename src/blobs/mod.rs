//! The blob store: where photo bytes live, under immutable keys
//! (`events/{event}/{photographer}/{ulid}.{ext}`) that never change when a file is renamed.
//!
//! Two implementations behind one interface: a local directory (the embedded default; durable
//! with fsync before a commit) and any `object_store` backend (S3 / R2, memory in unit tests).
//! Writers stream: memory per upload is bounded and nothing is visible until `finish`.

mod local;

pub use local::LocalStore;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::error::CoreResult;

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
}

pub enum BlobWriter {
    Local(local::LocalWriter),
}

/// A byte stream of a blob from some offset.
pub type BlobStream = BoxStream<'static, std::io::Result<Bytes>>;

impl BlobStore {
    /// From `blobs.url` (a path or `file://` URL); the default is `data_dir/blobs`.
    pub async fn open(cfg: &crate::config::Config) -> CoreResult<BlobStore> {
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
            Some(u) => Err(crate::error::CoreError::Storage(format!(
                "unsupported blobs.url {u:?}: use a directory path or file:///dir"
            ))),
        }
    }

    pub async fn writer(&self, key: &str) -> CoreResult<BlobWriter> {
        match self {
            BlobStore::Local(s) => Ok(BlobWriter::Local(s.writer(key).await?)),
        }
    }

    pub async fn read(&self, key: &str, offset: u64) -> CoreResult<BlobStream> {
        match self {
            BlobStore::Local(s) => s.read(key, offset).await,
        }
    }

    /// Deleting a blob that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> CoreResult<()> {
        match self {
            BlobStore::Local(s) => s.delete(key).await,
        }
    }

    /// Bytes free where blobs are written, if the store can tell.
    pub async fn free_space(&self) -> Option<u64> {
        match self {
            BlobStore::Local(s) => s.free_space().await,
        }
    }

    /// Writes, reads back and deletes a probe object (for `/readyz` and `ftpgate check`).
    pub async fn probe(&self) -> CoreResult<()> {
        let key = format!("probes/{}.probe", ulid::Ulid::new());
        let mut w = self.writer(&key).await?;
        w.write(Bytes::from_static(b"ftpgate probe")).await?;
        w.finish(None).await?;
        let mut s = self.read(&key, 0).await?;
        let mut got = Vec::new();
        use futures_util::StreamExt;
        while let Some(chunk) = s.next().await {
            got.extend_from_slice(&chunk?);
        }
        self.delete(&key).await?;
        if got != b"ftpgate probe" {
            return Err(crate::error::CoreError::Storage(
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
        }
    }

    /// Makes the blob durable and visible under its key. Only after this returns may the
    /// catalog point at it.
    pub async fn finish(self, meta: Option<&BlobMeta>) -> CoreResult<()> {
        match self {
            BlobWriter::Local(w) => w.finish(meta).await,
        }
    }

    /// Discards everything written; nothing stays behind.
    pub async fn abort(self) {
        match self {
            BlobWriter::Local(w) => w.abort().await,
        }
    }
}
