# Production data and its front door cannot be deleted by one command: the database and the
# load balancer have deletion protection, the buckets are never force-destroyed, and a deleted
# database leaves a final snapshot.
package mita.deletion_protection

import rego.v1

import data.mita.lib

deny contains lib.finding(rc, "deletion_protection", "the production database must have deletion protection") if {
	lib.production
	some rc in lib.of_type("aws_db_instance")
	not lib.is_replica(rc)
	not rc.change.after.deletion_protection == true
}

deny contains lib.finding(rc, "enable_deletion_protection", "the production load balancer must have deletion protection") if {
	lib.production
	some rc in lib.of_type("aws_lb")
	not rc.change.after.enable_deletion_protection == true
}

deny contains lib.finding(rc, "force_destroy", "production buckets must not be force-destroyable") if {
	lib.production
	some rc in lib.of_type("aws_s3_bucket")
	rc.change.after.force_destroy == true
}

deny contains lib.finding(rc, "skip_final_snapshot", "deleting the production database must leave a final snapshot") if {
	lib.production
	some rc in lib.of_type("aws_db_instance")
	not lib.is_replica(rc)
	rc.change.after.skip_final_snapshot == true
}
