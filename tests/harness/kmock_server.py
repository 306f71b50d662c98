"""Runs kmock (a Kubernetes API emulator) on 127.0.0.1:PORT for Plinth's tests.

Usage: python kmock_server.py PORT

kmock 0.8 is a library: this launcher constructs its ``KubernetesEmulator``, loads the bundled
built-in resource list, registers the CRDs Plinth's stacks use (cert-manager, Prometheus
operator, AWS Load Balancer Controller) in its discovery, and serves it on a loopback port. kmock keeps the objects (its
``objects`` array); this launcher fixes the gaps found with the kube 5 client (see
EMULATORS.md) before a request reaches kmock:

- object paths are parsed here: kmock reads ``/api/v1/namespaces/NAME`` as a namespace prefix;
- server-side apply (PATCH ``application/apply-patch+yaml``) creates missing objects and, like a
  real server, tracks field ownership per manager: a re-apply drops the fields the manager no
  longer sets, a field owned by another manager with a different value is a 409 ``Conflict``
  naming that manager unless ``force=true``; lists are atomic (simpler than real SSA);
- ``uid``, ``resourceVersion``, ``generation`` and ``creationTimestamp`` are set; PUT works;
- errors use the real reasons (``NotFound``, ``AlreadyExists``, ``Conflict``);
- ``dryRun=All`` computes the result without storing it;
- immutable fields (a Job's template, a Deployment's selector) are refused with 422 ``Invalid``;
- a namespaced object needs its namespace; deleting a namespace deletes what is in it;
- writes made here are published to kmock's watch streams (watches stay kmock's own);
- for real ``kubectl`` (1.32): discovery answers as a real server does (core ``groupVersion``
  ``v1``, not ``/v1``; subresources without short names, categories or collection verbs, so
  ``kubectl get hpa`` is not ambiguous), protobuf bodies are refused with 415 (kubectl then
  speaks JSON), and ``application/strategic-merge-patch+json`` merges lists of named items
  (``containers``, ``env``, ``volumes``, ...) by ``name``, as ``kubectl patch`` expects; each
  group prefers its newest stable version (kmock's order changes between runs); ``pods/NAME/log``
  answers one line per pod and refuses a container name the pod does not have (``-c backend``);
  ``deployments/NAME/scale`` is an ``autoscaling/v1`` Scale (``kubectl scale``); watch streams
  are labelled ``application/json`` (kmock sends none; kubectl cannot decode them then).

A minimal controller gives Deployments a rolled-out status and one Running pod per replica
(with the template's labels, so ``kubectl get pods -l app=...`` answers), completes Jobs, and
three Ready nodes exist. ``POST /_plinth/control`` (JSON) switches behaviour for failure tests:

- ``{"deployment_never_ready": {"namespace": NS, "name": NAME, "image": IMAGE?}}``: that
  Deployment (only while its pod template uses IMAGE, when given) reports
  ``ProgressDeadlineExceeded`` and no available replicas;
- ``{"job_fails": {"namespace": NS, "name_prefix": PREFIX}}``: matching Jobs fail;
- ``{"server_version": "1.24"}``, ``{"ready_nodes": 2}``: cluster facts for preconditions;
- ``{"ignore_label_selector": true}``: lists return every object, as plain kmock does (for the
  defensive-prune test);
- ``{"reset": true}``: clears every switch.
"""
import asyncio
import copy
import datetime
import json
import sys
import uuid

import aiohttp.web
import jsonpatch

from kmock import KubernetesEmulator, ResourceInfo, resource

