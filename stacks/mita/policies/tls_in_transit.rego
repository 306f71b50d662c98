# Guide, Security Checklist: "Database connections use SSL/TLS", TLS at the edge (HTTPS with
# TLS 1.3, HTTP only as a redirect to HTTPS) and TLS to Redis.
package mita.tls_in_transit

import rego.v1

import data.mita.lib

forced_ssl_groups contains g.change.after.name if {
	some g in lib.of_type("aws_db_parameter_group")
	g.change.after.parameters["rds.force_ssl"] == "1"
}

deny contains lib.finding(g, "parameters", "PostgreSQL parameter groups must set rds.force_ssl = \"1\"") if {
	some g in lib.of_type("aws_db_parameter_group")
	startswith(g.change.after.family, "postgres")
	not g.change.after.parameters["rds.force_ssl"] == "1"
}

deny contains lib.finding(rc, "parameter_group_name", "PostgreSQL must use a parameter group that forces SSL") if {
	some rc in lib.of_type("aws_db_instance")
	not lib.is_replica(rc)
	not rc.change.after.parameter_group_name in forced_ssl_groups
}

deny contains lib.finding(rc, "transit_encryption_enabled", "Redis connections must use TLS") if {
	some rc in lib.of_type("aws_elasticache_replication_group")
	not rc.change.after.transit_encryption_enabled == true
}

deny contains lib.finding(rc, "ssl_policy", "HTTPS listeners must use a TLS 1.3 security policy") if {
	some rc in lib.of_type("aws_lb_listener")
	rc.change.after.protocol == "HTTPS"
	not startswith(rc.change.after.ssl_policy, "ELBSecurityPolicy-TLS13")
}

deny contains lib.finding(rc, "default_action", "a plain-HTTP listener may only redirect to HTTPS") if {
	some rc in lib.of_type("aws_lb_listener")
	rc.change.after.protocol == "HTTP"
	not rc.change.after.default_action.redirect.protocol == "HTTPS"
}

# Guide, Security Checklist: "SSL certificates are valid and auto-renewing": ACM renews the
# certificates it issues. An ARN known only after apply is the `data.aws_acm_certificate`
# lookup not read (a plan without credentials); `apply` refuses such a plan and checks again.
deny contains lib.finding(rc, "certificate_arn", "HTTPS listeners must use an ACM certificate (renewed automatically)") if {
	some rc in lib.of_type("aws_lb_listener")
	rc.change.after.protocol == "HTTPS"
	not rc.change.after_unknown.certificate_arn
	not startswith(rc.change.after.certificate_arn, "arn:aws:acm:")
}
