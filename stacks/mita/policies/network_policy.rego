# Guide, Security Checklist: "Network policies are implemented": each namespace denies all
# traffic by default, and each release brings the NetworkPolicy of its own pods.
package mita.network_policy

import rego.v1

import data.mita.lib

default_deny(namespace) if {
	some rc in lib.of_type("k8s_object")
	m := rc.change.after.manifest
	m.kind == "NetworkPolicy"
	m.metadata.namespace == namespace
	count(m.spec.podSelector) == 0
	"Ingress" in m.spec.policyTypes
	"Egress" in m.spec.policyTypes
}

deny contains lib.finding(ns, "NetworkPolicy", "the namespace needs a default-deny NetworkPolicy (ingress and egress)") if {
	lib.whole_plan
	some ns in lib.of_type("k8s_namespace")
	not default_deny(ns.change.after.name)
}

deny contains lib.finding(rc, "security.network_policy", "the release must bring the NetworkPolicy of its pods") if {
	some rc in lib.of_type("app_release")
	not rc.change.after.security.network_policy == true
}