CRDS = {
    "cert-manager.io/v1/clusterissuers": ("ClusterIssuer", False),
    "cert-manager.io/v1/issuers": ("Issuer", True),
    "cert-manager.io/v1/certificates": ("Certificate", True),
    "monitoring.coreos.com/v1/prometheusrules": ("PrometheusRule", True),
    "monitoring.coreos.com/v1/servicemonitors": ("ServiceMonitor", True),
    "elbv2.k8s.aws/v1beta1/targetgroupbindings": ("TargetGroupBinding", True),
    "vpcresources.k8s.aws/v1beta1/securitygrouppolicies": ("SecurityGroupPolicy", True),
    "monitoring.coreos.com/v1alpha1/alertmanagerconfigs": ("AlertmanagerConfig", True),
}
IMMUTABLE = {  # fields a real API server refuses to change
    ("batch/v1", "Job"): [("spec", "template"), ("spec", "selector")],
    ("apps/v1", "Deployment"): [("spec", "selector")],
}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SYSTEM_FIELDS = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                 "managedFields", "deletionTimestamp", "selfLink"}


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def response(self) -> aiohttp.web.Response:
        return aiohttp.web.json_response({
            "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
            "code": self.code, "reason": self.reason, "message": self.message,
        }, status=self.code)


def leaves(value, prefix=()):
    """Flattens an object into {path: leaf}; lists are atomic leaves."""
    out = {}
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if not prefix and key in ("apiVersion", "kind", "status"):
                continue
            if prefix == ("metadata",) and key in SYSTEM_FIELDS:
                continue
            out.update(leaves(item, prefix + (key,)))
    elif prefix:
        out[prefix] = value
    return out


def get_path(obj, path):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def set_path(obj, path, value):
    for key in path[:-1]:
        if not isinstance(obj.get(key), dict):
            obj[key] = {}
        obj = obj[key]
    obj[path[-1]] = copy.deepcopy(value)


def remove_path(obj, path):
    parents = []
    for key in path[:-1]:
        if not isinstance(obj, dict) or key not in obj:
            return
        parents.append((obj, key))
        obj = obj[key]
    if isinstance(obj, dict):
        obj.pop(path[-1], None)
    for parent, key in reversed(parents):  # drop emptied maps
        if parent[key] == {}:
            del parent[key]
        else:
            break


