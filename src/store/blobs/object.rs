//! Blobs in an object store (S3, Cloudflare R2, any S3-compatible server; memory in tests).
//!
//! Memory is bounded twice: each upload buffers at most a few parts, and all uploads together
//! draw their buffers from one budget (a semaphore counted in KiB). A new upload waits for its
//! first block (backpressure on its HTTP or FTP stream) instead of growing memory; an upload
//! that cannot get another block while others hold the budget flushes what it has as a
//! multipart part and reuses the block, so every upload can always make progress.
//!
//! R2's rules (which local S3 servers do not enforce): every non-final part has the same size;
//! one PUT below the threshold; no `x-amz-checksum-*` headers; R2's own copy-if-not-exists
//! header; ASCII keys (we generate them).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, GetRange, MultipartUpload,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, RetryConfig,
};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{BlobMeta, BlobStream};
use crate::base::config::BlobsConfig;
use crate::base::error::{CoreError, CoreResult};

const MIB: usize = 1024 * 1024;
/// Where multipart blobs keep the metadata only known at the end (their SHA-256).
pub const META_PREFIX: &str = "meta";

#[derive(Clone, Debug)]
pub struct Sizes {
    pub part: usize,
    pub threshold: usize,
}

#[derive(Clone)]
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    prefix: Option<String>,
    budget: Arc<Semaphore>,
    sizes: Sizes,
    pub describe: String,
}

/// Is this endpoint Cloudflare R2? Its rules get applied even where a test server is lax.
pub fn is_r2(endpoint: Option<&str>) -> bool {
    endpoint.is_some_and(|e| e.contains(".r2.cloudflarestorage.com"))
}

/// The S3 client settings for `s3://bucket/prefix`, separate so tests can check R2's rules.
pub fn s3_builder(cfg: &BlobsConfig, bucket: &str) -> AmazonS3Builder {
    // from_env picks up AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT…
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(e) = &cfg.endpoint {
        b = b.with_endpoint(e);
    }
    // allow_http lives in the client options, set below (setting it on the builder first would
    // be overwritten by with_client_options).
    let allow_http = cfg.allow_http.unwrap_or_else(|| {
        cfg.endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
    });
    let region = cfg.region.clone().unwrap_or_else(|| {
        if is_r2(cfg.endpoint.as_deref()) {
            "auto".into()
        } else {
            "us-east-1".into()
        }
    });
    b = b.with_region(region);
    if let Some(k) = &cfg.access_key_id {
        b = b.with_access_key_id(k);
    }
    if let Some(s) = &cfg.secret_access_key {
        b = b.with_secret_access_key(s);
    }
    let path_style = cfg
        .path_style
        .unwrap_or(!is_r2(cfg.endpoint.as_deref()) && cfg.endpoint.is_some());
    b = b.with_virtual_hosted_style_request(!path_style);
    if is_r2(cfg.endpoint.as_deref()) {
        b = b.with_copy_if_not_exists(S3CopyIfNotExists::Header(
            "cf-copy-destination-if-none-match".into(),
            "*".into(),
        ));
    }
    let retry_timeout = Duration::from_secs(cfg.retry_timeout_secs.unwrap_or(15));
    b.with_retry(RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3),
            base: 2.0,
        },
        max_retries: 5,
        retry_timeout,
    })
    .with_client_options(
        ClientOptions::new()
            .with_allow_http(allow_http)
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(120)),
    )
}

