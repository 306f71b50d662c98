//! `aws_rds_instance.restore`: creating an instance from a DB snapshot or a point in time of
//! another instance (Terraform's `snapshot_identifier` / `restore_to_point_in_time`), and what
//! the create must set with a modify afterwards because a restore cannot.

use plinth_provider::{Attribute, Object, ProviderError, Value, ValueType};

use crate::attrs;
use crate::clients::Clients;
use crate::errors::map_sdk;
use crate::rds_common::aws_tags;
use crate::rds_instance::source_identifier;
use crate::tags;

/// The fields of `restore`.
pub fn restore_type() -> ValueType {
    use Attribute as A;
    use ValueType as T;
    T::Object(vec![
        A::optional("snapshot", T::String).describe("DB snapshot identifier or ARN"),
        A::optional("source", T::String)
            .describe("Identifier of the instance whose point in time is restored"),
        A::optional("time", T::String)
            .describe("`latest` (the default) or an RFC 3339 time, with `source`"),
    ])
}

/// Where a restored instance's data comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Restore {
    /// `RestoreDBInstanceFromDBSnapshot`.
    Snapshot(String),
    /// `RestoreDBInstanceToPointInTime`; `None` is the latest restorable time.
    PointInTime {
        source: String,
        time: Option<aws_smithy_types::DateTime>,
    },
}

/// Reads `restore` (Terraform's `snapshot_identifier` / `restore_to_point_in_time`): one of
/// `snapshot` or `source`, `time` only with `source`.
pub fn restore_of(desired: &Object) -> Result<Option<Restore>, ProviderError> {
    let Some(table) = attrs::table(desired, "restore") else {
        return Ok(None);
    };
    let bad = |message: String| ProviderError::config(format!("`restore`: {message}"));
    let field = |k: &str| attrs::string(table, k).filter(|s| !s.is_empty());
    if attrs::string(desired, "replicate_source_db").is_some() {
        return Err(bad(
            "a read replica copies its source; it cannot also be restored".into(),
        ));
    }
    match (field("snapshot"), field("source"), field("time")) {
        (Some(snapshot), None, None) => Ok(Some(Restore::Snapshot(snapshot))),
        (None, Some(source), time) => {
            let time = match time.as_deref() {
                None | Some("latest") => None,
                Some(text) => Some(
                    aws_smithy_types::DateTime::from_str(
                        text,
                        aws_smithy_types::date_time::Format::DateTime,
                    )
                    .map_err(|_| {
                        bad(format!(
                            "time `{text}` is neither `latest` nor an RFC 3339 time such as `2026-12-03T09:30:00Z`"
                        ))
                    })?,
                ),
            };
            Ok(Some(Restore::PointInTime { source, time }))
        }
        (Some(_), Some(_), _) => Err(bad(
            "set `snapshot` or `source` (a point in time), not both".into(),
        )),
        (Some(_), None, Some(_)) => Err(bad(
            "`time` is a point in time of `source`; a snapshot has no time".into(),
        )),
        (None, None, _) => Err(bad(
            "set `snapshot = \"ID\"` or `source = \"INSTANCE\"` (with `time = \"latest\"` or an RFC 3339 time)".into(),
        )),
    }
}

/// The attributes a restore cannot set, so the create sets them with a modify afterwards
/// (as Terraform does): those configured that differ from the restored instance.
pub fn after_restore_changes(restored: &Object, desired: &Object) -> Vec<String> {
    const MODIFIED_AFTER_RESTORE: [&str; 8] = [
        "engine_version",
        "allocated_storage",
        "max_allocated_storage",
        "backup_retention_days",
        "backup_window",
        "maintenance_window",
        "master_password",
        "parameter_group_name",
    ];
    MODIFIED_AFTER_RESTORE
        .iter()
        .filter(|k| {
            desired.get(**k).is_some_and(|want| {
                !want.is_null()
                    && (**k == "master_password"
                        || !want.same_as(restored.get(**k).unwrap_or(&Value::Null), ""))
            })
        })
        .map(|k| k.to_string())
        .collect()
}

