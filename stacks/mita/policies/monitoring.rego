# Guide, Security Checklist: "Monitoring and alerting are working": in production the app is
# scraped (a ServiceMonitor) and has alert rules (a PrometheusRule) routed to an on-call
# receiver (an AlertmanagerConfig).
package mita.monitoring

import rego.v1

import data.mita.lib

kinds contains kind if {
	some rc in lib.of_type("k8s_object")
	kind := rc.change.after.manifest.kind
}

deny contains lib.finding(ns, kind, sprintf("production needs a %s (monitoring and alerting)", [kind])) if {
	lib.production
	lib.whole_plan
	some ns in lib.of_type("k8s_namespace")
	some kind in ["ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"]
	not kind in kinds
}
