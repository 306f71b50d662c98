"""Runs moto server on 127.0.0.1:PORT for Plinth's tests.

Usage: python moto_server.py PORT [--idle-exit SECONDS]

Without `--idle-exit` the server exits with the process that started it
(`PLINTH_PARENT_PID`, else its parent); with it, a server shared by many test processes
exits after that many seconds without a request.

On top of plain moto server this launcher (see EMULATORS.md; never change product code to suit
the emulator):

* maps accounts from access keys: a request signed with an access key id ending in 12 digits runs
  in that moto account (as if it sent `x-moto-account-id`), so parallel tests stay apart;
* holds RDS instances, ElastiCache replication groups and load balancers in a transient status
  (`creating` / `modifying` / `deleting` / `provisioning`) for N describes, so wait paths run;
* fixes moto bugs: ElastiCache `DeleteReplicationGroup` leaving the group `deleting` forever,
  `DescribeCacheClusters` not knowing a replication group's member clusters, S3
  `PutObjectLockConfiguration` refused on a lock-enabled bucket that holds objects,
  RDS `ModifyDBSubnetGroup` deleting the group, RDS `ResetDBParameterGroup` and ElastiCache
  `DeleteCacheSubnetGroup` / `ModifyCacheSubnetGroup` / `IncreaseReplicaCount` /
  `DecreaseReplicaCount` missing (HTTP 500), S3
  `GetBucketVersioning` answering with a root element the Rust SDK rejects;
* answers EC2 `DeleteSecurityGroup` with `DependencyViolation` while the group is in use (another
  group's rule refers to it, or an RDS instance, ElastiCache replication group or load balancer
  carries it), as AWS does; moto deletes it regardless;
* injects faults (`Throttling`, HTTP 500, latency) into chosen actions N times;
* counts calls per account and action;
* seeds a VPC with subnets in two AZs and a security group, and imports self-signed ACM
  certificates.

Control endpoints (JSON bodies; `account` defaults to moto's 123456789012):

* `POST /_plinth/faults` `{"account", "action", "kind": "throttle"|"error"|"latency", "count",
  "latency_ms"}` where `action` is e.g. `DescribeDBInstances` (S3: `s3:GET`, `s3:PUT`, ...)
* `POST /_plinth/holds` `{"account", "service": "rds"|"elasticache"|"elbv2",
  "on": "create"|"modify"|"delete", "id": optional, "describes": N}`
* `GET /_plinth/calls?account=A` → `{"service:Action": count}`; `POST /_plinth/calls/reset`
* `POST /_plinth/seed-network` `{"account", "region", "name"?}` → `{"vpc_id", "subnet_ids",
  "security_group_id"}`
* `POST /_plinth/acm-certificate` `{"account", "region", "domain"}` → `{"certificate_arn"}`
* `POST /_plinth/reset` wipes moto and the launcher's registries; `GET /_plinth/ping`.
"""
import datetime
import io
import json
import logging
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

DEFAULT_ACCOUNT = "123456789012"
LOCK = threading.RLock()
FAULTS = []  # dicts: account, action, kind, count, latency_ms
ARMED = []  # dicts: account, service, on, id, describes
HOLDS = {}  # (account, service, id) -> {"status", "remaining", "on"}
CALLS = {}  # account -> {"service:Action": n}
LAST_REQUEST = [time.time()]
CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/[^/]+/([^/]+)/([^/]+)/")
ACCOUNT_IN_KEY = re.compile(r"(\d{12})$")
S3_ROOTS = {"versioning": ("GetBucketVersioningResponse", "VersioningConfiguration")}
TRANSIENT = {"create": "creating", "modify": "modifying", "delete": "deleting"}


