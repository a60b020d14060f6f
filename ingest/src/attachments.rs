//! Files attached to reports: kind found by sniffing the bytes (never the
//! client's header), named by SHA-256, and durable before the report that
//! refers to them is published: synced under `data_dir/attachments/ab/abcdef…`,
//! or stored in an S3-compatible bucket (`[attachments.s3]`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::Attachment;
use object_store::ObjectStoreExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::config::S3Config;

/// The kinds a report may carry: photos, documents, voice notes and short videos.
const ALLOWED: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heif",
    "image/avif",
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "audio/ogg",
    "audio/mpeg",
    "audio/m4a",
    "audio/x-m4a",
    "audio/amr",
    "audio/x-wav",
    "video/mp4",
    "video/3gpp",
    "video/quicktime",
];

/// Where attachments are kept. Cheap to clone.
#[derive(Debug, Clone)]
pub enum AttachmentStore {
    Local { root: PathBuf },
    S3 { store: Arc<AmazonS3>, bucket: String, prefix: String },
}

impl AttachmentStore {
    pub fn local(root: &Path) -> Self {
        Self::Local { root: root.to_owned() }
    }

    pub fn s3(config: &S3Config) -> Result<Self, Error> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&config.endpoint)
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.endpoint.starts_with("http://"))
            .build()
            .map_err(|e| Error::Storage(format!("attachments.s3: {e}")))?;
        Ok(Self::S3 { store: Arc::new(store), bucket: config.bucket.clone(), prefix: config.prefix.clone() })
    }

    /// The kind of `bytes`, if it is one a report may carry.
    pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
        let kind = infer::get(bytes)?.mime_type();
        ALLOWED.iter().copied().find(|k| *k == kind)
    }

    /// Checks and stores one file; returns its metadata for the report once
    /// the bytes are durable.
    pub async fn save(&self, name: &str, bytes: Vec<u8>) -> Result<Attachment, Error> {
        let unsupported = || Error::Unsupported {
            message: format!(
                "attachment `{}` is not a kind reports may carry: send photos (JPEG, PNG, WebP), \
                 PDF or office documents, voice notes or short videos",
                crate::quote(name)
            ),
            pesan: format!(
                "lampiran `{}` bukan jenis yang dapat dibawa laporan: kirim foto (JPEG, PNG, WebP), PDF atau \
                 dokumen kantor, pesan suara atau video pendek",
                crate::quote(name)
            ),
        };
        let (content_type, sha256, bytes) = tokio::task::spawn_blocking(move || {
            let kind = Self::sniff(&bytes);
            let sha = hex::encode(Sha256::digest(&bytes));
            (kind, sha, bytes)
        })
        .await
        .map_err(|e| Error::Storage(e.to_string()))?;
        let content_type = content_type.ok_or_else(unsupported)?;
        let key = format!("{}/{sha256}", &sha256[..2]);
        let size = bytes.len() as u64;
        let location = match self {
            Self::Local { root } => {
                let root = root.clone();
                let k = key.clone();
                tokio::task::spawn_blocking(move || write_synced(&root, &k, &bytes))
                    .await
                    .map_err(|e| Error::Storage(e.to_string()))??;
                key
            }
            Self::S3 { store, bucket, prefix } => {
                let path = object_store::path::Path::from(format!("{prefix}{key}"));
                store
                    .put(&path, bytes.into())
                    .await
                    .map_err(|e| Error::Storage(format!("attachment upload to bucket {bucket}: {e}")))?;
                format!("s3://{bucket}/{path}")
            }
        };
        Ok(Attachment { name: sanitize(name), content_type: content_type.to_owned(), size, sha256, location })
    }
}

/// The bytes of a stored attachment, in chunks.
pub type Chunks = futures_util::stream::BoxStream<'static, Result<Vec<u8>, Error>>;

