//! Object-level S3 calls of the state backend: get, conditional put and delete, list, and
//! the check that the endpoint honours conditional writes.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::{S3Store, Written};
use crate::error::StateError;

impl S3Store {
    pub(super) fn sdk_error<E>(
        &self,
        what: &str,
        key: &str,
        error: SdkError<E, HttpResponse>,
    ) -> StateError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let hint = match http_status(&error) {
            Some(404) => format!(
                " (does bucket `{}` exist? `plinth bootstrap` creates it)",
                self.settings.bucket
            ),
            Some(403) => {
                " (access denied: check the credentials and the bucket policy)".to_string()
            }
            _ => String::new(),
        };
        StateError::Backend(format!(
            "{what} {}: {}{hint}",
            self.location(key),
            DisplayErrorContext(&error)
        ))
    }

    pub(super) async fn get(
        &self,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, StateError> {
        match self
            .client()
            .await
            .get_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => {
                let etag = output.e_tag().map(str::to_string);
                Ok(Some((self.read_body(key, output.body).await?, etag)))
            }
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) if http_status(&error) == Some(404) && !is_no_such_bucket(&error) => {
                Ok(None)
            }
            Err(error) => Err(self.sdk_error("reading", key, error)),
        }
    }

    /// `if_match = None` means create-only (`If-None-Match: *`).
    pub(super) async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        if_match: Option<&str>,
    ) -> Result<Written, StateError> {
        let mut request = self
            .client()
            .await
            .put_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(bytes));
        request = match if_match {
            Some(etag) => request.if_match(etag),
            None => request.if_none_match("*"),
        };
        match request.send().await {
            Ok(output) => Ok(Written::Stored(output.e_tag().map(str::to_string))),
            Err(error) if matches!(http_status(&error), Some(412) | Some(409)) => {
                Ok(Written::PreconditionFailed)
            }
            Err(error) => Err(self.sdk_error("writing", key, error)),
        }
    }

    pub(super) async fn delete(
        &self,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<bool, StateError> {
        let mut request = self
            .client()
            .await
            .delete_object()
            .bucket(&self.settings.bucket)
            .key(key);
        if let Some(etag) = if_match {
            request = request.if_match(etag);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error) if matches!(http_status(&error), Some(412) | Some(409)) => Ok(false),
            Err(error) if http_status(&error) == Some(404) => Ok(true),
            Err(error) => Err(self.sdk_error("deleting", key, error)),
        }
    }

    /// The versions of `key` in a versioned bucket, newest first: `(version id, is the
    /// current version, is a delete marker)`. Empty when the bucket keeps no versions.
    pub(super) async fn versions(
        &self,
        key: &str,
    ) -> Result<Vec<(String, bool, bool)>, StateError> {
        let listed = self
            .client()
            .await
            .list_object_versions()
            .bucket(&self.settings.bucket)
            .prefix(key)
            .send()
            .await
            .map_err(|e| self.sdk_error("listing the versions of", key, e))?;
        let mut out: Vec<(String, bool, bool, Option<aws_sdk_s3::primitives::DateTime>)> =
            Vec::new();
        for version in listed.versions() {
            if version.key() == Some(key) {
                if let Some(id) = version.version_id().filter(|id| *id != "null") {
                    let latest = version.is_latest().unwrap_or(false);
                    out.push((
                        id.to_string(),
                        latest,
                        false,
                        version.last_modified().cloned(),
                    ));
                }
            }
        }
        for marker in listed.delete_markers() {
            if marker.key() == Some(key) {
                if let Some(id) = marker.version_id() {
                    let latest = marker.is_latest().unwrap_or(false);
                    out.push((
                        id.to_string(),
                        latest,
                        true,
                        marker.last_modified().cloned(),
                    ));
                }
            }
        }
        // Newest first: the current one, then by time.
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.3.cmp(&a.3)));
        Ok(out
            .into_iter()
            .map(|(id, latest, marker, _)| (id, latest, marker))
            .collect())
    }

    /// One version of `key`.
    pub(super) async fn get_version(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Vec<u8>, StateError> {
        let output = self
            .client()
            .await
            .get_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .map_err(|e| self.sdk_error("reading a version of", key, e))?;
        self.read_body(key, output.body).await
    }

    async fn read_body(&self, key: &str, body: ByteStream) -> Result<Vec<u8>, StateError> {
        let body = body.collect().await.map_err(|e| {
            StateError::Backend(format!(
                "reading {}: {}",
                self.location(key),
                DisplayErrorContext(&e)
            ))
        })?;
        Ok(body.into_bytes().to_vec())
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<String>, StateError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client()
            .await
            .list_objects_v2()
            .bucket(&self.settings.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.sdk_error("listing", prefix, e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        Ok(keys)
    }

    /// Checks once per store that the endpoint refuses a second create-only write and a
    /// write with a wrong `If-Match`; without both, locks and lost-race detection would
    /// silently not work.
    pub(super) async fn probe(&self) -> Result<(), StateError> {
        self.probed
            .get_or_try_init(|| async {
                // One fixed folder, so a bucket lifecycle rule can expire the probes' old
                // versions in a versioned bucket.
                let prefix = self.settings.prefix.trim_matches('/');
                let folder = if prefix.is_empty() { ".plinth-probe".to_string() } else { format!("{prefix}/.plinth-probe") };
                let key = format!("{folder}/{}-{}", self.stack, &crate::document::random_id()[..12]);
                let unsafe_endpoint = |reason: &str| StateError::Unsafe {
                    endpoint: self.endpoint(),
                    reason: format!(
                        "{reason}; Plinth needs conditional writes (`If-None-Match: *`, `If-Match`) \
                         for locks and lost-race detection. Use AWS S3 or a server that supports them."
                    ),
                };
                let first = self.put(&key, b"probe 1".to_vec(), None).await?;
                let second = self.put(&key, b"probe 2".to_vec(), None).await;
                let third = self.put(&key, b"probe 3".to_vec(), Some("\"plinth-no-such-etag\"")).await;
                self.delete(&key, None).await?;
                if !matches!(first, Written::Stored(_)) {
                    return Err(unsafe_endpoint("a create-only write to a new key was refused"));
                }
                if !matches!(second?, Written::PreconditionFailed) {
                    return Err(unsafe_endpoint("a second write with `If-None-Match: *` to the same key succeeded"));
                }
                if !matches!(third?, Written::PreconditionFailed) {
                    return Err(unsafe_endpoint("a write with a wrong `If-Match` ETag succeeded"));
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }
}

/// The HTTP status of a failed call, when a response came back.
pub(super) fn http_status<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

fn is_no_such_bucket<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> bool {
    error.as_service_error().and_then(|e| e.code()) == Some("NoSuchBucket")
}