def arm(account, service, on, ident):
    """Turns a matching armed hold into an active hold on `ident`; returns the status or None."""
    with LOCK:
        for rule in list(ARMED):
            if rule["account"] == account and rule["service"] == service and rule["on"] == on:
                if rule.get("id") in (None, ident):
                    ARMED.remove(rule)
                    status = TRANSIENT[on]
                    if service == "elbv2":
                        status = "provisioning"
                    HOLDS[(account, service, ident)] = {
                        "status": status, "remaining": int(rule["describes"]), "on": on}
                    return status
    return None


def tick(account, service, ident):
    """One describe of a held resource: returns 'hold', 'finish' or None (not held)."""
    with LOCK:
        hold = HOLDS.get((account, service, ident))
        if hold is None:
            return None
        if hold["remaining"] <= 0:
            del HOLDS[(account, service, ident)]
            return "finish"
        hold["remaining"] -= 1
        return "hold"


def patch_rds():
    from moto.rds.exceptions import DBSubnetGroupNotFoundError
    from moto.rds.models import RDSBackend

    def modify_db_subnet_group(self, subnet_name, description, subnets):
        # moto pops the group out of the backend and never puts it back.
        group = self.subnet_groups.get(subnet_name)
        if group is None:
            raise DBSubnetGroupNotFoundError(subnet_name)
        group.subnets = subnets
        if subnets:
            group.vpc_id = subnets[0].vpc_id
        if description is not None:
            group.description = description
        return group

    RDSBackend.modify_db_subnet_group = modify_db_subnet_group

    from moto.core.responses import ActionResult
    from moto.rds.exceptions import DBParameterGroupNotFoundError
    from moto.rds.responses import RDSResponse

    def reset_db_parameter_group(self):
        # Not implemented by moto (HTTP 500): drop the named user parameters, or all of them.
        name = self.params.get("DBParameterGroupName")
        group = self.backend.db_parameter_groups.get(name)
        if group is None:
            raise DBParameterGroupNotFoundError(name)
        params = [p.original_dict() for p in self.params.get("Parameters", [])]
        if self.params.get("ResetAllParameters") or not params:
            group.parameters.clear()
        for param in params:
            group.parameters.pop(param["ParameterName"], None)
        return ActionResult({"DBParameterGroupName": group.name})

    RDSResponse.reset_db_parameter_group = reset_db_parameter_group

    def wrap_create(orig):
        def create(self, db_kwargs):
            db = orig(self, db_kwargs)
            status = arm(self.account_id, "rds", "create", db.db_instance_identifier)
            if status:
                db.status = status
            return db
        return create

    RDSBackend.create_db_instance = wrap_create(RDSBackend.create_db_instance)
    RDSBackend.create_db_instance_read_replica = wrap_create(RDSBackend.create_db_instance_read_replica)

    orig_pitr = RDSBackend.restore_db_instance_to_point_in_time

    def restore_db_instance_to_point_in_time(self, source_db_identifier, target_db_identifier,
                                             overrides):
        # moto passes the request's SourceDBInstanceIdentifier on to the new instance, which
        # then reports itself as a read replica of the source; a restore is an independent
        # instance (AWS: ReadReplicaSourceDBInstanceIdentifier unset).
        overrides = {k: v for k, v in overrides.items()
                     if k not in ("source_db_instance_identifier", "target_db_instance_identifier")}
        return orig_pitr(self, source_db_identifier, target_db_identifier, overrides)

    RDSBackend.restore_db_instance_to_point_in_time = restore_db_instance_to_point_in_time

    orig_modify = RDSBackend.modify_db_instance

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        db = orig_modify(self, db_instance_identifier, db_kwargs)
        status = arm(self.account_id, "rds", "modify", db.db_instance_identifier)
        if status:
            db.status = status
        return db

    RDSBackend.modify_db_instance = modify_db_instance

    orig_delete = RDSBackend.delete_db_instance

    def delete_db_instance(self, db_instance_identifier, final_db_snapshot_identifier=None,
                           skip_final_snapshot=False, delete_automated_backups=True):
        db = self.databases.get(db_instance_identifier)
        if db is not None and not db.deletion_protection:
            status = arm(self.account_id, "rds", "delete", db_instance_identifier)
            if status:
                db.status = status
                with LOCK:
                    HOLDS[(self.account_id, "rds", db_instance_identifier)]["args"] = (
                        final_db_snapshot_identifier, skip_final_snapshot, delete_automated_backups)
                return db
        return orig_delete(self, db_instance_identifier, final_db_snapshot_identifier,
                           skip_final_snapshot, delete_automated_backups)

    RDSBackend.delete_db_instance = delete_db_instance

    orig_describe = RDSBackend.describe_db_instances

    def describe_db_instances(self, db_instance_identifier=None, filters=None):
        for ident in list(self.databases):
            if db_instance_identifier not in (None, ident):
                continue
            with LOCK:
                hold = dict(HOLDS.get((self.account_id, "rds", ident), {}))
            state = tick(self.account_id, "rds", ident)
            if state == "finish":
                if hold.get("on") == "delete":
                    snap, skip, auto = hold.get("args", (None, True, True))
                    orig_delete(self, ident, snap, skip, auto)
                else:
                    self.databases[ident].status = "available"
        return orig_describe(self, db_instance_identifier, filters)

    RDSBackend.describe_db_instances = describe_db_instances


