//! `plinth bootstrap` for the S3 backend: the bucket that holds the state, created when
//! missing and (re)configured every time, idempotently: versioning on (every state version
//! is kept), default encryption (SSE-S3) and every public access blocked.

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use aws_sdk_s3::Client;

use crate::error::StateError;
use crate::s3::S3Settings;

fn failed(what: &str, bucket: &str, error: impl std::error::Error) -> StateError {
    StateError::Backend(format!(
        "{what} of bucket `{bucket}`: {}",
        DisplayErrorContext(error)
    ))
}

/// Creates the bucket when missing, then turns on versioning, default encryption and the
/// public access block. Safe to run again.
pub(crate) async fn ensure_bucket(
    client: &Client,
    settings: &S3Settings,
) -> Result<(), StateError> {
    let bucket = settings.bucket.as_str();
    let exists = match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => true,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => false,
        Err(error) if error.raw_response().map(|r| r.status().as_u16()) == Some(404) => false,
        Err(error) => return Err(failed("checking the existence", bucket, error)),
    };
    if !exists {
        let region = client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        let mut request = client.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
            Err(error) => return Err(failed("creation", bucket, error)),
        }
    }
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed("enabling versioning", bucket, e))?;
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(|e| failed("building the encryption setting", bucket, e))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .build();
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| failed("building the encryption setting", bucket, e))?;
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(encryption)
        .send()
        .await
        .map_err(|e| failed("enabling default encryption", bucket, e))?;
    client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed("blocking public access", bucket, e))?;
    Ok(())
}
