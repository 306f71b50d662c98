# No bucket can be made public: all four S3 public access block settings are on.
package mita.no_public_buckets

import rego.v1

import data.mita.lib

settings := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

deny contains lib.finding(rc, sprintf("public_access_block.%s", [s]), "buckets must block every kind of public access") if {
	some rc in lib.of_type("aws_s3_bucket")
	some s in settings
	not rc.change.after.public_access_block[s] == true
}