def patch_elasticache():
    from moto.elasticache.models import ElastiCacheBackend

    orig_create = ElastiCacheBackend.create_replication_group

    def create_replication_group(self, *args, **kwargs):
        group = orig_create(self, *args, **kwargs)
        status = arm(self.account_id, "elasticache", "create", group.replication_group_id)
        if status:
            group.status = status
        return group

    ElastiCacheBackend.create_replication_group = create_replication_group

    orig_modify = ElastiCacheBackend.modify_replication_group

    def modify_replication_group(self, *args, **kwargs):
        group = orig_modify(self, *args, **kwargs)
        status = arm(self.account_id, "elasticache", "modify", group.replication_group_id)
        if status:
            group.status = status
        return group

    ElastiCacheBackend.modify_replication_group = modify_replication_group

    orig_delete = ElastiCacheBackend.delete_replication_group

    def delete_replication_group(self, replication_group_id, retain_primary_cluster):
        group = orig_delete(self, replication_group_id, retain_primary_cluster)
        # moto leaves the group `deleting` forever; it goes away now or after the hold.
        if not arm(self.account_id, "elasticache", "delete", replication_group_id):
            self.replication_groups.pop(replication_group_id, None)
        return group

    ElastiCacheBackend.delete_replication_group = delete_replication_group

    orig_describe = ElastiCacheBackend.describe_replication_groups

    def describe_replication_groups(self, replication_group_id=None):
        for ident in list(self.replication_groups):
            if replication_group_id not in (None, ident):
                continue
            with LOCK:
                hold = dict(HOLDS.get((self.account_id, "elasticache", ident), {}))
            if tick(self.account_id, "elasticache", ident) == "finish":
                if hold.get("on") == "delete":
                    self.replication_groups.pop(ident, None)
                else:
                    self.replication_groups[ident].status = "available"
        return orig_describe(self, replication_group_id)

    ElastiCacheBackend.describe_replication_groups = describe_replication_groups

    # moto lists a replication group's member clusters but keeps no such clusters: describing
    # one by id answers CacheClusterNotFound. AWS answers with the node, carrying the group's
    # engine version, subnet group, parameter group and security groups.
    orig_describe_clusters = ElastiCacheBackend.describe_cache_clusters

    def describe_cache_clusters(self, cache_cluster_id=None):
        if cache_cluster_id and cache_cluster_id not in self.cache_clusters:
            for group in self.replication_groups.values():
                if cache_cluster_id in (group.member_clusters or []):
                    return [member_cluster(self, group, cache_cluster_id)]
        return orig_describe_clusters(self, cache_cluster_id)

    ElastiCacheBackend.describe_cache_clusters = describe_cache_clusters
    patch_cache_subnet_groups()


