//! `aws_rds_instance`: an RDS DB instance, primary or read replica (`replicate_source_db`).
//!
//! Creates wait for `available` (40 min default), modifies apply immediately and wait
//! (80 min), deletes take a final snapshot (`final_snapshot_identifier`, else
//! `<identifier>-final-<UTC time>`) unless `skip_final_snapshot = true` or the instance is a
//! read replica, and wait until the instance is gone (60 min). Refresh is one paginated `DescribeDBInstances`.

use std::sync::Arc;

use aws_sdk_rds::types::{DbInstance, PendingModifiedValues};
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_bool, opt_int, opt_string};
use crate::batch::index_by;
use crate::clients::Clients;
use crate::errors::{absent_on, map_sdk};
use crate::rds_common::{aws_tags, sync_rds_tags};
use crate::tags;
use crate::waiter::{minutes, wait_for, Poll, Wait};

const NOT_FOUND: [&str; 1] = ["DBInstanceNotFound"];
/// Inputs the API never returns: kept from the prior state / desired inputs.
const WRITE_ONLY: [&str; 4] = [
    "master_password",
    "final_snapshot_identifier",
    "skip_final_snapshot",
    "restore",
];

/// The schema of `aws_rds_instance`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_rds_instance")
        .describe("An RDS DB instance (PostgreSQL, MySQL, ...), primary or read replica.")
        .attribute(A::required("identifier", T::String).force_new())
        .attribute(
            A::optional_computed("engine", T::String)
                .force_new()
                .describe("Required unless a replica."),
        )
        .attribute(
            A::optional_computed("engine_version", T::String).describe("`15` follows AWS's minor."),
        )
        .attribute(A::optional_computed("instance_class", T::String))
        .attribute(A::optional_computed("allocated_storage", T::Int).describe("GiB"))
        .attribute(
            A::optional_computed("max_allocated_storage", T::Int)
                .describe("GiB; storage autoscaling"),
        )
        .attribute(A::optional_computed("storage_type", T::String))
        .attribute(A::optional_computed("multi_az", T::Bool))
        .attribute(A::optional_computed("storage_encrypted", T::Bool).force_new())
        .attribute(A::optional_computed("kms_key_id", T::String).force_new())
        .attribute(A::optional_computed("backup_retention_days", T::Int))
        .attribute(A::optional_computed("backup_window", T::String))
        .attribute(A::optional_computed("maintenance_window", T::String))
        .attribute(A::optional_computed("deletion_protection", T::Bool))
        .attribute(A::optional_computed("master_username", T::String).force_new())
        .attribute(
            A::optional("master_password", T::String)
                .sensitive()
                .describe("From `${secret.*}`."),
        )
        .attribute(A::optional_computed("db_subnet_group_name", T::String))
        .attribute(A::optional_computed("parameter_group_name", T::String))
        .attribute(A::optional_computed(
            "vpc_security_group_ids",
            T::string_list(),
        ))
        .attribute(A::optional_computed("publicly_accessible", T::Bool))
        .attribute(
            A::optional("replicate_source_db", T::String)
                .force_new()
                .describe("Identifier or ARN."),
        )
        .attribute(
            A::optional("restore", crate::rds_restore::restore_type())
                .create_only()
                .describe("Create by restoring `{ snapshot = ID }` or `{ source = INSTANCE, time = \"latest\" | RFC 3339 }`; read only on create."),
        )
        .attribute(
            A::optional("final_snapshot_identifier", T::String).describe(
                "Name of the snapshot taken on delete (default `<identifier>-final-<UTC time>`).",
            ),
        )
        .attribute(
            A::optional("skip_final_snapshot", T::Bool)
                .default(false)
                .describe("Delete without a final snapshot (as Terraform, false by default)."),
        )
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("endpoint", T::String))
        .attribute(A::computed("port", T::Int))
        .attribute(A::computed("status", T::String))
        .stateful()
}

/// The `aws_rds_instance` implementation.
pub struct RdsInstance {
    clients: Arc<Clients>,
    schema: Schema,
}