/// Creates the instance by restoring `restore`.
pub async fn create(
    clients: &Clients,
    desired: &Object,
    identifier: &str,
    restore: &Restore,
) -> Result<(), ProviderError> {
    let d = desired;
    let tags = Some(aws_tags(&tags::desired(d)));
    match restore {
        Restore::Snapshot(snapshot) => {
            clients
                .rds
                .restore_db_instance_from_db_snapshot()
                .db_instance_identifier(identifier)
                .db_snapshot_identifier(snapshot)
                .set_engine(attrs::string(d, "engine"))
                .set_db_instance_class(attrs::string(d, "instance_class"))
                .set_storage_type(attrs::string(d, "storage_type"))
                .set_multi_az(attrs::boolean(d, "multi_az"))
                .set_deletion_protection(attrs::boolean(d, "deletion_protection"))
                .set_db_subnet_group_name(attrs::string(d, "db_subnet_group_name"))
                .set_db_parameter_group_name(attrs::string(d, "parameter_group_name"))
                .set_vpc_security_group_ids(attrs::strings(d, "vpc_security_group_ids"))
                .set_publicly_accessible(attrs::boolean(d, "publicly_accessible"))
                .set_tags(tags)
                .send()
                .await
                .map_err(|e| map_sdk("RestoreDBInstanceFromDBSnapshot", e))?;
        }
        Restore::PointInTime { source, time } => {
            clients
                .rds
                .restore_db_instance_to_point_in_time()
                .target_db_instance_identifier(identifier)
                .source_db_instance_identifier(source_identifier(source))
                .set_use_latest_restorable_time(time.is_none().then_some(true))
                .set_restore_time(*time)
                .set_engine(attrs::string(d, "engine"))
                .set_db_instance_class(attrs::string(d, "instance_class"))
                .set_storage_type(attrs::string(d, "storage_type"))
                .set_multi_az(attrs::boolean(d, "multi_az"))
                .set_deletion_protection(attrs::boolean(d, "deletion_protection"))
                .set_db_subnet_group_name(attrs::string(d, "db_subnet_group_name"))
                .set_db_parameter_group_name(attrs::string(d, "parameter_group_name"))
                .set_vpc_security_group_ids(attrs::strings(d, "vpc_security_group_ids"))
                .set_publicly_accessible(attrs::boolean(d, "publicly_accessible"))
                .set_tags(tags)
                .send()
                .await
                .map_err(|e| map_sdk("RestoreDBInstanceToPointInTime", e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_restore(fields: &[(&str, &str)]) -> Object {
        let table: Object = fields
            .iter()
            .map(|(k, v)| (k.to_string(), Value::string(*v)))
            .collect();
        [("restore".to_string(), Value::Map(table))]
            .into_iter()
            .collect()
    }

    #[test]
    fn restore_reads_a_snapshot_or_a_point_in_time_and_refuses_the_rest() {
        assert_eq!(restore_of(&Object::new()).unwrap(), None);
        assert_eq!(
            restore_of(&with_restore(&[("snapshot", "mita-db-final")])).unwrap(),
            Some(Restore::Snapshot("mita-db-final".into()))
        );
        assert_eq!(
            restore_of(&with_restore(&[("source", "mita-db")])).unwrap(),
            Some(Restore::PointInTime {
                source: "mita-db".into(),
                time: None
            })
        );
        assert_eq!(
            restore_of(&with_restore(&[("source", "mita-db"), ("time", "latest")])).unwrap(),
            Some(Restore::PointInTime {
                source: "mita-db".into(),
                time: None
            })
        );
        let at = restore_of(&with_restore(&[
            ("source", "mita-db"),
            ("time", "2026-12-03T09:30:00Z"),
        ]))
        .unwrap();
        assert_eq!(
            at,
            Some(Restore::PointInTime {
                source: "mita-db".into(),
                time: Some(aws_smithy_types::DateTime::from_secs(1_796_290_200)),
            })
        );
        for (fields, says) in [
            (vec![("snapshot", "s"), ("source", "d")], "not both"),
            (vec![("snapshot", "s"), ("time", "latest")], "no time"),
            (vec![("time", "latest")], "set `snapshot"),
            (vec![("source", "d"), ("time", "yesterday")], "RFC 3339"),
        ] {
            let error = restore_of(&with_restore(&fields)).unwrap_err();
            assert!(
                error.message.contains(says),
                "{fields:?}: {}",
                error.message
            );
        }
        let mut replica = with_restore(&[("snapshot", "s")]);
        replica.insert("replicate_source_db".into(), Value::string("mita-db"));
        assert!(restore_of(&replica).is_err());
    }

    #[test]
    fn a_restore_modifies_afterwards_only_what_it_could_not_set() {
        let o = |pairs: &[(&str, Value)]| -> Object {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let restored = o(&[
            ("backup_retention_days", Value::Int(1)),
            ("allocated_storage", Value::Int(100)),
            ("instance_class", Value::string("db.t4g.medium")),
        ]);
        let desired = o(&[
            ("backup_retention_days", Value::Int(7)),
            ("allocated_storage", Value::Int(100)),
            ("instance_class", Value::string("db.r6g.large")),
            ("master_password", Value::string("pw").sensitive()),
            ("maintenance_window", Value::Null),
        ]);
        assert_eq!(
            after_restore_changes(&restored, &desired),
            ["backup_retention_days", "master_password"]
        );
    }
}
