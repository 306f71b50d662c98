# Guide: automated backups (RDS point-in-time recovery for 7 days in production, Redis
# snapshots, a versioned backup bucket, the daily backup job of the release).
package mita.backups

import rego.v1

import data.mita.lib

minimum_retention := 7 if lib.production

else := 1

deny contains lib.finding(rc, "backup_retention_period", sprintf("PostgreSQL backups must be kept at least %d days", [minimum_retention])) if {
	some rc in lib.of_type("aws_db_instance")
	not lib.is_replica(rc)
	not rc.change.after.backup_retention_period >= minimum_retention
}

deny contains lib.finding(rc, "snapshot_retention_limit", "Redis must keep at least one daily snapshot") if {
	some rc in lib.of_type("aws_elasticache_replication_group")
	not rc.change.after.snapshot_retention_limit >= 1
}

deny contains lib.finding(rc, "versioning", "the backup bucket must be versioned") if {
	some rc in lib.of_type("aws_s3_bucket")
	rc.change.after.tags.data == "backups"
	not rc.change.after.versioning == true
}

deny contains lib.finding(rc, "cronjobs.backup", "the production release must run the daily backup job") if {
	lib.production
	some rc in lib.of_type("app_release")
	not rc.change.after.cronjobs.backup.schedule
}