impl AttachmentStore {
    /// The bytes of the attachment whose SHA-256 is `sha256`, found by that
    /// name alone (never by a path taken from a report); `None` when it is
    /// not a SHA-256 or the store does not have it.
    pub async fn open(&self, sha256: &str) -> Result<Option<Chunks>, Error> {
        use futures_util::StreamExt;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Ok(None);
        }
        let key = format!("{}/{sha256}", &sha256[..2]);
        match self {
            Self::Local { root } => {
                let path = root.join(&key);
                let file = match tokio::fs::File::open(&path).await {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => {
                        tracing::error!(path = %path.display(), error = %e, "cannot read an attachment");
                        return Err(Error::Storage(format!("attachment storage: {e}")));
                    }
                };
                let chunks = futures_util::stream::try_unfold(file, |mut file| async move {
                    use tokio::io::AsyncReadExt;
                    let mut chunk = vec![0; 64 * 1024];
                    let n =
                        file.read(&mut chunk).await.map_err(|e| Error::Storage(format!("attachment storage: {e}")))?;
                    chunk.truncate(n);
                    Ok((n > 0).then_some((chunk, file)))
                });
                Ok(Some(chunks.boxed()))
            }
            Self::S3 { store, bucket, prefix } => {
                let path = object_store::path::Path::from(format!("{prefix}{key}"));
                match store.get(&path).await {
                    Ok(found) => {
                        let bucket = bucket.clone();
                        let chunks = found.into_stream().map(move |chunk| {
                            chunk
                                .map(|bytes| bytes.to_vec())
                                .map_err(|e| Error::Storage(format!("attachment download from bucket {bucket}: {e}")))
                        });
                        Ok(Some(chunks.boxed()))
                    }
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(Error::Storage(format!("attachment download from bucket {bucket}: {e}"))),
                }
            }
        }
    }
}

/// Writes aside, syncs, then renames, so a crash never leaves half a file
/// under the final name; a failed write (a full disk) leaves nothing. The
/// error a client is told names no path; the log has it.
fn write_synced(root: &Path, key: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = root.join(key);
    let fail = |e: std::io::Error| {
        tracing::error!(path = %path.display(), error = %e, "cannot store an attachment");
        Error::Storage(format!("attachment storage: {e}"))
    };
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(fail)?;
    let tmp = dir.join(format!(".{}.tmp", key.replace('/', "_")));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    std::fs::rename(&tmp, &path).map_err(fail)?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(fail)
}

/// Keeps a file name printable and path-free.
fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() { "lampiran".into() } else { clean }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1,
        8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];

    #[tokio::test]
    async fn sniffs_and_stores_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::local(dir.path());
        let a = store.save("../../etc/foto.png", PNG.to_vec()).await.unwrap();
        assert_eq!(a.content_type, "image/png");
        assert_eq!(a.name, "foto.png");
        assert_eq!(std::fs::read(dir.path().join(&a.location)).unwrap(), PNG);
        // a script calling itself a photo is refused
        let err = store.save("foto.jpg", b"#!/bin/sh\nrm -rf /\n".to_vec()).await.unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    }

    #[tokio::test]
    async fn opens_by_sha256_only() {
        use futures_util::TryStreamExt;
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::local(dir.path());
        let a = store.save("foto.png", PNG.to_vec()).await.unwrap();
        let chunks: Vec<Vec<u8>> = store.open(&a.sha256).await.unwrap().unwrap().try_collect().await.unwrap();
        assert_eq!(chunks.concat(), PNG);
        // unknown, or not a SHA-256 at all (a path is never followed)
        assert!(store.open(&"0".repeat(64)).await.unwrap().is_none());
        std::fs::write(dir.path().join("secret"), b"x").unwrap();
        for bad in ["../secret", "secret", &a.sha256.to_uppercase(), &a.sha256[..63]] {
            assert!(store.open(bad).await.unwrap().is_none(), "{bad}");
        }
    }
}
