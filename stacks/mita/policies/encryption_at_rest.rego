# Guide, Security Checklist: "Backup encryption is enabled" and data encrypted at rest:
# the PostgreSQL storage, the Redis cache and every bucket.
package mita.encryption_at_rest

import rego.v1

import data.mita.lib

deny contains lib.finding(rc, "storage_encrypted", "PostgreSQL storage must be encrypted at rest") if {
	some rc in lib.of_type("aws_db_instance")
	not lib.is_replica(rc)
	not rc.change.after.storage_encrypted == true
}

deny contains lib.finding(rc, "at_rest_encryption_enabled", "Redis data must be encrypted at rest") if {
	some rc in lib.of_type("aws_elasticache_replication_group")
	not rc.change.after.at_rest_encryption_enabled == true
}

deny contains lib.finding(rc, "server_side_encryption", "bucket objects must be encrypted at rest (AES256 or aws:kms)") if {
	some rc in lib.of_type("aws_s3_bucket")
	not rc.change.after.server_side_encryption in {"AES256", "aws:kms", "aws:kms:dsse"}
}
