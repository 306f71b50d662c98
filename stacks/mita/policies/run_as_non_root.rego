# Guide: containers run as a non-root user (runAsNonRoot, a non-zero user id).
package mita.run_as_non_root

import rego.v1

import data.mita.lib

deny contains lib.finding(rc, "security.run_as_non_root", "the release's containers must run as non-root") if {
	some rc in lib.of_type("app_release")
	not rc.change.after.security.run_as_non_root == true
}

deny contains lib.finding(rc, "security.run_as_user", "the release's containers must not run as user 0") if {
	some rc in lib.of_type("app_release")
	rc.change.after.security.run_as_user == 0
}
