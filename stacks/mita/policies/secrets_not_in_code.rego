# Guide, Security Checklist: "Secrets are not in code": a credential-like environment
# variable of a release must come from a secret (the plan never shows a secret's value, so
# a value that appears here was written in the stack or a variable).
package mita.secrets_not_in_code

import rego.v1

import data.mita.lib

credential := `(?i)(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|ACCESS_KEY|DSN|CREDENTIAL)`

deny contains lib.finding(rc, sprintf("env.%s", [name]), sprintf("%s looks like a credential: take it from [secrets]", [name])) if {
	some rc in lib.of_type("app_release")
	some name, value in rc.change.after.env
	regex.match(credential, name)
	is_string(value)
}
