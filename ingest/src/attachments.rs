//! Files attached to reports: kind found by sniffing the bytes (never the
//! client's header), content-addressed by SHA-256 under
//! `data_dir/attachments/ab/abcdef…`, and synced to disk before the report
//! that refers to them is published.

use std::io::Write;
use std::path::{Path, PathBuf};

use model::Attachment;
use sha2::{Digest, Sha256};

use crate::Error;

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

/// Where attachments are kept.
#[derive(Debug, Clone)]
pub struct AttachmentStore {
    root: PathBuf,
}

impl AttachmentStore {
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_owned() }
    }

    /// The kind of `bytes`, if it is one a report may carry.
    pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
        let kind = infer::get(bytes)?.mime_type();
        ALLOWED.iter().copied().find(|k| *k == kind)
    }

    /// Checks and stores one file; returns its metadata for the report.
    pub fn save(&self, name: &str, bytes: &[u8]) -> Result<Attachment, Error> {
        let content_type = Self::sniff(bytes).ok_or_else(|| Error::Unsupported {
            message: format!(
                "attachment `{name}` is not a kind reports may carry: send photos (JPEG, PNG, WebP), \
                 PDF or office documents, voice notes or short videos"
            ),
        })?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let location = format!("{}/{}", &sha256[..2], sha256);
        let path = self.root.join(&location);
        let fail = |e: std::io::Error| Error::Storage(format!("{}: {e}", path.display()));
        if !path.exists() {
            let dir = path.parent().unwrap_or(&self.root);
            std::fs::create_dir_all(dir).map_err(fail)?;
            // Write aside, sync, then rename, so a crash never leaves half a file
            // under the final name.
            let tmp = dir.join(format!(".{sha256}.tmp"));
            let mut file = std::fs::File::create(&tmp).map_err(fail)?;
            file.write_all(bytes).map_err(fail)?;
            file.sync_all().map_err(fail)?;
            std::fs::rename(&tmp, &path).map_err(fail)?;
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(fail)?;
        }
        Ok(Attachment {
            name: sanitize(name),
            content_type: content_type.to_owned(),
            size: bytes.len() as u64,
            sha256,
            location,
        })
    }

    /// The bytes of a stored attachment.
    pub fn path(&self, attachment: &Attachment) -> PathBuf {
        self.root.join(&attachment.location)
    }
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

    #[test]
    fn sniffs_and_stores_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::new(dir.path());
        let a = store.save("../../etc/foto.png", PNG).unwrap();
        assert_eq!(a.content_type, "image/png");
        assert_eq!(a.name, "foto.png");
        assert_eq!(std::fs::read(store.path(&a)).unwrap(), PNG);
        // a script calling itself a photo is refused
        let err = store.save("foto.jpg", b"#!/bin/sh\nrm -rf /\n").unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    }
}