def member_cluster(backend, group, cluster_id):
    """A CacheCluster standing for member `cluster_id` of replication group `group`."""
    from moto.elasticache.models import CacheCluster

    cluster = CacheCluster(
        account_id=backend.account_id, region_name=backend.region_name, cache_cluster_id=cluster_id,
        cache_node_type=group.cache_node_type, replication_group_id=group.replication_group_id,
        az_mode=None, preferred_availability_zone=None, num_cache_nodes=1, engine=group.engine,
        engine_version=group.engine_version, cache_parameter_group_name=group.cache_parameter_group_name,
        cache_subnet_group_name=group.cache_subnet_group_name,
        transit_encryption_enabled=group.transit_encryption_enabled, network_type=None,
        ip_discovery=None, snapshot_name=None, preferred_maintenance_window=None, port=6379,
        notification_topic_arn=None, auto_minor_version_upgrade=None,
        snapshot_retention_limit=group.snapshot_retention_limit, snapshot_window=group.snapshot_window,
        auth_token=None, outpost_mode=None, preferred_outpost_arn=None,
        preferred_availability_zones=None, cache_security_group_names=None,
        security_group_ids=list(group.security_group_ids or []), tags=None, snapshot_arns=None,
        preferred_outpost_arns=None, log_delivery_configurations=[], cache_node_ids_to_remove=None,
        cache_node_ids_to_reboot=None,
    )
    # moto's CacheCluster never reports SecurityGroups (the serializer reads this attribute).
    cluster.security_groups = [{"SecurityGroupId": g, "Status": "active"}
                               for g in (group.security_group_ids or [])]
    return cluster