def strategic_merge_patch(target, patch):
    """A JSON merge patch where lists of objects that all carry ``name`` merge by name (the
    patch merge key of containers, env, volumes, volumeMounts, ports in the built-in types)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        old = result.get(key)
        if value is None:
            result.pop(key, None)
        elif (isinstance(value, list) and isinstance(old, list) and value
              and all(isinstance(i, dict) and "name" in i for i in value + old)):
            merged = [copy.deepcopy(i) for i in old]
            for item in value:
                at = next((n for n, o in enumerate(merged) if o["name"] == item["name"]), None)
                if at is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[at] = strategic_merge_patch(merged[at], item)
            result[key] = merged
        else:
            result[key] = strategic_merge_patch(old, value)
    return result


def version_rank(version):
    """v2 > v1 > v2beta2 > v1beta1 > v1alpha1, as Kubernetes orders API versions."""
    import re
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (-1, 0, 0)
    major, level, minor = match.groups()
    return ({None: 2, "beta": 1, "alpha": 0}[level], int(major), int(minor or 0))


def fix_discovery(body):
    """Makes kmock's discovery documents what a real API server (and kubectl) expect."""
    # kmock's version order follows a Python set (it changes between runs): a real server
    # prefers the newest stable version (autoscaling/v2 over v1), and kubectl uses it.
    groups = body.get("groups", [body] if body.get("kind") == "APIGroup" else [])
    for group in groups:
        versions = sorted(group.get("versions", []), key=lambda v: version_rank(v["version"]), reverse=True)
        if versions:
            group["versions"] = versions
            group["preferredVersion"] = dict(versions[0])
    if body.get("kind") == "APIResourceList":
        body["groupVersion"] = body.get("groupVersion", "").lstrip("/")
        for res in body.get("resources", []):
            if "/" in res["name"]:
                res["singularName"] = ""
                res.pop("shortNames", None)
                res.pop("categories", None)
                sub = res["name"].split("/", 1)[1]
                res["verbs"] = ["get", "patch", "update"] if sub in ("status", "scale") else ["create", "get"]
                if sub == "scale":
                    res["group"], res["version"], res["kind"] = "autoscaling", "v1", "Scale"
    return body


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Cluster:
    """Objects live in kmock's ``objects`` array; ownership and switches live here."""

    def __init__(self, emulator: KubernetesEmulator):
        self.emu = emulator
        self.counter = 1000
        self.owners = {}  # object key -> {path: set(manager)}
        self.never_ready = []
        self.failing_jobs = []
        self.server_version = "1.29"
        self.ignore_label_selector = False

    def next_version(self) -> str:
        self.counter += 1
        return str(self.counter)

    def info(self, group, version, plural):
        res = resource(group, version, plural)
        if res not in self.emu.resources:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({plural})")
        return res, self.emu.resources[res]

    def get(self, key):
        if key in self.emu.objects and not self.emu.objects[key].deleted:
            return copy.deepcopy(self.emu.objects[key].raw)
        return None

    def put(self, key, obj):
        existed = self.get(key) is not None
        if key in self.emu.objects:
            self.emu.objects[key].create(obj)
        else:
            self.emu.objects[key] = obj
        self.publish(key, "MODIFIED" if existed else "ADDED", obj)

    def remove(self, key):
        if key in self.emu.objects and not self.emu.objects[key].deleted:
            last = copy.deepcopy(self.emu.objects[key].raw)
            self.emu.objects[key].delete()
            self.publish(key, "DELETED", last)
        self.owners.pop(key, None)

    def publish(self, key, event_type, obj):
        """Feeds kmock's watch streams (its own writes do this; ours bypass them)."""
        bus = self.emu._buses[key[0]]
        asyncio.get_running_loop().create_task(bus.put({"type": event_type, "object": copy.deepcopy(obj)}))

    def items(self, res=None, namespace=None):
        for key, obj in list(self.emu.objects.items()):
            if obj.deleted or (res is not None and key[0] != res):
                continue
            if namespace is not None and key[1] != namespace:
                continue
            yield key, copy.deepcopy(obj.raw)

    def require_namespace(self, namespace):
        if namespace is not None and self.get((resource("", "v1", "namespaces"), None, namespace)) is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')

    def finish(self, key, old, new, info, kind, api_version, dry_run):
        """Fills server-set fields, bumps versions, stores (unless dry run)."""
        if old is not None:
            for immutable in IMMUTABLE.get((api_version, kind), ()):
                if get_path(old, immutable) != get_path(new, immutable):
                    raise ApiError(422, "Invalid", f'{kind}.{api_version.split("/")[0]} "{key[2]}" is invalid: '
                                                   f'{".".join(immutable)}: Invalid value: field is immutable')
        meta = new.setdefault("metadata", {})
        new["apiVersion"], new["kind"] = api_version, kind
        meta["name"], meta["namespace"] = key[2], key[1]
        if key[1] is None:
            meta.pop("namespace", None)
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
            meta["generation"] = 1
        else:
            for field in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if field in old.get("metadata", {}):
                    meta[field] = old["metadata"][field]
            if "status" in info.subresources and "status" in old:
                new["status"] = old["status"]
            strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}
            if strip(old) != strip(new):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
        if "status" in info.subresources and old is None:
            new.pop("status", None)
        owners = self.owners.get(key, {})
        managers = sorted({m for ms in owners.values() for m in ms})
        meta["managedFields"] = [{"manager": m, "operation": "Apply", "fieldsType": "FieldsV1",
                                  "fieldsV1": {}} for m in managers]
        if old is not None and old == new:
            return old
        meta["resourceVersion"] = self.next_version()
        if dry_run:
            return new
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self.remove(key)  # the last finalizer is gone
        else:
            self.put(key, new)
        return new

    def apply(self, key, old, config, manager, force):
        """Server-side apply: returns (new object, new owners)."""
        owners = copy.deepcopy(self.owners.get(key, {}))
        new = copy.deepcopy(old) if old is not None else {}
        wanted = leaves(config)
        conflicts = []
        for path, value in wanted.items():
            holders = owners.get(path, set()) - {manager}
            if holders and get_path(new, path) != value:
                if force:
                    owners[path] = set()
                else:
                    conflicts.append((path, sorted(holders)))
        if conflicts:
            text = "; ".join(f'conflict with "{m[0]}": .{".".join(p)}' for p, m in conflicts)
            raise ApiError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict(s): {text}")
        for path, holders in list(owners.items()):
            if manager in holders and path not in wanted:
                holders.discard(manager)
                if not holders:
                    del owners[path]
                    remove_path(new, path)
        for path, value in wanted.items():
            set_path(new, path, value)
            owners.setdefault(path, set()).add(manager)
        for field in ("apiVersion", "kind"):
            if field in config:
                new[field] = config[field]
        return new, owners

    def update_owners(self, key, obj, manager):
        owners = self.owners.setdefault(key, {})
        for path in list(owners):
            if get_path(obj, path) is None:
                del owners[path]
        for path in leaves(obj):
            holders = owners.setdefault(path, set())
            if manager not in holders and not holders:
                holders.add(manager)