impl RdsInstance {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        RdsInstance {
            clients,
            schema: schema(),
        }
    }

    async fn describe(&self, identifier: &str) -> Result<Option<DbInstance>, ProviderError> {
        let result = self
            .clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeDBInstances", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|out| out.db_instances().first().cloned()))
    }

    /// Waits until the instance is `available`; returns it.
    async fn wait_available(
        &self,
        ctx: &CallContext<'_>,
        identifier: &str,
        default_minutes: u64,
    ) -> Result<DbInstance, ProviderError> {
        let what = format!("RDS instance `{identifier}`");
        let wait = Wait {
            what: &what,
            target: "status available",
            interval: self.clients.poll_interval,
            default_timeout: minutes(default_minutes),
        };
        wait_for(ctx, wait, || async {
            Ok(match self.describe(identifier).await? {
                Some(db) => match db.db_instance_status() {
                    // Right after ModifyDBInstance AWS may still say `available` with the
                    // change pending: wait until nothing is pending.
                    Some("available") if has_pending(&db) => {
                        Poll::Pending("available, changes pending".to_string())
                    }
                    Some("available") => Poll::Ready(db),
                    Some(
                        s @ ("failed"
                        | "incompatible-parameters"
                        | "incompatible-restore"
                        | "storage-full"),
                    ) => Poll::Failed(s.to_string()),
                    other => Poll::Pending(other.unwrap_or("unknown").to_string()),
                },
                None => Poll::Pending("not visible yet".to_string()),
            })
        })
        .await
    }

    async fn create_primary(
        &self,
        desired: &Object,
        identifier: &str,
    ) -> Result<(), ProviderError> {
        let d = desired;
        let engine = attrs::string(d, "engine").ok_or_else(|| {
            ProviderError::api(
                "MissingAttribute",
                "`engine` must be set unless `replicate_source_db` is",
            )
        })?;
        self.clients
            .rds
            .create_db_instance()
            .db_instance_identifier(identifier)
            .engine(engine)
            .set_engine_version(attrs::string(d, "engine_version"))
            .set_db_instance_class(attrs::string(d, "instance_class"))
            .set_allocated_storage(attrs::int32(d, "allocated_storage"))
            .set_max_allocated_storage(attrs::int32(d, "max_allocated_storage"))
            .set_storage_type(attrs::string(d, "storage_type"))
            .set_multi_az(attrs::boolean(d, "multi_az"))
            .set_storage_encrypted(attrs::boolean(d, "storage_encrypted"))
            .set_kms_key_id(attrs::string(d, "kms_key_id"))
            .set_backup_retention_period(attrs::int32(d, "backup_retention_days"))
            .set_preferred_backup_window(attrs::string(d, "backup_window"))
            .set_preferred_maintenance_window(attrs::string(d, "maintenance_window"))
            .set_deletion_protection(attrs::boolean(d, "deletion_protection"))
            .set_master_username(attrs::string(d, "master_username"))
            .set_master_user_password(attrs::string(d, "master_password"))
            .set_db_subnet_group_name(attrs::string(d, "db_subnet_group_name"))
            .set_db_parameter_group_name(attrs::string(d, "parameter_group_name"))
            .set_vpc_security_group_ids(attrs::strings(d, "vpc_security_group_ids"))
            .set_publicly_accessible(attrs::boolean(d, "publicly_accessible"))
            .set_tags(Some(aws_tags(&tags::desired(d))))
            .send()
            .await
            .map_err(|e| map_sdk("CreateDBInstance", e))?;
        Ok(())
    }

    async fn create_replica(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
        identifier: &str,
        source: &str,
    ) -> Result<(), ProviderError> {
        let d = desired;
        // A replica can only be made from an available primary.
        self.wait_available(ctx, source_identifier(source), 40)
            .await?;
        self.clients
            .rds
            .create_db_instance_read_replica()
            .db_instance_identifier(identifier)
            .source_db_instance_identifier(source)
            .set_db_instance_class(attrs::string(d, "instance_class"))
            .set_max_allocated_storage(attrs::int32(d, "max_allocated_storage"))
            .set_storage_type(attrs::string(d, "storage_type"))
            .set_multi_az(attrs::boolean(d, "multi_az"))
            .set_kms_key_id(attrs::string(d, "kms_key_id"))
            .set_deletion_protection(attrs::boolean(d, "deletion_protection").or(Some(false)))
            .set_db_subnet_group_name(attrs::string(d, "db_subnet_group_name"))
            .set_db_parameter_group_name(attrs::string(d, "parameter_group_name"))
            .set_vpc_security_group_ids(attrs::strings(d, "vpc_security_group_ids"))
            .set_publicly_accessible(attrs::boolean(d, "publicly_accessible"))
            .set_tags(Some(aws_tags(&tags::desired(d))))
            .send()
            .await
            .map_err(|e| map_sdk("CreateDBInstanceReadReplica", e))?;
        Ok(())
    }
}