/// Object metadata headers must be ASCII: the client path is percent-encoded.
fn attributes(meta: &BlobMeta, with_checksum: bool) -> Attributes {
    let mut a = Attributes::new();
    a.insert(Attribute::ContentType, meta.content_type.clone().into());
    a.insert(
        Attribute::Metadata("ftpgate-event".into()),
        meta.event.clone().into(),
    );
    a.insert(
        Attribute::Metadata("ftpgate-photographer".into()),
        meta.photographer.clone().into(),
    );
    a.insert(
        Attribute::Metadata("ftpgate-path".into()),
        utf8_percent_encode(&meta.path, NON_ALPHANUMERIC)
            .to_string()
            .into(),
    );
    a.insert(
        Attribute::Metadata("ftpgate-mtime".into()),
        meta.mtime.to_string().into(),
    );
    if with_checksum {
        a.insert(
            Attribute::Metadata("ftpgate-sha256".into()),
            meta.sha256.clone().into(),
        );
        a.insert(
            Attribute::Metadata("ftpgate-size".into()),
            meta.size.to_string().into(),
        );
    }
    a
}

impl ObjectBlobs {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: Option<String>,
        budget_mib: u64,
        sizes: Sizes,
        describe: String,
    ) -> Self {
        let kib = usize::try_from(budget_mib.saturating_mul(1024))
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        ObjectBlobs {
            store,
            prefix,
            budget: Arc::new(Semaphore::new(kib)),
            sizes,
            describe,
        }
    }

    /// `s3://BUCKET[/prefix]` with `blobs.*` settings.
    pub fn s3(cfg: &BlobsConfig, url: &str) -> CoreResult<ObjectBlobs> {
        // The S3 client's TLS needs a process-wide rustls provider (aws-lc-rs, our only one).
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let rest = url.trim_start_matches("s3://");
        let (bucket, prefix) = match rest.split_once('/') {
            Some((b, p)) => (
                b,
                Some(p.trim_matches('/').to_string()).filter(|p| !p.is_empty()),
            ),
            None => (rest, None),
        };
        if bucket.is_empty() {
            return Err(CoreError::Storage(format!(
                "blobs.url {url:?} names no bucket"
            )));
        }
        let builder = s3_builder(cfg, bucket);
        // Without explicit keys the AWS client would ask the cloud instance-metadata service:
        // refuse instead, with the sentence an operator needs.
        use object_store::aws::AmazonS3ConfigKey as K;
        let missing = |k: K| builder.get_config_value(&k).is_none_or(|v| v.is_empty());
        if missing(K::AccessKeyId) || missing(K::SecretAccessKey) {
            return Err(CoreError::Storage(
                "S3 credentials missing: set blobs.access_key_id and blobs.secret_access_key (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)".into(),
            ));
        }
        let store = builder
            .build()
            .map_err(|e| CoreError::Storage(format!("invalid S3 settings: {e}")))?;
        let part = cfg.part_size_mib.unwrap_or(8).max(5) as usize * MIB;
        let threshold = cfg.multipart_threshold_mib.unwrap_or(32) as usize * MIB;
        let describe = format!(
            "s3://{bucket}{} at {}",
            prefix
                .as_deref()
                .map(|p| format!("/{p}"))
                .unwrap_or_default(),
            cfg.endpoint.as_deref().unwrap_or("AWS")
        );
        Ok(Self::new(
            Arc::new(store),
            prefix,
            cfg.upload_budget_mib.unwrap_or(256),
            Sizes { part, threshold },
            describe,
        ))
    }

    fn path(&self, key: &str) -> Path {
        match &self.prefix {
            Some(p) => Path::from(format!("{p}/{key}")),
            None => Path::from(key),
        }
    }

    fn block_kib(&self) -> u32 {
        u32::try_from(self.sizes.part / 1024).unwrap_or(u32::MAX)
    }

    pub async fn writer(&self, key: &str, meta: &BlobMeta) -> CoreResult<ObjectWriter> {
        Ok(ObjectWriter {
            blobs: self.clone(),
            path: self.path(key),
            meta_path: self.path(&format!("{META_PREFIX}/{key}.json")),
            meta: meta.clone(),
            full: Vec::new(),
            cur: BytesMut::new(),
            held: Vec::new(),
            upload: None,
            parts: 0,
        })
    }

    pub async fn read(&self, key: &str, offset: u64) -> CoreResult<BlobStream> {
        let opts = GetOptions {
            range: (offset > 0).then_some(GetRange::Offset(offset)),
            ..Default::default()
        };
        let res = self.store.get_opts(&self.path(key), opts).await?;
        Ok(res
            .into_stream()
            .map(|r| r.map_err(std::io::Error::other))
            .boxed())
    }

    pub async fn delete(&self, key: &str) -> CoreResult<()> {
        for p in [
            self.path(key),
            self.path(&format!("{META_PREFIX}/{key}.json")),
        ] {
            match self.store.delete(&p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

impl ObjectBlobs {
    pub async fn check_bucket(&self) -> CoreResult<()> {
        self.store
            .list_with_delimiter(Some(&self.path("probes")))
            .await?;
        Ok(())
    }

    pub async fn list(&self) -> CoreResult<Vec<(String, i64)>> {
        let prefix = self.path("events");
        let strip = self
            .prefix
            .as_ref()
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        let mut out = Vec::new();
        let mut s = self.store.list(Some(&prefix));
        while let Some(m) = s.next().await {
            let m = m?;
            let key = m
                .location
                .as_ref()
                .strip_prefix(strip.as_str())
                .unwrap_or(m.location.as_ref())
                .to_string();
            out.push((key, m.last_modified.timestamp_millis()));
        }
        Ok(out)
    }

    /// Metadata from the object's headers, completed by the sidecar for multipart blobs.
    pub async fn meta(&self, key: &str) -> CoreResult<Option<BlobMeta>> {
        let sidecar = self.path(&format!("{META_PREFIX}/{key}.json"));
        if let Ok(r) = self.store.get(&sidecar).await
            && let Ok(b) = r.bytes().await
            && let Ok(m) = serde_json::from_slice::<BlobMeta>(&b)
        {
            return Ok(Some(m));
        }
        let r = match self
            .store
            .get_opts(
                &self.path(key),
                GetOptions {
                    head: true,
                    ..Default::default()
                },
            )
            .await
        {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let get = |k: &'static str| {
            r.attributes
                .get(&Attribute::Metadata(k.into()))
                .map(|v| v.as_ref().to_string())
        };
        let (Some(event), Some(photographer), Some(path), Some(sha256)) = (
            get("ftpgate-event"),
            get("ftpgate-photographer"),
            get("ftpgate-path"),
            get("ftpgate-sha256"),
        ) else {
            return Ok(None);
        };
        let path = percent_encoding::percent_decode_str(&path)
            .decode_utf8_lossy()
            .into_owned();
        Ok(Some(BlobMeta {
            event,
            photographer,
            path,
            sha256,
            content_type: r
                .attributes
                .get(&Attribute::ContentType)
                .map(|v| v.as_ref().to_string())
                .unwrap_or_default(),
            size: r.meta.size,
            mtime: get("ftpgate-mtime")
                .and_then(|m| m.parse().ok())
                .unwrap_or(0),
        }))
    }
}

/// One upload's buffers: full blocks waiting to be sent, the block being filled, and the
/// budget permits backing them.
pub struct ObjectWriter {
    blobs: ObjectBlobs,
    path: Path,
    meta_path: Path,
    meta: BlobMeta,
    full: Vec<Bytes>,
    cur: BytesMut,
    held: Vec<OwnedSemaphorePermit>,
    upload: Option<Box<dyn MultipartUpload>>,
    parts: usize,
}

impl ObjectWriter {
    fn part(&self) -> usize {
        self.blobs.sizes.part
    }

    /// Not a method on `&self`: the writer is not `Sync`, so no borrow of it may cross an await.
    async fn acquire(budget: Arc<Semaphore>, kib: u32) -> CoreResult<OwnedSemaphorePermit> {
        budget
            .acquire_many_owned(kib)
            .await
            .map_err(|_| CoreError::Storage("upload budget closed".into()))
    }

    /// Sends every full block as a multipart part (starting the upload if needed). Keeps one
    /// permit to reuse for the next block and gives the rest back to the budget.
    async fn flush_full(&mut self) -> CoreResult<()> {
        if self.full.is_empty() {
            return Ok(());
        }
        if self.upload.is_none() {
            let opts = PutMultipartOptions {
                attributes: attributes(&self.meta, false),
                ..Default::default()
            };
            self.upload = Some(
                self.blobs
                    .store
                    .put_multipart_opts(&self.path, opts)
                    .await?,
            );
        }
        for block in std::mem::take(&mut self.full) {
            debug_assert_eq!(block.len(), self.part());
            if let Some(up) = self.upload.as_mut() {
                up.put_part(PutPayload::from(block)).await?;
                self.parts += 1;
            }
        }
        self.held.truncate(1);
        Ok(())
    }

    pub async fn write(&mut self, mut data: Bytes) -> CoreResult<()> {
        let part = self.part();
        while !data.is_empty() {
            if self.cur.is_empty() && self.held.len() == self.full.len() {
                // A new block is needed for `cur`.
                if self.upload.is_some()
                    || (self.full.len() + 1) * part > self.blobs.sizes.threshold
                {
                    self.flush_full().await?;
                }
                if self.held.len() == self.full.len() {
                    if self.full.is_empty() {
                        let p = Self::acquire(self.blobs.budget.clone(), self.blobs.block_kib())
                            .await?;
                        self.held.push(p);
                    } else {
                        match self
                            .blobs
                            .budget
                            .clone()
                            .try_acquire_many_owned(self.blobs.block_kib())
                        {
                            Ok(p) => self.held.push(p),
                            Err(_) => self.flush_full().await?,
                        }
                    }
                }
                self.cur.reserve(part);
            }
            let take = (part - self.cur.len()).min(data.len());
            self.cur.extend_from_slice(&data.split_to(take));
            if self.cur.len() == part {
                self.full.push(self.cur.split().freeze());
            }
        }
        Ok(())
    }

    pub async fn finish(mut self, meta: &BlobMeta) -> CoreResult<()> {
        self.meta = meta.clone();
        if self.upload.is_none() {
            let mut blocks = std::mem::take(&mut self.full);
            if !self.cur.is_empty() {
                blocks.push(self.cur.split().freeze());
            }
            let payload: PutPayload = blocks.into_iter().collect();
            let opts = PutOptions {
                attributes: attributes(meta, true),
                ..Default::default()
            };
            self.blobs.store.put_opts(&self.path, payload, opts).await?;
        } else {
            self.flush_full().await?;
            if !self.cur.is_empty() {
                let last = self.cur.split().freeze();
                if let Some(up) = self.upload.as_mut() {
                    up.put_part(PutPayload::from(last)).await?;
                }
            }
            if let Some(mut up) = self.upload.take()
                && let Err(e) = up.complete().await
            {
                let _ = up.abort().await;
                return Err(e.into());
            }
            // The checksum is known only now; it goes into a small sidecar object.
            let json = serde_json::to_vec(meta).map_err(|e| CoreError::Storage(e.to_string()))?;
            let opts = PutOptions {
                attributes: attributes(meta, true),
                ..Default::default()
            };
            if let Err(e) = self
                .blobs
                .store
                .put_opts(&self.meta_path, json.into(), opts)
                .await
            {
                let _ = self.blobs.store.delete(&self.path).await;
                return Err(e.into());
            }
        }
        self.held.clear();
        Ok(())
    }

    pub async fn abort(mut self) {
        if let Some(mut up) = self.upload.take()
            && let Err(e) = up.abort().await
        {
            tracing::warn!(error = %e, path = %self.path, "could not abort a multipart upload; the bucket's lifecycle rule will");
        }
    }
}

impl Drop for ObjectWriter {
    /// Dropped mid-upload (a cancelled task): abort the multipart upload in the background.
    fn drop(&mut self) {
        if let Some(mut up) = self.upload.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move {
                let _ = up.abort().await;
            });
        }
    }
}

/// Turns an object-store failure into the sentence an operator needs (for `ftpgate check`).
pub fn explain(e: &CoreError) -> String {
    let s = e.to_string();
    let has = |needle: &str| s.contains(needle);
    // The HTTP status as object_store words it; a bare "403" would also match request ids.
    let status =
        |code: &str| has(&format!("status code: {code}")) || has(&format!("status {code}"));
    if has("NoSuchBucket") || (status("404") && has("ucket")) {
        format!("the bucket does not exist (check blobs.url): {s}")
    } else if has("SignatureDoesNotMatch")
        || has("InvalidAccessKeyId")
        || has("AccessDenied")
        || status("403")
    {
        format!(
            "the S3 credentials were refused (check blobs.access_key_id / blobs.secret_access_key): {s}"
        )
    } else if has("onnect") || has("error sending request") || has("dns") || has("timed out") {
        format!("cannot reach the S3 endpoint (check blobs.endpoint and the network): {s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::aws::AmazonS3ConfigKey;
    use object_store::memory::InMemory;

    fn meta() -> BlobMeta {
        BlobMeta {
            event: "ev".into(),
            photographer: "al".into(),
            path: "dír/a.jpg".into(),
            sha256: "00".into(),
            content_type: "image/jpeg".into(),
            size: 0,
            mtime: 1,
        }
    }

    fn small_store(budget_mib: u64) -> ObjectBlobs {
        // 1 KiB parts, multipart above 4 KiB: the same logic at test scale.
        let sizes = Sizes {
            part: 1024,
            threshold: 4096,
        };
        let mut b = ObjectBlobs::new(
            Arc::new(InMemory::new()),
            Some("pre".into()),
            1,
            sizes,
            "mem".into(),
        );
        b.budget = Arc::new(Semaphore::new(budget_mib as usize));
        b
    }

    async fn write_all(b: &ObjectBlobs, key: &str, data: &[u8], chunk: usize) -> ObjectWriter {
        let mut w = b.writer(key, &meta()).await.unwrap();
        for c in data.chunks(chunk) {
            w.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        w
    }

    async fn read_back(b: &ObjectBlobs, key: &str) -> Vec<u8> {
        let mut s = b.read(key, 0).await.unwrap();
        let mut out = Vec::new();
        while let Some(c) = s.next().await {
            out.extend_from_slice(&c.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn small_files_are_one_put_with_metadata() {
        let b = small_store(64);
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let w = write_all(&b, "k1", &data, 333).await;
        assert!(w.upload.is_none(), "below the threshold: no multipart");
        let mut m = meta();
        m.sha256 = "abc".into();
        w.finish(&m).await.unwrap();
        assert_eq!(read_back(&b, "k1").await, data);
        let got = b
            .store
            .get_opts(
                &b.path("k1"),
                GetOptions {
                    head: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            got.attributes
                .get(&Attribute::Metadata("ftpgate-sha256".into()))
                .map(|v| v.as_ref()),
            Some("abc")
        );
        assert_eq!(
            got.attributes
                .get(&Attribute::Metadata("ftpgate-path".into()))
                .map(|v| v.as_ref()),
            Some("d%C3%ADr%2Fa%2Ejpg")
        );
        assert_eq!(b.budget.available_permits(), 64, "budget returned");
    }

    #[tokio::test]
    async fn large_files_go_multipart_with_equal_parts() {
        let b = small_store(64);
        let data: Vec<u8> = (0..10_500u32).map(|i| (i * 7) as u8).collect();
        let w = write_all(&b, "k2", &data, 700).await;
        assert!(w.upload.is_some());
        // Parts sent so far are all exactly one part size.
        assert!(w.parts >= 4);
        w.finish(&meta()).await.unwrap();
        assert_eq!(read_back(&b, "k2").await, data);
        assert!(
            b.store
                .head(&b.path(&format!("{META_PREFIX}/k2.json")))
                .await
                .is_ok(),
            "sidecar written"
        );
        assert_eq!(b.budget.available_permits(), 64);
    }

    #[tokio::test]
    async fn budget_pressure_flushes_instead_of_deadlocking() {
        // Budget of exactly one block: every upload must still complete, one at a time.
        let b = small_store(1);
        let data: Vec<u8> = vec![7u8; 3500];
        let mut tasks = Vec::new();
        for i in 0..4 {
            let b = b.clone();
            let data = data.clone();
            tasks.push(tokio::spawn(async move {
                let w = write_all(&b, &format!("p{i}"), &data, 100).await;
                w.finish(&meta()).await.unwrap();
            }));
        }
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("no deadlock")
                .unwrap();
        }
        for i in 0..4 {
            assert_eq!(read_back(&b, &format!("p{i}")).await, data);
        }
    }

    #[tokio::test]
    async fn abort_leaves_nothing() {
        let b = small_store(64);
        let w = write_all(&b, "k3", &vec![1u8; 9000], 1000).await;
        w.abort().await;
        assert!(b.store.head(&b.path("k3")).await.is_err());
        let listed: Vec<_> = b.store.list(None).collect().await;
        assert!(listed.is_empty());
    }

    #[test]
    fn r2_rules_in_the_client_settings() {
        let cfg = BlobsConfig {
            endpoint: Some("https://acct.r2.cloudflarestorage.com".into()),
            access_key_id: Some("k".into()),
            secret_access_key: Some("s".into()),
            ..Default::default()
        };
        let b = s3_builder(&cfg, "photos");
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::Region).as_deref(),
            Some("auto")
        );
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::CopyIfNotExists)
                .as_deref(),
            Some("header: cf-copy-destination-if-none-match: *")
        );
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::Checksum),
            None,
            "R2 rejects x-amz-checksum-* headers"
        );
        let plain = s3_builder(
            &BlobsConfig {
                endpoint: Some("http://127.0.0.1:8333".into()),
                ..Default::default()
            },
            "b",
        );
        assert_eq!(
            plain.get_config_value(&AmazonS3ConfigKey::CopyIfNotExists),
            None
        );
        assert_eq!(
            plain
                .get_config_value(&AmazonS3ConfigKey::VirtualHostedStyleRequest)
                .as_deref(),
            Some("false")
        );
    }

    #[test]
    fn operator_messages_are_specific() {
        let e = |s: &str| explain(&CoreError::Storage(s.into()));
        assert!(e("... SignatureDoesNotMatch ...").contains("credentials"));
        assert!(e("NoSuchBucket").contains("bucket does not exist"));
        assert!(e("error sending request: Connection refused").contains("cannot reach"));
        // SeaweedFS's answers, request ids included: "403" inside an id is no status.
        let missing = "Error performing GET http://127.0.0.1:1/no-such-bucket?list-type=2 in \
            1ms - Server returned non-2xx status code: 404 Not Found: <Error><Code>NoSuchBucket\
            </Code><RequestId>18EC403B74FD45E1602A63B4</RequestId></Error>";
        assert!(
            e(missing).contains("bucket does not exist"),
            "{}",
            e(missing)
        );
        let refused = "Error performing GET http://127.0.0.1:1/b in 1ms - Server returned \
            non-2xx status code: 403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code>\
            <RequestId>18EC404B</RequestId></Error>";
        assert!(e(refused).contains("credentials"));
        assert!(e("Server returned non-2xx status code: 403 Forbidden: ").contains("credentials"));
        assert!(!e("request id 403403: something else").contains("credentials"));
    }
}