def parse_path(path):
    """(group, version, namespace, plural, name, subresource) or None for non-object paths."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = "/".join(rest[2:]) or None
    return group, version, namespace, plural, name, sub


def selector_matches(selector, labels):
    for term in filter(None, (s.strip() for s in (selector or "").split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


async def handle_object(cluster: Cluster, request, route):
    group, version, namespace, plural, name, sub = route
    res, info = cluster.info(group, version, plural)
    api_version = f"{group}/{version}" if group else version
    kind = info.kind
    if not info.namespaced:
        namespace = None
    query = request.query
    dry_run = query.get("dryRun") == "All"
    manager = query.get("fieldManager") or "unknown"
    method = request.method
    body_bytes = await request.read()

    if name is None:
        if method == "GET":
            selector = None if cluster.ignore_label_selector else query.get("labelSelector")
            items = [obj for _, obj in cluster.items(res, namespace)
                     if selector_matches(selector, obj.get("metadata", {}).get("labels", {}))]
            return {"apiVersion": api_version, "kind": f"{kind}List",
                    "metadata": {"resourceVersion": str(cluster.counter)}, "items": items}
        if method == "POST":
            body = json.loads(body_bytes or b"{}")
            name = body.get("metadata", {}).get("name")
            if not name:
                raise ApiError(422, "Invalid", "metadata.name: Required value")
            namespace = namespace or body.get("metadata", {}).get("namespace") if info.namespaced else None
            cluster.require_namespace(namespace)
            key = (res, namespace, name)
            if cluster.get(key) is not None:
                raise ApiError(409, "AlreadyExists", f'{plural} "{name}" already exists')
            if not dry_run:
                cluster.update_owners(key, body, manager)
            return cluster.finish(key, None, body, info, kind, api_version, dry_run)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on collections")

    key = (res, namespace, name)
    old = cluster.get(key)
    if sub == "scale":
        return scale(cluster, key, old, method, body_bytes, info, kind, api_version, dry_run)
    if method == "GET":
        if old is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        return old
    if method == "DELETE":
        if old is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        if dry_run:
            return old
        if old["metadata"].get("finalizers"):
            old["metadata"].setdefault("deletionTimestamp", now())
            old["metadata"]["resourceVersion"] = cluster.next_version()
            cluster.put(key, old)
            return old
        cluster.remove(key)
        if plural == "namespaces" and not group:
            for inner_key, _ in list(cluster.items()):
                if inner_key[1] == name:
                    cluster.remove(inner_key)
        return {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success",
                "details": {"name": name, "kind": plural, "uid": old["metadata"].get("uid")}}
    if method == "PUT":
        body = json.loads(body_bytes or b"{}")
        if old is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        wanted_rv = body.get("metadata", {}).get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": '
                                            "the object has been modified; please apply your changes "
                                            "to the latest version and try again")
        if sub == "status":
            new = copy.deepcopy(old)
            new["status"] = body.get("status", {})
            new["metadata"]["resourceVersion"] = cluster.next_version()
            if not dry_run:
                cluster.put(key, new)
            return new
        if not dry_run:
            cluster.update_owners(key, body, manager)
        return cluster.finish(key, old, body, info, kind, api_version, dry_run)
    if method == "PATCH":
        content_type = request.headers.get("Content-Type", "")
        if "apply-patch" in content_type:
            config = json.loads(body_bytes or b"{}")  # kube sends JSON, which is YAML
            if not query.get("fieldManager"):
                raise ApiError(422, "Invalid", "fieldManager is required for apply requests")
            if old is None:
                cluster.require_namespace(namespace)
            new, owners = cluster.apply(key, old, config, manager, query.get("force") == "true")
            if not dry_run:
                cluster.owners[key] = owners
            result = cluster.finish(key, old, new, info, kind, api_version, dry_run)
            return result
        if old is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        body = json.loads(body_bytes or b"null")
        if "json-patch" in content_type:
            new = jsonpatch.apply_patch(old, body)
        elif "strategic-merge-patch" in content_type:
            new = strategic_merge_patch(old, body)
        else:
            new = merge_patch(old, body)
        if sub == "status":
            patched = copy.deepcopy(old)
            patched["status"] = new.get("status", {})
            patched["metadata"]["resourceVersion"] = cluster.next_version()
            if not dry_run:
                cluster.put(key, patched)
            return patched
        if not dry_run:
            cluster.update_owners(key, new, manager)
        return cluster.finish(key, old, new, info, kind, api_version, dry_run)
    raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")


def scale(cluster: Cluster, key, old, method, body_bytes, info, kind, api_version, dry_run):
    """The ``scale`` subresource (``kubectl scale``): an ``autoscaling/v1`` Scale."""
    if old is None:
        raise ApiError(404, "NotFound", f'{key[0].plural} "{key[2]}" not found')
    if method in ("PATCH", "PUT"):
        body = json.loads(body_bytes or b"{}")
        replicas = body.get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(422, "Invalid", "spec.replicas: must be a non-negative integer")
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["replicas"] = replicas
        old = cluster.finish(key, old, new, info, kind, api_version, dry_run)
    elif method != "GET":
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on scale")
    labels = old.get("spec", {}).get("selector", {}).get("matchLabels", {})
    return {"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {k: old["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion")
                         if k in old["metadata"]},
            "spec": {"replicas": old.get("spec", {}).get("replicas", 1)},
            "status": {"replicas": old.get("status", {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in labels.items())}}


def deployment_status(cluster: Cluster, key, obj):
    """What a Deployment controller would report for the object."""
    spec = obj.get("spec", {})
    replicas = spec.get("replicas", 1)
    generation = obj["metadata"].get("generation", 1)
    images = [c.get("image") for c in spec.get("template", {}).get("spec", {}).get("containers", [])]
    stuck = any(
        switch["namespace"] == key[1] and switch["name"] == key[2]
        and (not switch.get("image") or switch["image"] in images)
        for switch in cluster.never_ready
    )
    if stuck:
        return {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                     "message": f'ReplicaSet "{key[2]}" has timed out progressing.'}]}
    return {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}


def job_status(cluster: Cluster, key, obj):
    if obj.get("status", {}).get("conditions"):
        return obj["status"]  # finished jobs stay finished
    fails = any(switch["namespace"] == key[1] and key[2].startswith(switch["name_prefix"])
                for switch in cluster.failing_jobs)
    if fails:
        return {"failed": 1, "startTime": now(), "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"}]}
    return {"succeeded": 1, "startTime": now(), "completionTime": now(), "conditions": [
        {"type": "Complete", "status": "True"}]}


def sync_pods(cluster: Cluster, deployments):
    """One Running, Ready pod per replica of each Deployment, labelled like its template."""
    pods = resource("", "v1", "pods")
    wanted = {}
    for key, obj in cluster.items(deployments):
        template = obj.get("spec", {}).get("template", {})
        stuck = obj.get("status", {}).get("availableReplicas", 0) == 0
        digest = uuid.uuid5(uuid.NAMESPACE_OID, json.dumps(template, sort_keys=True)).hex[:10]
        for index in range(0 if stuck else obj.get("spec", {}).get("replicas", 1)):
            name = f"{key[2]}-{digest}-{index}"
            wanted[(pods, key[1], name)] = (obj, template)
    for key, pod in list(cluster.items(pods)):
        owners = pod.get("metadata", {}).get("ownerReferences", [])
        if key not in wanted and any(o.get("kind") == "Deployment" for o in owners):
            cluster.remove(key)
    for key, (owner, template) in wanted.items():
        if cluster.get(key) is None:
            spec = copy.deepcopy(template.get("spec", {}))
            spec["nodeName"] = "node-0"
            cluster.put(key, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": key[2], "namespace": key[1], "uid": str(uuid.uuid4()),
                             "resourceVersion": cluster.next_version(), "creationTimestamp": now(),
                             "labels": copy.deepcopy(template.get("metadata", {}).get("labels", {})),
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                  "name": owner["metadata"]["name"],
                                                  "uid": owner["metadata"].get("uid", ""),
                                                  "controller": True}]},
                "spec": spec,
                "status": {"phase": "Running", "startTime": now(),
                           "conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": c.get("name"), "image": c.get("image"),
                                                  "ready": True, "restartCount": 0,
                                                  "state": {"running": {"startedAt": now()}}}
                                                 for c in spec.get("containers", [])]},
            })


async def controller(cluster: Cluster):
    """Every 100 ms: roll Deployments out (with their pods) and finish Jobs."""
    deployments = resource("apps", "v1", "deployments")
    jobs = resource("batch", "v1", "jobs")
    while True:
        await asyncio.sleep(0.1)
        sync_pods(cluster, deployments)
        for res, compute in ((deployments, deployment_status), (jobs, job_status)):
            for key, obj in cluster.items(res):
                status = compute(cluster, key, obj)
                if obj.get("status") != status:
                    obj["status"] = status
                    obj["metadata"]["resourceVersion"] = cluster.next_version()
                    cluster.put(key, obj)


def set_nodes(cluster: Cluster, ready: int):
    nodes = resource("", "v1", "nodes")
    for key, _ in list(cluster.items(nodes)):
        cluster.remove(key)
    for index in range(3):
        status = "True" if index < ready else "False"
        cluster.put((nodes, None, f"node-{index}"), {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{index}", "uid": str(uuid.uuid4()),
                         "resourceVersion": cluster.next_version(), "creationTimestamp": now(),
                         "labels": {"kubernetes.io/hostname": f"node-{index}"}},
            "status": {"conditions": [{"type": "Ready", "status": status}],
                       "nodeInfo": {"kubeletVersion": f"v{cluster.server_version}.0"}},
        })


def control(cluster: Cluster, body):
    if body.get("reset"):
        cluster.never_ready.clear()
        cluster.failing_jobs.clear()
        cluster.server_version = "1.29"
        cluster.ignore_label_selector = False
        set_nodes(cluster, 3)
    if "deployment_never_ready" in body:
        cluster.never_ready.append(body["deployment_never_ready"])
    if "job_fails" in body:
        cluster.failing_jobs.append(body["job_fails"])
    if "ignore_label_selector" in body:
        cluster.ignore_label_selector = bool(body["ignore_label_selector"])
    if "server_version" in body:
        cluster.server_version = body["server_version"]
    if "ready_nodes" in body:
        set_nodes(cluster, int(body["ready_nodes"]))
    return {"never_ready": cluster.never_ready, "failing_jobs": cluster.failing_jobs,
            "server_version": cluster.server_version}


def pod_log(cluster: Cluster, route, container):
    """``pods/NAME/log``: no container runs here, so the log is one line; like a real server,
    a container name the pod does not have is a 400."""
    _, _, namespace, _, name, _ = route
    pod = cluster.get((resource("", "v1", "pods"), namespace, name))
    if pod is None:
        raise ApiError(404, "NotFound", f'pods "{name}" not found')
    names = [c.get("name") for c in pod.get("spec", {}).get("containers", [])]
    if container is None and len(names) == 1:
        container = names[0]
    if container not in names:
        raise ApiError(400, "BadRequest",
                       f"container {container} is not valid for pod {name}" if container
                       else f"a container name must be specified for pod {name}, choose one of: {names}")
    return aiohttp.web.Response(text=f"kmock: {name}/{container} runs no process\n",
                                content_type="text/plain")


def build(cluster: Cluster):
    async def handler(request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        try:
            if request.path == "/_plinth/control" and request.method == "POST":
                return aiohttp.web.json_response(control(cluster, json.loads(await request.read() or b"{}")))
            if request.path == "/version":
                major, minor = cluster.server_version.split(".")[:2]
                return aiohttp.web.json_response({
                    "major": major, "minor": minor, "gitVersion": f"v{cluster.server_version}.0",
                    "platform": "linux/amd64"})
            if "protobuf" in request.headers.get("Content-Type", ""):
                raise ApiError(415, "UnsupportedMediaType",
                               "this test server accepts JSON bodies only")
            route = parse_path(request.path)
            if request.query.get("watch") == "true":
                # Watches stay kmock's own; its stream has no content type, which kubectl
                # cannot decode ("no stream serializers ... application/octet-stream").
                async def json_stream(response):
                    response.headers["Content-Type"] = "application/json"
                object.__setattr__(request, "_prepare_hook", json_stream)
                return await cluster.emu(request)
            if route is None:
                answer = await cluster.emu(request)  # discovery: kmock's, then fixed here
                if answer.status == 200 and getattr(answer, "body", None):
                    return aiohttp.web.json_response(fix_discovery(json.loads(answer.body)))
                return answer
            if route[3] == "pods" and route[5] == "log" and request.method == "GET":
                return pod_log(cluster, route, request.query.get("container"))
            async with cluster.emu._lock:
                payload = await handle_object(cluster, request, route)
            status = 201 if request.method == "POST" else 200
            return aiohttp.web.json_response(payload, status=status)
        except ApiError as error:
            return error.response()
        except (ValueError, KeyError, TypeError, jsonpatch.JsonPatchException) as error:
            return ApiError(400, "BadRequest", f"{type(error).__name__}: {error}").response()

    return handler


async def main() -> None:
    port = int(sys.argv[1])
    emulator = KubernetesEmulator()
    emulator.resources.load_bundled()
    for path, (kind, namespaced) in CRDS.items():
        emulator.resources[path] = ResourceInfo(kind=kind, singular=kind.lower(), namespaced=namespaced,
                                                verbs=VERBS, subresources={"status"})
    async with emulator:
        cluster = Cluster(emulator)
        namespaces = resource("", "v1", "namespaces")
        for name in ("default", "kube-system"):
            cluster.finish((namespaces, None, name), None, {"metadata": {"name": name}},
                           emulator.resources[namespaces], "Namespace", "v1", False)
        set_nodes(cluster, 3)
        server = aiohttp.web.Server(build(cluster))
        runner = aiohttp.web.ServerRunner(server, handle_signals=True)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        print(f"kmock listening on 127.0.0.1:{port}", flush=True)
        task = asyncio.create_task(controller(cluster))
        try:
            await asyncio.Event().wait()
        finally:
            task.cancel()
            await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
