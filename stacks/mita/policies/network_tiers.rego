# Only the load balancer faces the internet, and only on HTTPS (443) and the HTTP redirect
# (80): a security group rule open to 0.0.0.0/0 on any other port — SSH, PostgreSQL, Redis,
# "all traffic" — is denied, whichever group it is in.
package mita.network_tiers

import rego.v1

import data.mita.lib

internet := {"0.0.0.0/0"}

public_ports := {80, 443}

deny contains lib.finding(rc, "ingress", sprintf("%s is open to the internet on %s; only 80 and 443 may be", [rc.change.after.name, ports(rule)])) if {
	some rc in lib.of_type("aws_security_group")
	some rule in rc.change.after.ingress
	some cidr in cidr_blocks(rule)
	cidr in internet
	not web_port(rule)
}

# A rule that names only peer groups has no ranges (null in the plan).
cidr_blocks(rule) := rule.cidr_blocks if is_array(rule.cidr_blocks)

cidr_blocks(rule) := [] if not is_array(rule.cidr_blocks)

web_port(rule) if {
	rule.protocol != "-1"
	rule.protocol != "all"
	rule.from_port == rule.to_port
	rule.from_port in public_ports
}

ports(rule) := "every port" if rule.protocol in {"-1", "all"}

ports(rule) := sprintf("ports %d-%d", [rule.from_port, rule.to_port]) if not rule.protocol in {"-1", "all"}