/// The instance's tags as pairs (DescribeDBInstances carries them).
fn live_tags(db: &DbInstance) -> Vec<(String, String)> {
    tags::pairs(db.tag_list().iter().map(|t| (t.key(), t.value())))
}

/// True when the instance reports modifications not applied yet.
fn has_pending(db: &DbInstance) -> bool {
    db.pending_modified_values()
        .is_some_and(|p| *p != PendingModifiedValues::builder().build())
}

/// The identifier in an RDS ARN (`arn:aws:rds:region:acct:db:NAME`), or the input itself.
pub(crate) fn source_identifier(source: &str) -> &str {
    match source.strip_prefix("arn:") {
        Some(_) => source.rsplit(':').next().unwrap_or(source),
        None => source,
    }
}

/// The live instance as attributes, normalised to what the user wrote in `prior`.
pub fn to_object(db: &DbInstance, prior: &Object) -> Object {
    let mut o = Object::new();
    let prior_str = |k: &str| attrs::string(prior, k);
    o.insert("identifier".into(), opt_string(db.db_instance_identifier()));
    o.insert("engine".into(), opt_string(db.engine()));
    // `engine_version = "15"` means "latest 15.x": keep the user's prefix while it matches.
    let version = match (prior_str("engine_version"), db.engine_version()) {
        (Some(want), Some(live)) if live.starts_with(&format!("{want}.")) => Value::String(want),
        (_, live) => opt_string(live),
    };
    o.insert("engine_version".into(), version);
    o.insert("instance_class".into(), opt_string(db.db_instance_class()));
    o.insert("allocated_storage".into(), opt_int(db.allocated_storage()));
    o.insert(
        "max_allocated_storage".into(),
        opt_int(db.max_allocated_storage()),
    );
    o.insert("storage_type".into(), opt_string(db.storage_type()));
    o.insert("multi_az".into(), opt_bool(db.multi_az()));
    o.insert("storage_encrypted".into(), opt_bool(db.storage_encrypted()));
    let kms = match (prior_str("kms_key_id"), db.kms_key_id()) {
        // Users may write a key id or alias; AWS reports the key ARN.
        (Some(want), Some(live)) if live.ends_with(&format!("/{want}")) => Value::String(want),
        (_, live) => opt_string(live),
    };
    o.insert("kms_key_id".into(), kms);
    o.insert(
        "backup_retention_days".into(),
        opt_int(db.backup_retention_period()),
    );
    o.insert(
        "backup_window".into(),
        opt_string(db.preferred_backup_window()),
    );
    o.insert(
        "maintenance_window".into(),
        opt_string(db.preferred_maintenance_window()),
    );
    o.insert(
        "deletion_protection".into(),
        opt_bool(db.deletion_protection()),
    );
    o.insert("master_username".into(), opt_string(db.master_username()));
    o.insert(
        "db_subnet_group_name".into(),
        opt_string(db.db_subnet_group().and_then(|g| g.db_subnet_group_name())),
    );
    o.insert(
        "parameter_group_name".into(),
        opt_string(
            db.db_parameter_groups()
                .first()
                .and_then(|g| g.db_parameter_group_name()),
        ),
    );
    o.insert(
        "vpc_security_group_ids".into(),
        attrs::ordered_like(
            prior,
            "vpc_security_group_ids",
            db.vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id()),
        ),
    );
    o.insert(
        "publicly_accessible".into(),
        opt_bool(db.publicly_accessible()),
    );
    let source = match (
        prior_str("replicate_source_db"),
        db.read_replica_source_db_instance_identifier(),
    ) {
        (Some(want), Some(live)) if source_identifier(&want) == source_identifier(live) => {
            Value::String(want)
        }
        (_, live) => opt_string(live),
    };
    o.insert("replicate_source_db".into(), source);
    let live_tags = live_tags(db);
    o.insert("tags".into(), tags::value_or_null(live_tags, prior));
    o.insert("arn".into(), opt_string(db.db_instance_arn()));
    o.insert(
        "endpoint".into(),
        opt_string(db.endpoint().and_then(|e| e.address())),
    );
    o.insert("port".into(), opt_int(db.endpoint().and_then(|e| e.port())));
    o.insert("status".into(), opt_string(db.db_instance_status()));
    attrs::keep_inputs(&mut o, prior, &WRITE_ONLY);
    if o.get("skip_final_snapshot").is_none_or(Value::is_null) {
        o.insert("skip_final_snapshot".into(), Value::Bool(false));
    }
    o
}

