//! `aws_s3_bucket`: a bucket with versioning, default encryption, lifecycle rules, public
//! access block, tags and policy. S3 has no batch read, so `read_many` reads buckets with
//! bounded concurrency; each read runs its sub-configuration calls concurrently.

use std::sync::Arc;

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ObjectIdentifier, Tag, Tagging, VersioningConfiguration,
};
use futures_util::future::try_join_all;
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_string};
use crate::clients::Clients;
use crate::errors::{absent_on, map_sdk};
use crate::s3_config as config;
use crate::tags;

const NO_BUCKET: [&str; 2] = ["NoSuchBucket", "NotFound"];
/// Buckets read at once in a refresh.
const READ_CONCURRENCY: usize = 8;

/// The schema of `aws_s3_bucket`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_s3_bucket")
        .describe("An S3 bucket and its settings.")
        .attribute(A::required("bucket", T::String).force_new())
        .attribute(A::optional_computed("versioning", T::Bool))
        .attribute(
            A::optional_computed("server_side_encryption", T::String)
                .describe("`AES256` or `aws:kms`"),
        )
        .attribute(A::optional_computed("kms_key_id", T::String))
        .attribute(A::optional_computed("bucket_key_enabled", T::Bool))
        .attribute(A::optional(
            "lifecycle_rules",
            config::lifecycle_rule_type(),
        ))
        .attribute(A::optional_computed(
            "public_access_block",
            config::public_access_block_type(),
        ))
        .attribute(A::optional("policy", T::String).describe("JSON; compared structurally"))
        .attribute(
            A::optional("object_lock", config::object_lock_type()).describe(
                "WORM retention of new object versions (needs versioning); turning it on or off means a new bucket, changing it does not",
            ),
        )
        .attribute(
            A::optional("force_destroy", T::Bool)
                .default(false)
                .describe("Empty the bucket on delete."),
        )
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("region", T::String))
        .stateful()
}

/// The `aws_s3_bucket` implementation.
pub struct S3Bucket {
    clients: Arc<Clients>,
    schema: Schema,
}

