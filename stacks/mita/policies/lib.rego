# Helpers of the MITA Security Checklist policies (no rules of their own).
# The input is the plan in Terraform's format (`plinth plan --format terraform-json`);
# data.plinth.environment is the environment planned.
package mita.lib

import rego.v1

# Every resource the plan creates, updates or keeps (not the ones it destroys).
planned contains rc if {
	some rc in input.resource_changes
	rc.change.after != null
}

of_type(t) := {rc | some rc in planned; rc.type == t}

# A read replica inherits storage, encryption and backups from its source instance.
is_replica(rc) if rc.change.after.replicate_source_db
is_replica(rc) if rc.change.after_unknown.replicate_source_db

production if data.plinth.environment == "production"

# A `--target` plan holds only some resources: rules about the whole stack ("a NetworkPolicy
# exists") are decided on whole plans only.
whole_plan if not data.plinth.partial

finding(rc, attribute, msg) := {"msg": msg, "address": rc.address, "attribute": attribute}