#[async_trait]
impl Resource for RdsInstance {
    async fn refine_plan(
        &self,
        _ctx: &CallContext<'_>,
        prior: Option<&Object>,
        planned: &mut Object,
    ) -> Result<(), ProviderError> {
        // A wrong `restore` fails the plan, not the apply an hour into a DR.
        if prior.is_none() && !planned.get("restore").is_some_and(Value::has_unknown) {
            crate::rds_restore::restore_of(planned)?;
        }
        Ok(())
    }

    fn update_interruption(
        &self,
        prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Option<String> {
        interruption(prior, desired, changed)
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let identifier = attrs::required(desired, "identifier")?;
        let restore = crate::rds_restore::restore_of(desired)?;
        match (attrs::string(desired, "replicate_source_db"), &restore) {
            (_, Some(restore)) => {
                crate::rds_restore::create(&self.clients, desired, &identifier, restore).await?
            }
            (Some(source), None) => {
                self.create_replica(ctx, desired, &identifier, &source)
                    .await?
            }
            (None, None) => self.create_primary(desired, &identifier).await?,
        }
        let db = self.wait_available(ctx, &identifier, 40).await?;
        let mut attributes = to_object(&db, desired);
        if restore.is_some() {
            // What a restore cannot set (backups, windows, storage, password): one modify.
            let changed = crate::rds_restore::after_restore_changes(&attributes, desired);
            if !changed.is_empty() {
                attributes = self
                    .update(ctx, &identifier, &attributes, desired, &changed)
                    .await?;
            }
        }
        if let Some(password) = desired.get("master_password").filter(|v| !v.is_null()) {
            attributes.insert("master_password".into(), password.clone().sensitive());
        }
        Ok(Created {
            id: identifier,
            attributes,
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(self.describe(id).await?.map(|db| to_object(&db, prior)))
    }

    fn batches_reads(&self) -> bool {
        true
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let instances = self
            .clients
            .rds
            .describe_db_instances()
            .max_records(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeDBInstances", e))?;
        let live = index_by(instances, DbInstance::db_instance_identifier);
        Ok(items
            .iter()
            .map(|item| live.get(item.id).map(|db| to_object(db, item.prior)))
            .collect())
    }

    async fn update(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        let d = desired;
        let has = |k: &str| changed.iter().any(|c| c == k);
        let modifies = changed
            .iter()
            .any(|c| c != "tags" && c != "final_snapshot_identifier");
        if modifies {
            // AWS refuses to modify an instance that is busy (backing up, modifying, ...).
            self.wait_available(ctx, id, 80).await?;
            let major_upgrade = has("engine_version")
                && attrs::string(prior, "engine_version").map(|v| major(&v).to_string())
                    != attrs::string(d, "engine_version").map(|v| major(&v).to_string());
            let pick_str = |k: &str| if has(k) { attrs::string(d, k) } else { None };
            let pick_int = |k: &str| if has(k) { attrs::int32(d, k) } else { None };
            let pick_bool = |k: &str| if has(k) { attrs::boolean(d, k) } else { None };
            self.clients
                .rds
                .modify_db_instance()
                .db_instance_identifier(id)
                .apply_immediately(true)
                .set_engine_version(pick_str("engine_version"))
                .set_allow_major_version_upgrade(major_upgrade.then_some(true))
                .set_db_instance_class(pick_str("instance_class"))
                .set_allocated_storage(pick_int("allocated_storage"))
                .set_max_allocated_storage(pick_int("max_allocated_storage"))
                .set_storage_type(pick_str("storage_type"))
                .set_multi_az(pick_bool("multi_az"))
                .set_backup_retention_period(pick_int("backup_retention_days"))
                .set_preferred_backup_window(pick_str("backup_window"))
                .set_preferred_maintenance_window(pick_str("maintenance_window"))
                .set_deletion_protection(pick_bool("deletion_protection"))
                .set_master_user_password(pick_str("master_password"))
                .set_db_subnet_group_name(pick_str("db_subnet_group_name"))
                .set_db_parameter_group_name(pick_str("parameter_group_name"))
                .set_vpc_security_group_ids(if has("vpc_security_group_ids") {
                    attrs::strings(d, "vpc_security_group_ids")
                } else {
                    None
                })
                .set_publicly_accessible(pick_bool("publicly_accessible"))
                .send()
                .await
                .map_err(|e| map_sdk("ModifyDBInstance", e))?;
        }
        let db = self.wait_available(ctx, id, 80).await?;
        if has("tags") {
            let arn = db.db_instance_arn().unwrap_or_default().to_string();
            sync_rds_tags(&self.clients, &arn, &live_tags(&db), &tags::desired(d)).await?;
        }
        let db = if has("tags") {
            self.describe(id).await?.unwrap_or(db)
        } else {
            db
        };
        let mut attributes = to_object(&db, d);
        attrs::carry(&mut attributes, prior, &["master_password"]);
        if has("master_password") {
            if let Some(p) = d.get("master_password") {
                attributes.insert("master_password".into(), p.clone().sensitive());
            }
        }
        Ok(attributes)
    }

    async fn delete(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<(), ProviderError> {
        let snapshot = final_snapshot(
            id,
            prior,
            aws_smithy_types::DateTime::from(std::time::SystemTime::now()),
        );
        let result = self
            .clients
            .rds
            .delete_db_instance()
            .db_instance_identifier(id)
            .skip_final_snapshot(snapshot.is_none())
            .set_final_db_snapshot_identifier(snapshot)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteDBInstance", e));
        if absent_on(result, &NOT_FOUND)?.is_none() {
            return Ok(());
        }
        let what = format!("RDS instance `{id}`");
        let wait = Wait {
            what: &what,
            target: "deletion",
            interval: self.clients.poll_interval,
            default_timeout: minutes(60),
        };
        wait_for(ctx, wait, || async {
            Ok(match self.describe(id).await? {
                None => Poll::Ready(()),
                Some(db) => Poll::Pending(db.db_instance_status().unwrap_or("unknown").to_string()),
            })
        })
        .await
    }

    async fn import(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(self
            .describe(source_identifier(id))
            .await?
            .map(|db| to_object(&db, &Object::new())))
    }

    async fn recover(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let identifier = attrs::required(desired, "identifier")?;
        if self.describe(&identifier).await?.is_none() {
            return Ok(None);
        }
        let db = self.wait_available(ctx, &identifier, 40).await?;
        Ok(Some(Created {
            id: identifier,
            attributes: to_object(&db, desired),
        }))
    }
}

/// How RDS interrupts the instance to make an in-place change (applied immediately), as AWS
/// documents it: an engine upgrade restarts PostgreSQL (on Multi-AZ both instances are
/// upgraded together: downtime either way); a class change reboots a single-AZ instance, and
/// fails a Multi-AZ one over to its resized standby. Storage growth, storage type, Multi-AZ,
/// backups, windows and a new parameter group (its static parameters wait for the next reboot,
/// which Plinth does not make) keep the instance available: `None`.
pub fn interruption(prior: &Object, desired: &Object, changed: &[String]) -> Option<String> {
    let has = |k: &str| changed.iter().any(|c| c == k);
    let from_to = |k: &str| {
        format!(
            "{} → {}",
            attrs::string(prior, k).unwrap_or_else(|| "?".into()),
            attrs::string(desired, k).unwrap_or_else(|| "?".into())
        )
    };
    let multi_az = attrs::boolean(prior, "multi_az").unwrap_or(false)
        && attrs::boolean(desired, "multi_az").unwrap_or(true);
    let mut why = Vec::new();
    if has("engine_version") {
        why.push(format!(
            "engine upgrade {}: the database restarts{}",
            from_to("engine_version"),
            if multi_az {
                " (Multi-AZ upgrades primary and standby together)"
            } else {
                ""
            }
        ));
    }
    if has("instance_class") {
        why.push(format!(
            "instance class {}: {}",
            from_to("instance_class"),
            if multi_az {
                "a failover to the resized standby (connections drop for about a minute)"
            } else {
                "a reboot (the database is unavailable for several minutes)"
            }
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// The snapshot a delete takes: none for a read replica (AWS refuses one) or with
/// `skip_final_snapshot = true`; else `final_snapshot_identifier`, or the identifier with the
/// UTC time (`mita-db-final-20261203T061500`), so a second delete never collides.
pub fn final_snapshot(id: &str, prior: &Object, now: aws_smithy_types::DateTime) -> Option<String> {
    if attrs::is_set(prior, "replicate_source_db")
        || attrs::boolean(prior, "skip_final_snapshot").unwrap_or(false)
    {
        return None;
    }
    if let Some(name) = attrs::string(prior, "final_snapshot_identifier") {
        return Some(name);
    }
    let stamp: String = now
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Some(format!("{id}-final-{}", stamp.trim_end_matches('Z')))
}

/// The major part of an engine version (`15.5` → `15`, `5.7.44` → `5.7` for MySQL 5).
fn major(version: &str) -> &str {
    let mut parts = version.splitn(3, '.');
    let first = parts.next().unwrap_or(version);
    if first == "5" {
        let second = parts.next().unwrap_or("");
        return &version[..(first.len() + 1 + second.len()).min(version.len())];
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_identifiers_and_majors() {
        assert_eq!(
            source_identifier("arn:aws:rds:us-east-1:123456789012:db:mita-db"),
            "mita-db"
        );
        assert_eq!(source_identifier("mita-db"), "mita-db");
        assert_eq!(major("15.5"), "15");
        assert_eq!(major("5.7.44"), "5.7");
    }

    #[test]
    fn class_and_engine_changes_interrupt_storage_and_parameters_do_not() {
        let o = |pairs: &[(&str, Value)]| -> Object {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let prior = o(&[
            ("instance_class", Value::string("db.t4g.medium")),
            ("engine_version", Value::string("15.5")),
            ("multi_az", Value::Bool(true)),
            ("allocated_storage", Value::Int(100)),
        ]);
        let grown = o(&[
            ("instance_class", Value::string("db.t4g.medium")),
            ("engine_version", Value::string("15.5")),
            ("multi_az", Value::Bool(true)),
            ("allocated_storage", Value::Int(200)),
            ("parameter_group_name", Value::string("mita-pg15-v2")),
        ]);
        let changed = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(
            interruption(
                &prior,
                &grown,
                &changed(&[
                    "allocated_storage",
                    "parameter_group_name",
                    "storage_type",
                    "multi_az"
                ])
            ),
            None
        );
        let resized = o(&[
            ("instance_class", Value::string("db.r6g.large")),
            ("multi_az", Value::Bool(true)),
        ]);
        let why = interruption(&prior, &resized, &changed(&["instance_class"])).unwrap();
        assert!(
            why.contains("db.t4g.medium → db.r6g.large") && why.contains("failover"),
            "{why}"
        );
        let single = o(&[("instance_class", Value::string("db.t4g.medium"))]);
        let why = interruption(&single, &resized, &changed(&["instance_class"])).unwrap();
        assert!(why.contains("reboot"), "{why}");
        let upgraded = o(&[
            ("engine_version", Value::string("15.7")),
            ("multi_az", Value::Bool(true)),
        ]);
        let why = interruption(&prior, &upgraded, &changed(&["engine_version"])).unwrap();
        assert!(
            why.contains("15.5 → 15.7") && why.contains("restarts"),
            "{why}"
        );
    }

    #[test]
    fn deletes_snapshot_unless_skipped_or_a_replica() {
        let now = aws_smithy_types::DateTime::from_secs(1_796_278_500);
        let o = |pairs: &[(&str, Value)]| -> Object {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        assert_eq!(
            final_snapshot("mita-db", &Object::new(), now).as_deref(),
            Some("mita-db-final-20261203T061500")
        );
        assert_eq!(
            final_snapshot(
                "mita-db",
                &o(&[("final_snapshot_identifier", Value::string("last"))]),
                now
            )
            .as_deref(),
            Some("last")
        );
        assert_eq!(
            final_snapshot(
                "mita-db",
                &o(&[("skip_final_snapshot", Value::Bool(true))]),
                now
            ),
            None
        );
        assert_eq!(
            final_snapshot(
                "r",
                &o(&[("replicate_source_db", Value::string("mita-db"))]),
                now
            ),
            None
        );
    }

    #[test]
    fn user_version_prefix_is_kept() {
        let db = DbInstance::builder()
            .db_instance_identifier("a")
            .engine_version("15.5")
            .build();
        let mut prior = Object::new();
        prior.insert("engine_version".into(), Value::string("15"));
        assert_eq!(
            to_object(&db, &prior)["engine_version"],
            Value::string("15")
        );
        prior.insert("engine_version".into(), Value::string("14"));
        assert_eq!(
            to_object(&db, &prior)["engine_version"],
            Value::string("15.5")
        );
    }
}