def patch_cache_subnet_groups():
    """moto answers DeleteCacheSubnetGroup / ModifyCacheSubnetGroup with HTTP 500."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound
    from moto.elasticache.models import CacheSubnetGroup
    from moto.elasticache.responses import ElastiCacheResponse

    def delete_cache_subnet_group(self):
        name = self._get_param("CacheSubnetGroupName")
        if self.elasticache_backend.cache_subnet_groups.pop(name, None) is None:
            raise CacheSubnetGroupNotFound(name)
        return EmptyResult()

    def modify_cache_subnet_group(self):
        backend = self.elasticache_backend
        name = self._get_param("CacheSubnetGroupName")
        old = backend.cache_subnet_groups.get(name)
        if old is None:
            raise CacheSubnetGroupNotFound(name)
        description = self._get_param("CacheSubnetGroupDescription") or old.cache_subnet_group_description
        subnet_ids = self._get_param("SubnetIds", []) or old.subnet_ids
        new = CacheSubnetGroup(backend.account_id, backend.region_name, name, description, subnet_ids, old.tags)
        backend.cache_subnet_groups[name] = new
        return ActionResult({"CacheSubnetGroup": new})

    def change_replica_count(self):
        # IncreaseReplicaCount / DecreaseReplicaCount are not implemented by moto (HTTP 500):
        # grow or shrink every node group's replica list to NewReplicaCount.
        import copy
        from moto.elasticache.exceptions import ReplicationGroupNotFound

        backend = self.elasticache_backend
        group_id = self._get_param("ReplicationGroupId")
        group = backend.replication_groups.get(group_id)
        if group is None:
            raise ReplicationGroupNotFound(group_id)
        wanted = int(self._get_param("NewReplicaCount"))
        for node_group in group.node_groups:
            members = node_group["node_group_members"]
            while len(members) - 1 > wanted and len(members) > 1:
                gone = members.pop()
                if gone["cache_cluster_id"] in group.member_clusters:
                    group.member_clusters.remove(gone["cache_cluster_id"])
            while len(members) - 1 < wanted:
                last = members[-1]["cache_cluster_id"]
                stem, number = last.rsplit("-", 1)
                member = copy.deepcopy(members[-1])
                member["cache_cluster_id"] = f"{stem}-{int(number) + 1:0>{len(number)}}"
                member["current_role"] = "replica"
                members.append(member)
                group.member_clusters.append(member["cache_cluster_id"])
        arm(backend.account_id, "elasticache", "modify", group_id)
        return ActionResult({"ReplicationGroup": group})

    ElastiCacheResponse.increase_replica_count = change_replica_count
    ElastiCacheResponse.decrease_replica_count = change_replica_count
    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group
    ElastiCacheResponse.modify_cache_subnet_group = modify_cache_subnet_group


def patch_s3_object_lock():
    """moto refuses PutObjectLockConfiguration on a bucket holding objects even when Object
    Lock is already on; AWS changes the default retention of a lock-enabled bucket at any time
    (it applies to new object versions)."""
    from moto.s3.exceptions import InvalidBucketState
    from moto.s3.models import S3Backend

    orig_put = S3Backend.put_object_lock_configuration

    def put_object_lock_configuration(self, bucket_name, lock_enabled, mode=None, days=None, years=None):
        bucket = self.get_bucket(bucket_name)
        if not getattr(bucket, "object_lock_enabled", False):
            return orig_put(self, bucket_name, lock_enabled, mode=mode, days=days, years=years)
        if not bucket.is_versioned:
            raise InvalidBucketState(
                "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
        bucket.default_lock_mode = mode
        bucket.default_lock_days = days
        bucket.default_lock_years = years

    S3Backend.put_object_lock_configuration = put_object_lock_configuration


def patch_ec2():
    """AWS refuses to delete a security group something still uses; moto deletes it."""
    from moto.ec2.exceptions import DependencyViolationError
    from moto.ec2.models.security_groups import SecurityGroupBackend
    from moto.elasticache.models import elasticache_backends
    from moto.elbv2.models import elbv2_backends
    from moto.rds.models import rds_backends

    orig_delete = SecurityGroupBackend.delete_security_group

    def users(backend, group_id):
        found = []
        for groups in backend.groups.values():
            for group in list(groups.values()):
                if group.id == group_id:
                    continue
                for rule in group.ingress_rules + group.egress_rules:
                    if (rule.source_group or {}).get("GroupId") == group_id:
                        found.append(f"a rule of {group.id}")
        account, region = backend.account_id, backend.region_name
        for name, db in rds_backends[account][region].databases.items():
            if group_id in (db.vpc_security_group_ids or []):
                found.append(f"RDS instance {name}")
        for name, rg in elasticache_backends[account][region].replication_groups.items():
            if group_id in (rg.security_group_ids or []):
                found.append(f"replication group {name}")
        for lb in elbv2_backends[account][region].load_balancers.values():
            if group_id in (lb.security_groups or []):
                found.append(f"load balancer {lb.name}")
        return found

    def delete_security_group(self, name=None, group_id=None):
        if group_id:
            found = users(self, group_id)
            if found:
                raise DependencyViolationError(
                    f"resource {group_id} has a dependent object ({', '.join(found)})")
        return orig_delete(self, name=name, group_id=group_id)

    SecurityGroupBackend.delete_security_group = delete_security_group


def patch_elbv2():
    from moto.elbv2.models import ELBv2Backend

    orig_create = ELBv2Backend.create_load_balancer

    def create_load_balancer(self, *args, **kwargs):
        lb = orig_create(self, *args, **kwargs)
        arm(self.account_id, "elbv2", "create", lb.name)
        return lb

    ELBv2Backend.create_load_balancer = create_load_balancer

    orig_describe = ELBv2Backend.describe_load_balancers

    def describe_load_balancers(self, arns, names):
        held = []
        for lb in list(self.load_balancers.values()):
            if (arns or names) and lb.arn not in (arns or []) and lb.name not in (names or []):
                continue
            if tick(self.account_id, "elbv2", lb.name) == "hold":
                held.append(lb)
        result = orig_describe(self, arns, names)
        for lb in held:
            lb.state = "provisioning"
        return result

    ELBv2Backend.describe_load_balancers = describe_load_balancers


def error_body(service, code, message, receiver):
    if service == "s3":
        return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    kind = "Receiver" if receiver else "Sender"
    return (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>plinth-fault</RequestId></ErrorResponse>")


class Launcher:
    """WSGI middleware around moto's app: accounts, call counts, faults and control endpoints."""

    def __init__(self, app, port):
        self.app = app
        self.port = port

    def __call__(self, environ, start_response):
        LAST_REQUEST[0] = time.time()
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_plinth/"):
            return self.control(environ, start_response, path)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        match = CREDENTIAL.search(auth)
        service = match.group(3) if match else "unknown"
        if service == "elasticloadbalancing":
            service = "elbv2"
        account = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        if account is None and match:
            key_account = ACCOUNT_IN_KEY.search(match.group(1))
            if key_account:
                account = key_account.group(1)
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
        account = account or DEFAULT_ACCOUNT
        action = self.action(environ, service)
        with LOCK:
            counts = CALLS.setdefault(account, {})
            key = f"{service}:{action}"
            counts[key] = counts.get(key, 0) + 1
            fault = None
            for rule in FAULTS:
                if rule["action"] in (action, key) and rule.get("account", DEFAULT_ACCOUNT) == account:
                    fault = dict(rule)
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        FAULTS.remove(rule)
                    break
        if fault:
            if fault["kind"] == "latency":
                time.sleep(fault.get("latency_ms", 100) / 1000.0)
            else:
                throttle = fault["kind"] == "throttle"
                if service == "s3":
                    code, status = ("SlowDown", "503 Slow Down") if throttle else ("InternalError", "500 Internal Server Error")
                else:
                    code, status = ("Throttling", "400 Bad Request") if throttle else ("InternalFailure", "500 Internal Server Error")
                body = error_body(service, code, "injected by the Plinth test launcher", not throttle).encode()
                start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
                return [body]
        if service == "s3" and environ.get("REQUEST_METHOD") == "GET":
            query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            for key, (wrong, right) in S3_ROOTS.items():
                if key in query:
                    return self.rename_root(environ, start_response, wrong, right)
        return self.app(environ, start_response)

    def rename_root(self, environ, start_response, wrong, right):
        """moto names some S3 response roots after the operation; the Rust SDK checks them."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        body = body.replace(f"<{wrong}".encode(), f"<{right}".encode()).replace(
            f"</{wrong}>".encode(), f"</{right}>".encode())
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return [body]

    @staticmethod
    def action(environ, service):
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.split(".")[-1]
        if service == "s3":
            return environ.get("REQUEST_METHOD", "GET")
        ctype = environ.get("CONTENT_TYPE", "")
        if "x-www-form-urlencoded" in ctype:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            found = parse_qs(body.decode("utf-8", "replace")).get("Action")
            if found:
                return found[0]
        found = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
        return found[0] if found else "unknown"

    def control(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        body = json.loads(raw or b"{}")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        account = body.get("account") or query.get("account") or DEFAULT_ACCOUNT
        status, result = "200 OK", {}
        try:
            if path == "/_plinth/ping":
                result = {"ok": True}
            elif path == "/_plinth/faults" and method == "POST":
                rule = {"account": account, "action": body["action"], "kind": body.get("kind", "throttle"),
                        "count": int(body.get("count", 1)), "latency_ms": int(body.get("latency_ms", 0))}
                with LOCK:
                    FAULTS.append(rule)
            elif path == "/_plinth/holds" and method == "POST":
                with LOCK:
                    ARMED.append({"account": account, "service": body["service"], "on": body.get("on", "create"),
                                  "id": body.get("id"), "describes": int(body.get("describes", 2))})
            elif path == "/_plinth/calls" and method == "GET":
                with LOCK:
                    result = dict(CALLS.get(account, {}))
            elif path == "/_plinth/calls/reset" and method == "POST":
                with LOCK:
                    CALLS.pop(account, None)
            elif path == "/_plinth/seed-network" and method == "POST":
                result = self.seed_network(account, body.get("region", "us-east-1"), body.get("name"))
            elif path == "/_plinth/acm-certificate" and method == "POST":
                result = self.import_certificate(account, body.get("region", "us-east-1"),
                                                 body.get("domain", "example.test"))
            elif path == "/_plinth/reset" and method == "POST":
                from moto.moto_api._internal.models import moto_api_backend
                with LOCK:
                    FAULTS.clear()
                    ARMED.clear()
                    HOLDS.clear()
                    CALLS.clear()
                moto_api_backend.reset()
            else:
                status, result = "404 Not Found", {"error": f"no control endpoint {method} {path}"}
        except Exception as exc:  # reported to the test, which fails with the message
            status, result = "500 Internal Server Error", {"error": repr(exc)}
        out = json.dumps(result).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
        return [out]

    def client(self, name, account, region):
        import boto3
        return boto3.client(name, region_name=region, endpoint_url=f"http://127.0.0.1:{self.port}",
                            aws_access_key_id=f"AKPLINTH{account}", aws_secret_access_key="test")

    def seed_network(self, account, region, name=None):
        """A VPC with two subnets; with a `name`, as a platform team tags its network: the VPC
        `Name=<name>`, the two subnets `Tier=private`, and two more `Tier=public`."""
        ec2 = self.client("ec2", account, region)
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        tiers = [("private", "a"), ("private", "b")]
        if name:
            ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": name}])
            tiers += [("public", "a"), ("public", "b")]
        subnets, public = [], []
        for index, (tier, zone) in enumerate(tiers):
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{index}.0/24",
                                       AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
            if name:
                ec2.create_tags(Resources=[subnet], Tags=[{"Key": "Tier", "Value": tier}])
            (subnets if tier == "private" else public).append(subnet)
        group = ec2.create_security_group(GroupName=f"plinth-{vpc}", Description="plinth tests", VpcId=vpc)
        return {"vpc_id": vpc, "subnet_ids": subnets, "public_subnet_ids": public,
                "security_group_id": group["GroupId"]}

    def import_certificate(self, account, region, domain):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
                .sign(key, hashes.SHA256()))
        pem_cert = cert.public_bytes(serialization.Encoding.PEM)
        pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        acm = self.client("acm", account, region)
        arn = acm.import_certificate(Certificate=pem_cert, PrivateKey=pem_key)["CertificateArn"]
        return {"certificate_arn": arn}


def exit_with_parent() -> None:
    """Tests keep one server per test binary in a static that is never dropped: leave when
    the process that started us (`PLINTH_PARENT_PID`, else our parent) is gone."""
    parent = int(os.environ.get("PLINTH_PARENT_PID") or os.getppid())
    while True:
        time.sleep(0.5)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def exit_when_idle(seconds: float) -> None:
    while True:
        time.sleep(1)
        if time.time() - LAST_REQUEST[0] > seconds:
            os._exit(0)


def main() -> None:
    port = int(sys.argv[1])
    if len(sys.argv) > 3 and sys.argv[2] == "--idle-exit":
        threading.Thread(target=exit_when_idle, args=(float(sys.argv[3]),), daemon=True).start()
    else:
        threading.Thread(target=exit_with_parent, daemon=True).start()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    patch_rds()
    patch_elasticache()
    patch_elbv2()
    patch_ec2()
    patch_s3_object_lock()
    app = Launcher(DomainDispatcherApplication(create_backend_app), port)
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(f"moto listening on 127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
