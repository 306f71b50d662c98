# The databases never get a public address: every instance, replicas included, says
# publicly_accessible = false itself (left unset, the subnets' and VPC's defaults decide).
package mita.no_public_database

import rego.v1

import data.mita.lib

deny contains lib.finding(rc, "publicly_accessible", "database instances must set publicly_accessible = false") if {
	some rc in lib.of_type("aws_db_instance")
	not rc.change.after.publicly_accessible == false
}