impl S3Bucket {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        S3Bucket {
            clients,
            schema: schema(),
        }
    }

    /// Reads the bucket and every sub-configuration; `None` when the bucket is gone.
    async fn read_bucket(
        &self,
        bucket: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let s3 = &self.clients.s3;
        let head = s3
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| map_sdk("HeadBucket", e));
        if absent_on(head, &NO_BUCKET)?.is_none() {
            return Ok(None);
        }
        let (versioning, encryption, lifecycle, block, tagging, policy, lock) = tokio::join!(
            s3.get_bucket_versioning().bucket(bucket).send(),
            s3.get_bucket_encryption().bucket(bucket).send(),
            s3.get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send(),
            s3.get_public_access_block().bucket(bucket).send(),
            s3.get_bucket_tagging().bucket(bucket).send(),
            s3.get_bucket_policy().bucket(bucket).send(),
            s3.get_object_lock_configuration().bucket(bucket).send(),
        );
        let versioning = versioning.map_err(|e| map_sdk("GetBucketVersioning", e))?;
        let encryption = absent_on(
            encryption.map_err(|e| map_sdk("GetBucketEncryption", e)),
            &["ServerSideEncryptionConfigurationNotFoundError"],
        )?;
        let lifecycle = absent_on(
            lifecycle.map_err(|e| map_sdk("GetBucketLifecycleConfiguration", e)),
            &["NoSuchLifecycleConfiguration"],
        )?;
        let block = absent_on(
            block.map_err(|e| map_sdk("GetPublicAccessBlock", e)),
            &["NoSuchPublicAccessBlockConfiguration"],
        )?;
        let tagging = absent_on(
            tagging.map_err(|e| map_sdk("GetBucketTagging", e)),
            &["NoSuchTagSet"],
        )?;
        let policy = absent_on(
            policy.map_err(|e| map_sdk("GetBucketPolicy", e)),
            &["NoSuchBucketPolicy"],
        )?;
        let lock = absent_on(
            lock.map_err(|e| map_sdk("GetObjectLockConfiguration", e)),
            &["ObjectLockConfigurationNotFoundError"],
        )?;

        let mut o = Object::new();
        o.insert("bucket".into(), Value::string(bucket));
        o.insert(
            "versioning".into(),
            Value::Bool(versioning.status() == Some(&BucketVersioningStatus::Enabled)),
        );
        let rule = encryption
            .as_ref()
            .and_then(|e| e.server_side_encryption_configuration())
            .and_then(|c| c.rules().first());
        let (algorithm, kms, bucket_key) = config::encryption_from_aws(rule);
        o.insert("server_side_encryption".into(), algorithm);
        o.insert("kms_key_id".into(), kms);
        o.insert("bucket_key_enabled".into(), bucket_key);
        let rules = lifecycle.as_ref().map(|l| l.rules()).unwrap_or_default();
        let rules_value = if rules.is_empty() && !attrs::is_set(prior, "lifecycle_rules") {
            Value::Null
        } else {
            config::lifecycle_from_aws(rules, prior)
        };
        o.insert("lifecycle_rules".into(), rules_value);
        o.insert(
            "public_access_block".into(),
            match block
                .as_ref()
                .and_then(|b| b.public_access_block_configuration())
            {
                Some(c) => config::public_access_block_from_aws(c, prior),
                None => Value::Null,
            },
        );
        o.insert(
            "policy".into(),
            config::policy_value(policy.as_ref().and_then(|p| p.policy()), prior),
        );
        let live_tags: Vec<(String, String)> = tagging
            .as_ref()
            .map(|t| {
                t.tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let t = if live_tags.is_empty() && !attrs::is_set(prior, "tags") {
            Value::Null
        } else {
            tags::to_value(live_tags)
        };
        o.insert("tags".into(), t);
        o.insert(
            "object_lock".into(),
            config::object_lock_from_aws(lock.as_ref().and_then(|l| l.object_lock_configuration())),
        );
        o.insert(
            "arn".into(),
            Value::String(format!("arn:aws:s3:::{bucket}")),
        );
        o.insert("region".into(), opt_string(Some(&self.clients.region)));
        attrs::keep_inputs(&mut o, prior, &["force_destroy"]);
        Ok(Some(o))
    }

    /// Applies the named settings from `desired` to the bucket.
    async fn apply(
        &self,
        bucket: &str,
        desired: &Object,
        which: &[&str],
    ) -> Result<(), ProviderError> {
        let s3 = &self.clients.s3;
        let has = |k: &str| which.contains(&k);
        if has("versioning") {
            if let Some(enabled) = attrs::boolean(desired, "versioning") {
                let status = if enabled {
                    BucketVersioningStatus::Enabled
                } else {
                    BucketVersioningStatus::Suspended
                };
                s3.put_bucket_versioning()
                    .bucket(bucket)
                    .versioning_configuration(
                        VersioningConfiguration::builder().status(status).build(),
                    )
                    .send()
                    .await
                    .map_err(|e| map_sdk("PutBucketVersioning", e))?;
            }
        }
        if has("server_side_encryption") || has("kms_key_id") || has("bucket_key_enabled") {
            if let Some(sse) = config::encryption_to_aws(desired)? {
                s3.put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(sse)
                    .send()
                    .await
                    .map_err(|e| map_sdk("PutBucketEncryption", e))?;
            }
        }
        if has("lifecycle_rules") {
            match config::lifecycle_to_aws(desired)? {
                Some(lc) => s3
                    .put_bucket_lifecycle_configuration()
                    .bucket(bucket)
                    .lifecycle_configuration(lc)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("PutBucketLifecycleConfiguration", e))?,
                None => s3
                    .delete_bucket_lifecycle()
                    .bucket(bucket)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("DeleteBucketLifecycle", e))?,
            }
        }
        if has("public_access_block") {
            if let Some(block) = config::public_access_block_to_aws(desired) {
                s3.put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(block)
                    .send()
                    .await
                    .map_err(|e| map_sdk("PutPublicAccessBlock", e))?;
            }
        }
        if has("tags") {
            let pairs = tags::desired(desired);
            if pairs.is_empty() {
                s3.delete_bucket_tagging()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| map_sdk("DeleteBucketTagging", e))?;
            } else {
                let set = pairs
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ProviderError::api("InvalidTag", e.to_string()))?;
                let tagging = Tagging::builder()
                    .set_tag_set(Some(set))
                    .build()
                    .map_err(|e| ProviderError::api("InvalidTag", e.to_string()))?;
                s3.put_bucket_tagging()
                    .bucket(bucket)
                    .tagging(tagging)
                    .send()
                    .await
                    .map_err(|e| map_sdk("PutBucketTagging", e))?;
            }
        }
        if has("object_lock") {
            if let Some(lock) = config::object_lock_to_aws(desired)? {
                s3.put_object_lock_configuration()
                    .bucket(bucket)
                    .object_lock_configuration(lock)
                    .send()
                    .await
                    .map_err(|e| map_sdk("PutObjectLockConfiguration", e))?;
            }
        }
        if has("policy") {
            match attrs::string(desired, "policy") {
                Some(policy) => s3
                    .put_bucket_policy()
                    .bucket(bucket)
                    .policy(policy)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("PutBucketPolicy", e))?,
                None => s3
                    .delete_bucket_policy()
                    .bucket(bucket)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("DeleteBucketPolicy", e))?,
            }
        }
        Ok(())
    }

    /// Deletes every object version and delete marker (for `force_destroy`).
    async fn empty(&self, bucket: &str) -> Result<(), ProviderError> {
        let s3 = &self.clients.s3;
        loop {
            let page = s3
                .list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| map_sdk("ListObjectVersions", e))?;
            let mut ids = Vec::new();
            for v in page.versions() {
                ids.push((
                    v.key().unwrap_or_default().to_string(),
                    v.version_id().map(str::to_string),
                ));
            }
            for m in page.delete_markers() {
                ids.push((
                    m.key().unwrap_or_default().to_string(),
                    m.version_id().map(str::to_string),
                ));
            }
            if ids.is_empty() {
                return Ok(());
            }
            for chunk in ids.chunks(1000) {
                let objects = chunk
                    .iter()
                    .map(|(k, v)| {
                        ObjectIdentifier::builder()
                            .key(k)
                            .set_version_id(v.clone())
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ProviderError::api("InvalidRequest", e.to_string()))?;
                let delete = Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()
                    .map_err(|e| ProviderError::api("InvalidRequest", e.to_string()))?;
                // force_destroy also lifts a governance-mode Object Lock (compliance mode
                // cannot be lifted: S3 refuses, and the error says so).
                s3.delete_objects()
                    .bucket(bucket)
                    .bypass_governance_retention(true)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(|e| map_sdk("DeleteObjects", e))?;
            }
        }
    }
}

/// Settings applied after CreateBucket, in order.
const SETTINGS: [&str; 9] = [
    "versioning",
    "server_side_encryption",
    "kms_key_id",
    "bucket_key_enabled",
    "lifecycle_rules",
    "public_access_block",
    "tags",
    "object_lock",
    "policy",
];

#[async_trait]
impl Resource for S3Bucket {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let bucket = attrs::required(desired, "bucket")?;
        let location = (self.clients.region != "us-east-1").then(|| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(self.clients.region.as_str()))
                .build()
        });
        self.clients
            .s3
            .create_bucket()
            .bucket(&bucket)
            .set_create_bucket_configuration(location)
            .object_lock_enabled_for_bucket(attrs::is_set(desired, "object_lock"))
            .send()
            .await
            .map_err(|e| map_sdk("CreateBucket", e))?;
        let set: Vec<&str> = SETTINGS
            .iter()
            .copied()
            .filter(|k| desired.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        self.apply(&bucket, desired, &set).await?;
        let attributes = self.read_bucket(&bucket, desired).await?.ok_or_else(|| {
            ProviderError::not_found(format!("bucket `{bucket}` vanished after creation"))
        })?;
        Ok(Created {
            id: bucket,
            attributes,
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        self.read_bucket(id, prior).await
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(READ_CONCURRENCY) {
            let mut reads = Vec::with_capacity(chunk.len());
            for item in chunk {
                reads.push(self.read_bucket(item.id, item.prior));
            }
            out.extend(try_join_all(reads).await?);
        }
        Ok(out)
    }

    /// Object Lock is switched on when the bucket is created and never off: adding or
    /// removing `object_lock` needs a new bucket; changing its mode or days does not.
    fn replacement_required(&self, prior: &Object, desired: &Object) -> Vec<String> {
        if attrs::is_set(prior, "object_lock") != attrs::is_set(desired, "object_lock") {
            vec!["object_lock".to_string()]
        } else {
            Vec::new()
        }
    }

    async fn update(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        let which: Vec<&str> = changed.iter().map(String::as_str).collect();
        self.apply(id, desired, &which).await?;
        self.read_bucket(id, desired)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("bucket `{id}` is gone")))
    }

    async fn delete(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<(), ProviderError> {
        if attrs::boolean(prior, "force_destroy").unwrap_or(false)
            && absent_on(self.empty(id).await, &NO_BUCKET)?.is_none()
        {
            return Ok(());
        }
        let result = self
            .clients
            .s3
            .delete_bucket()
            .bucket(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteBucket", e));
        absent_on(result, &NO_BUCKET).map(|_| ())
    }

    async fn import(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        let bucket = id.strip_prefix("arn:aws:s3:::").unwrap_or(id);
        self.read_bucket(bucket, &Object::new()).await
    }

    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let bucket = attrs::required(desired, "bucket")?;
        Ok(self
            .read_bucket(&bucket, desired)
            .await?
            .map(|attributes| Created {
                id: bucket,
                attributes,
            }))
    }
}
