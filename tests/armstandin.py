"""A stand-in for Azure Resource Manager that speaks, over loopback HTTPS, the REST API the SDK clients use.

It serves resource groups, deployment validate / what-if / create / get and deployment operations, records
every request it receives, and can be told to misbehave (throttle, fail once, refuse a token, fail a
deployment with nested details, reject a template at validation) or to be slow, so that generator/deploy/
is tested against the real `azure-mgmt-resource*` clients without touching Azure.
"""

from __future__ import annotations

import http.server
import json
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_DEPLOYMENT = _RG + r"/providers/microsoft\.resources/deployments/(?P<name>[^/]+)"
_ROUTES = [
    # (method, regex over the lower-cased path, handler name); ARM paths are case-insensitive.
    ("GET", r"/metadata/endpoints", "metadata"),
    ("PUT", _RG + r"$", "put_group"),
    ("GET", _RG + r"$", "get_group"),
    ("HEAD", _RG + r"$", "head_group"),
    ("POST", _DEPLOYMENT + r"/validate$", "validate"),
    ("POST", _DEPLOYMENT + r"/whatif$", "what_if"),
    ("PUT", _DEPLOYMENT + r"$", "put_deployment"),
    ("GET", _DEPLOYMENT + r"$", "get_deployment"),
    ("HEAD", _DEPLOYMENT + r"$", "head_deployment"),
    # The SDK lists operations without the provider segment; accept both spellings.
    ("GET", _RG + r"(?:/providers/microsoft\.resources)?/deployments/(?P<name>[^/]+)/operations$", "operations"),
    ("GET", r"/_standin/asyncoperations/(?P<op>[^/]+)$", "async_operation"),
    ("GET", r"/_standin/whatif/(?P<op>[^/]+)$", "what_if_result"),
    # Key Vault's deleted vaults (Vaults_GetDeleted, Vaults_ListDeleted): names a soft-deleted vault still holds
    ("GET", _SUB + r"/providers/microsoft\.keyvault/locations/(?P<location>[^/]+)/deletedvaults/(?P<name>[^/]+)$",
     "get_deleted_vault"),
    ("GET", _SUB + r"/providers/microsoft\.keyvault/deletedvaults$", "list_deleted_vaults"),
    # Workspaces_Get: the existing workspace a spec adds to (read before its what-if / deployment)
    ("GET", _RG + r"/providers/microsoft\.machinelearningservices/workspaces/(?P<name>[^/]+)$", "get_workspace"),
]

# The read-only properties ARM echoes back in a what-if of an existing resource: noise a summary must hide.
_ECHOED_NOISE = {
    "properties.provisioningState": ("Succeeded", None),
    "properties.creationTime": ("2026-01-01T00:00:00Z", None),
    "etag": ('W/"datetime\'2026-01-01\'"', None),
}


@dataclass
class Recorded:
    """One request as the stand-in received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class RawBody:
    """A response body sent as it is, not as JSON (a proxy's HTML error page)."""

    data: bytes
    content_type: str = "text/html; charset=utf-8"


PROXY_403_PAGE = (b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n<body><h1>Access denied</h1>"
                  b"<p>Your request was blocked by the corporate proxy.</p></body></html>\n")


@dataclass
class Fault:
    """An injected answer: the next `times` requests matching method and path fragment get this response."""

    method: str | None
    path_contains: str
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: for ever
    hits: int = 0


@dataclass
class _Deployment:
    sub: str
    rg: str
    name: str
    body: dict
    resources: list[dict]  # [{"id", "type", "name"}]
    started: float
    polls: int = 0
    state: str = "Running"
    failure: dict | None = None  # {"resource": name or None, "code", "message", "details", "in_operations"}
    op_id: str = ""


def _arm_error(code: str, message: str, details: list | None = None, target: str | None = None) -> dict:
    error: dict[str, Any] = {"code": code, "message": message}
    if target:
        error["target"] = target
    if details:
        error["details"] = details
    return {"error": error}


def _eval_name(expr: Any, template: dict, parameters: dict) -> str:
    """Resolve the plain `[parameters('x')]` name expressions a hand-made or generated template uses."""
    if not isinstance(expr, str):
        return str(expr)
    match = re.fullmatch(r"\[parameters\('([^']+)'\)\]", expr)
    if not match:
        return expr
    key = match.group(1)
    if key in parameters and "value" in parameters[key]:
        return str(parameters[key]["value"])
    return str(template.get("parameters", {}).get(key, {}).get("defaultValue", key))


class ArmStandIn:
    """A loopback HTTPS ARM stand-in; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        ca: trustme.CA | None = None,
        latency: float = 0.0,
        polls_to_finish: int = 1,
        min_running: float = 0.0,
    ) -> None:
        self.ca = ca or trustme.CA()
        self.latency = latency  # seconds added to every request, as a slow ARM would
        self.polls_to_finish = polls_to_finish  # async-operation polls answered "Running" before the end
        self.min_running = min_running  # seconds a deployment stays Running, whatever the polls
        self.what_if_polls = 1  # polls of a what-if's Location before its result (the first answers 202)
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.groups: dict[tuple[str, str], dict] = {}
        self.deployments: dict[tuple[str, str, str], _Deployment] = {}
        self.resources: dict[tuple[str, str], dict[str, dict]] = {}  # (sub, rg) -> id -> resource
        self.what_if_override: dict | None = None  # a canned what-if result body, when a test needs one
        self.metadata: dict | None = None  # the /metadata/endpoints answer (None: 404)
        self.deleted_vaults: dict[tuple[str, str], dict] = {}  # (sub, name lower) -> DeletedVault JSON
        self.served: dict[str, tuple[int, dict, Any]] = {}  # lower-cased path -> answer (see serve)
        self.deleted_vaults_page = 100  # items per page of the deleted-vault list (nextLink beyond)
        self.workspaces: dict[tuple[str, str, str], dict] = {}  # (sub, rg lower, name lower) -> Workspace JSON
        self._query: dict[str, str] = {}  # the query string of the request being handled
        self._failures: list[dict] = []  # armed by fail_next_deployment, consumed by the matching PUT
        self._async: dict[str, _Deployment] = {}
        self._what_ifs: dict[str, dict] = {}
        self._lock = threading.RLock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_path: str | None = None

    # -- life cycle -------------------------------------------------------------------------------------
    def start(self, ca_path: str | None = None) -> str:
        """Serve on 127.0.0.1 on a free port; returns the base URL. `ca_path` gets the CA bundle (PEM)."""
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        # The TLS handshake runs in the handler thread, not in the accept loop, so slow clients do not queue.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        if ca_path:
            self.ca.cert_pem.write_to_path(ca_path)
            self.ca_path = ca_path
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> ArmStandIn:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- fault injection ----------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def throttle(self, method: str | None = "PUT", path_contains: str = "/deployments/", *,
                 retry_after: int = 0, times: int = 1) -> Fault:
        """429 TooManyRequests with Retry-After, as ARM throttling does."""
        return self.add_fault(Fault(method, path_contains, 429,
                                    _arm_error("TooManyRequests", "The request was throttled."),
                                    {"Retry-After": str(retry_after)}, times))

    def server_error(self, method: str | None = "PUT", path_contains: str = "/deployments/", *,
                     times: int = 1) -> Fault:
        """A transient 500 InternalServerError without Retry-After."""
        return self.add_fault(Fault(method, path_contains, 500,
                                    _arm_error("InternalServerError", "Encountered internal server error."),
                                    {}, times))

    def proxy_forbidden(self, method: str | None = None, path_contains: str = "/subscriptions/", *,
                        times: int | None = None) -> Fault:
        """403 with an HTML page instead of ARM's JSON error, as a proxy in front of ARM answers."""
        return self.add_fault(Fault(method, path_contains, 403, RawBody(PROXY_403_PAGE), {}, times))

    def unauthorized(self, *, times: int | None = None) -> Fault:
        """401 InvalidAuthenticationToken on every request (or the next `times`)."""
        return self.add_fault(Fault(None, "/subscriptions/", 401,
                                    _arm_error("InvalidAuthenticationToken",
                                               "The access token is invalid or expired."),
                                    {"WWW-Authenticate": 'Bearer authorization_uri="https://login.example", '
                                                         'error="invalid_token"'}, times))

    def reject_validation(self, code: str = "InvalidTemplate", message: str = "Deployment template validation "
                          "failed.", details: list | None = None) -> Fault:
        """The next validate answers 400 with the given error (the shape ARM uses for preflight)."""
        return self.add_fault(Fault("POST", "/validate", 400, _arm_error(code, message, details)))

    def fail_next_deployment(self, resource: str | None = None, code: str = "Conflict",
                             message: str = "The operation failed.", details: list | None = None, *,
                             deployment: str | None = None, in_operations: bool = True) -> None:
        """Make the next deployment (or the next one named `deployment`) end Failed.

        `resource` (a resource name; default the last one) is the resource that fails, with `code`, `message`
        and nested `details`. With in_operations=False the failure shows only in the deployment's error, not
        in the per-resource operations (as for template-level failures).
        """
        with self._lock:
            self._failures.append({"resource": resource, "code": code, "message": message,
                                   "details": details or [], "in_operations": in_operations,
                                   "deployment": deployment})

    # -- inspection -------------------------------------------------------------------------------------
    def received(self, method: str | None = None, path_contains: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and path_contains.lower() in r.path.lower()]

    def add_resource(self, sub: str, rg: str, rtype: str, name: str, properties: dict | None = None) -> str:
        """Pretend a resource already exists in a group (what-if then says Ignore/Delete/NoChange)."""
        rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{rtype}/{name}"
        with self._lock:
            self.resources.setdefault((sub, rg), {})[rid.lower()] = {
                "id": rid, "type": rtype, "name": name, "properties": properties or {}}
        return rid

    def serve(self, resources: list[dict], status: int = 200) -> None:
        """Answer GETs of these resources (REST JSON with `id`) and of the collections they are in: committed
        fixtures served as they are, never evaluated. status=403 answers each with AuthorizationFailed instead."""
        collections: dict[str, list] = {}
        with self._lock:
            for resource in resources:
                rid = resource["id"].lower()
                body = resource if status == 200 else _arm_error("AuthorizationFailed", "The client does not have "
                                                                 f"authorization to perform action over {rid}")
                self.served[rid] = (status, {}, body)
                collections.setdefault(rid.rsplit("/", 1)[0], []).append(resource)
            for path, items in collections.items():
                if status == 200:
                    self.served.setdefault(path, (200, {}, {"value": items}))

    def add_deleted_vault(self, sub: str, rg: str, name: str, location: str = "westeurope", *,
                          purge_protection: bool = True) -> dict:
        """Pretend a key vault of this name was deleted and is soft-deleted (the shape of Vaults_GetDeleted)."""
        vault = {
            "id": f"/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}",
            "name": name, "type": "Microsoft.KeyVault/deletedVaults",
            "properties": {"vaultId": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/"
                                      f"vaults/{name}",
                           "location": location, "deletionDate": "2026-11-20T09:15:00Z",
                           "scheduledPurgeDate": "2027-02-18T09:15:00Z", "tags": {},
                           "purgeProtectionEnabled": purge_protection}}
        with self._lock:
            self.deleted_vaults[(sub, name.lower())] = vault
        return vault

    def add_workspace(self, sub: str, rg: str, name: str, location: str = "westeurope", *,
                      public_network_access: str = "Enabled", isolation_mode: str = "Disabled",
                      identity_type: str = "SystemAssigned") -> dict:
        """Pretend a workspace exists (the shape of Workspaces_Get), for specs that add to it."""
        workspace = {
            "id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/"
                  f"workspaces/{name}",
            "name": name, "type": "Microsoft.MachineLearningServices/workspaces", "location": location,
            "identity": {"type": identity_type},
            "properties": {"publicNetworkAccess": public_network_access,
                           "managedNetwork": {"isolationMode": isolation_mode}, "provisioningState": "Succeeded"}}
        with self._lock:
            self.workspaces[(sub, rg.lower(), name.lower())] = workspace
            self.groups.setdefault((sub, rg.lower()), {"name": rg, "location": location})
        return workspace

    # -- request handling ---------------------------------------------------------------------------------
    def _handle(self, method: str, raw_path: str, headers: dict[str, str], body: Any) -> tuple[int, dict, Any]:
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(Recorded(method, parts.path, query, headers, body))
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            for fault in self.faults:
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                if (fault.method is None or fault.method == method) and \
                        fault.path_contains.lower() in parts.path.lower():
                    fault.hits += 1
                    return fault.status, dict(fault.headers), fault.body
        path = parts.path.lower()
        if path.startswith("/subscriptions/") and not headers.get("authorization", "").startswith("Bearer "):
            return 401, {}, _arm_error("AuthenticationFailed", "Authentication failed. The 'Authorization' "
                                                               "header is missing.")
        for route_method, pattern, handler in _ROUTES:
            if route_method != method:
                continue
            match = re.fullmatch(pattern, path)
            if match:
                # recover the original spelling of names from the raw path (the regex ran on lower case)
                groups = {k: _original(parts.path, v) for k, v in match.groupdict().items()}
                with self._lock:
                    self._query = query
                    return getattr(self, "_h_" + handler)(body=body, **groups)
        if method == "GET" and path in self.served:
            with self._lock:
                return self.served[path]
        return 404, {}, _arm_error("NotFound", f"The stand-in does not serve {method} {parts.path}")

    def _h_get_workspace(self, body: Any, sub: str, rg: str, name: str) -> tuple[int, dict, Any]:
        workspace = self.workspaces.get((sub, rg.lower(), name.lower()))
        served = self.served.get(f"/subscriptions/{sub}/resourcegroups/{rg}/providers/"
                                 f"microsoft.machinelearningservices/workspaces/{name}".lower())
        if workspace is None and served is not None:
            return served
        if workspace is None:
            return 404, {}, _arm_error("ResourceNotFound", f"The Resource 'Microsoft.MachineLearningServices/"
                                                           f"workspaces/{name}' under resource group '{rg}' was "
                                                           "not found.")
        return 200, {}, workspace

    def _h_get_deleted_vault(self, body: Any, sub: str, location: str, name: str) -> tuple[int, dict, Any]:
        vault = self.deleted_vaults.get((sub, name.lower()))
        if vault is None or vault["properties"]["location"].lower() != location.lower():
            return 404, {}, _arm_error("DeletedVaultNotFound", f"Deleted vault {name} not found.")
        return 200, {}, vault

    def _h_list_deleted_vaults(self, body: Any, sub: str) -> tuple[int, dict, Any]:
        mine = [v for (s, _), v in sorted(self.deleted_vaults.items()) if s == sub]
        start = int(self._query.get("$skiptoken", "0"))
        end = start + self.deleted_vaults_page
        page: dict[str, Any] = {"value": mine[start:end]}
        if end < len(mine):
            page["nextLink"] = (f"{self.url}/subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults"
                                f"?api-version={self._query.get('api-version', '')}&$skiptoken={end}")
        return 200, {}, page

    def _h_metadata(self, body: Any) -> tuple[int, dict, Any]:
        if self.metadata is None:
            return 404, {}, _arm_error("NotFound", "no metadata")
        return 200, {}, self.metadata

    def _group_json(self, sub: str, rg: str) -> dict:
        group = self.groups[(sub, rg.lower())]
        return {"id": f"/subscriptions/{sub}/resourceGroups/{group['name']}", "name": group["name"],
                "type": "Microsoft.Resources/resourceGroups", "location": group["location"],
                "tags": group.get("tags") or {}, "properties": {"provisioningState": "Succeeded"}}

    def _h_put_group(self, body: Any, sub: str, rg: str) -> tuple[int, dict, Any]:
        existed = (sub, rg.lower()) in self.groups
        self.groups[(sub, rg.lower())] = {"name": rg, "location": (body or {}).get("location"),
                                          "tags": (body or {}).get("tags")}
        return (200 if existed else 201), {}, self._group_json(sub, rg)

    def _h_get_group(self, body: Any, sub: str, rg: str) -> tuple[int, dict, Any]:
        if (sub, rg.lower()) not in self.groups:
            return 404, {}, _arm_error("ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return 200, {}, self._group_json(sub, rg)

    def _h_head_group(self, body: Any, sub: str, rg: str) -> tuple[int, dict, Any]:
        return (204 if (sub, rg.lower()) in self.groups else 404), {}, None

    def _missing_group(self, sub: str, rg: str) -> tuple[int, dict, Any] | None:
        if (sub, rg.lower()) in self.groups:
            return None
        return 404, {}, _arm_error("ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")

    def _template_resources(self, sub: str, rg: str, body: dict) -> list[dict]:
        props = body.get("properties", {})
        template = props.get("template") or {}
        parameters = props.get("parameters") or {}
        out = []
        for res in template.get("resources", []):
            name = _eval_name(res.get("name"), template, parameters)
            rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{res.get('type')}/{name}"
            out.append({"id": rid, "type": res.get("type"), "name": name,
                        "properties": res.get("properties", {})})
        return out

    def _h_validate(self, body: Any, sub: str, rg: str, name: str) -> tuple[int, dict, Any]:
        missing = self._missing_group(sub, rg)
        if missing:
            return missing
        props = (body or {}).get("properties", {})
        if not isinstance(props.get("template"), dict):
            return 400, {}, _arm_error("InvalidRequestContent", "The request content was invalid: no template.")
        return 200, {}, {
            "id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/{name}",
            "name": name, "type": "Microsoft.Resources/deployments",
            "properties": {"provisioningState": "Succeeded", "mode": props.get("mode"),
                           "validatedResources": [{"id": r["id"]} for r in
                                                  self._template_resources(sub, rg, body)]}}

    def _h_what_if(self, body: Any, sub: str, rg: str, name: str) -> tuple[int, dict, Any]:
        missing = self._missing_group(sub, rg)
        if missing:
            return missing
        if self.what_if_override is not None:
            result = self.what_if_override
        else:
            result = self._compute_what_if(sub, rg, body or {})
        op = uuid.uuid4().hex
        self._what_ifs[op] = {"result": result, "polls": 0}
        return 202, {"Location": f"{self.url}/_standin/whatif/{op}", "Retry-After": "0"}, None

    def _compute_what_if(self, sub: str, rg: str, body: dict) -> dict:
        existing = self.resources.get((sub, rg), {})
        mode = body.get("properties", {}).get("mode", "Incremental")
        changes, named = [], set()
        for res in self._template_resources(sub, rg, body):
            named.add(res["id"].lower())
            before = existing.get(res["id"].lower())
            after = {"id": res["id"], "type": res["type"], "name": res["name"], "properties": res["properties"]}
            if before is None:
                changes.append({"resourceId": res["id"], "changeType": "Create", "after": after})
                continue
            delta = [{"path": f"properties.{k}", "propertyChangeType": "Modify",
                      "before": before["properties"].get(k), "after": v}
                     for k, v in sorted(res["properties"].items()) if before["properties"].get(k) != v]
            # ARM echoes back read-only state for existing resources: what a summary has to filter out.
            delta += [{"path": p, "propertyChangeType": "Delete", "before": b} for p, (b, _) in
                      _ECHOED_NOISE.items()]
            # like the real service, the echoes alone make it report Modify: the false positive users see
            changes.append({"resourceId": res["id"], "changeType": "Modify", "before": before, "after": after,
                            "delta": delta})
        for rid, res in sorted(existing.items()):
            if rid not in named:
                changes.append({"resourceId": res["id"], "changeType": "Delete" if mode == "Complete" else "Ignore",
                                "before": res})
        return {"status": "Succeeded", "properties": {"changes": changes}}

    def _h_what_if_result(self, body: Any, op: str) -> tuple[int, dict, Any]:
        entry = self._what_ifs.get(op)
        if entry is None:
            return 404, {}, _arm_error("NotFound", "no such what-if")
        entry["polls"] += 1
        if entry["polls"] < self.what_if_polls:
            return 202, {"Location": f"{self.url}/_standin/whatif/{op}", "Retry-After": "0"}, None
        return 200, {}, entry["result"]

    def _h_put_deployment(self, body: Any, sub: str, rg: str, name: str) -> tuple[int, dict, Any]:
        missing = self._missing_group(sub, rg)
        if missing:
            return missing
        key = (sub, rg.lower(), name.lower())
        current = self.deployments.get(key)
        if current is not None and current.state == "Running":
            return 409, {}, _arm_error("DeploymentActive", f"The deployment '{name}' is already in progress.")
        failure = next((f for f in self._failures if f["deployment"] in (None, name)), None)
        if failure is not None:
            self._failures.remove(failure)
        dep = _Deployment(sub, rg, name, body or {}, self._template_resources(sub, rg, body or {}),
                          time.monotonic(), failure=failure, op_id=uuid.uuid4().hex)
        self.deployments[key] = dep
        self._async[dep.op_id] = dep
        return 201, {"Azure-AsyncOperation": f"{self.url}/_standin/asyncoperations/{dep.op_id}",
                     "Retry-After": "0"}, self._deployment_json(dep)

    def _advance(self, dep: _Deployment) -> None:
        if dep.state != "Running":
            return
        if dep.polls < self.polls_to_finish or time.monotonic() - dep.started < self.min_running:
            return
        dep.state = "Failed" if dep.failure else "Succeeded"
        if dep.state == "Succeeded":
            group = self.resources.setdefault((dep.sub, dep.rg), {})
            if dep.body.get("properties", {}).get("mode") == "Complete":
                group.clear()
            for res in dep.resources:
                group[res["id"].lower()] = dict(res)

    def _failed_resource(self, dep: _Deployment) -> dict | None:
        if not dep.failure or not dep.resources:
            return None
        wanted = dep.failure["resource"]
        return next((r for r in dep.resources if r["name"] == wanted), dep.resources[-1])

    def _deployment_error(self, dep: _Deployment) -> dict:
        failure = dep.failure or {}
        res = self._failed_resource(dep)
        inner = _arm_error(failure.get("code", "Conflict"), failure.get("message", ""),
                           failure.get("details"))["error"]
        wrapper = {"code": "ResourceDeploymentFailure", "target": res["id"] if res else None,
                   "message": "The resource write operation failed to complete successfully, because it "
                              "reached terminal provisioning state 'Failed'.", "details": [inner]}
        return _arm_error("DeploymentFailed", "At least one resource deployment operation failed. Please list "
                          "deployment operations for details. Please see https://aka.ms/arm-deployment-operations "
                          "for usage details.", [wrapper],
                          target=f"/subscriptions/{dep.sub}/resourceGroups/{dep.rg}/providers/"
                                 f"Microsoft.Resources/deployments/{dep.name}")["error"]

    def _h_async_operation(self, body: Any, op: str) -> tuple[int, dict, Any]:
        dep = self._async.get(op)
        if dep is None:
            return 404, {}, _arm_error("NotFound", "no such operation")
        dep.polls += 1
        self._advance(dep)
        answer: dict[str, Any] = {"id": op, "name": op, "status": dep.state}
        if dep.state == "Failed":
            answer["error"] = self._deployment_error(dep)
        return 200, {"Retry-After": "0"}, answer

    def _deployment_json(self, dep: _Deployment) -> dict:
        props = dep.body.get("properties", {})
        template = props.get("template") or {}
        outputs = {}
        if dep.state == "Succeeded":
            for key, out in (template.get("outputs") or {}).items():
                value = out.get("value")
                outputs[key] = {"type": out.get("type", "String"),
                                "value": _eval_name(value, template, props.get("parameters") or {})}
        data: dict[str, Any] = {
            "id": f"/subscriptions/{dep.sub}/resourceGroups/{dep.rg}/providers/Microsoft.Resources/"
                  f"deployments/{dep.name}",
            "name": dep.name, "type": "Microsoft.Resources/deployments",
            "properties": {"provisioningState": dep.state, "mode": props.get("mode"),
                           "correlationId": dep.op_id, "timestamp": "2026-01-01T00:00:00Z",
                           "outputs": outputs,
                           "outputResources": [{"id": r["id"]} for r in dep.resources]
                           if dep.state == "Succeeded" else []}}
        if dep.state == "Failed":
            data["properties"]["error"] = self._deployment_error(dep)
        return data

    def _h_get_deployment(self, body: Any, sub: str, rg: str, name: str) -> tuple[int, dict, Any]:
        dep = self.deployments.get((sub, rg.lower(), name.lower()))
        if dep is None:
            return 404, {}, _arm_error("DeploymentNotFound", f"Deployment '{name}' could not be found.")
        self._advance(dep)
        return 200, {}, self._deployment_json(dep)

    def _h_head_deployment(self, body: Any, sub: str, rg: str, name: str) -> tuple[int, dict, Any]:
        return (204 if (sub, rg.lower(), name.lower()) in self.deployments else 404), {}, None

    def _h_operations(self, body: Any, sub: str, rg: str, name: str) -> tuple[int, dict, Any]:
        dep = self.deployments.get((sub, rg.lower(), name.lower()))
        if dep is None:
            return 404, {}, _arm_error("DeploymentNotFound", f"Deployment '{name}' could not be found.")
        failed = self._failed_resource(dep) if dep.failure and dep.failure["in_operations"] else None
        value = []
        for index, res in enumerate(dep.resources):
            if dep.state == "Running":
                # the first resource finishes early, the rest are still being created
                state = "Succeeded" if index == 0 and len(dep.resources) > 1 else "Running"
            elif res is failed:
                state = "Failed"
            else:
                state = "Succeeded"
            props: dict[str, Any] = {
                "provisioningOperation": "Create", "provisioningState": state,
                "timestamp": "2026-01-01T00:00:00Z", "duration": "PT1S", "trackingId": uuid.uuid4().hex,
                "statusCode": "OK" if state == "Succeeded" else ("Conflict" if state == "Failed" else None),
                "targetResource": {"id": res["id"], "resourceType": res["type"], "resourceName": res["name"]},
            }
            if state == "Failed":
                failure = dep.failure or {}
                props["statusMessage"] = {"status": "Failed", "error": _arm_error(
                    failure.get("code", "Conflict"), failure.get("message", ""), failure.get("details"))["error"]}
            value.append({"id": f"{self._deployment_json(dep)['id']}/operations/{index:08X}",
                          "operationId": f"{index:08X}", "properties": props})
        return 200, {}, {"value": value}


def sample_template() -> dict:
    """A small hand-made ARM template: a storage account and a user-assigned identity, with outputs."""
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "storageName": {"type": "string", "metadata": {"description": "Required. Storage account name."}},
            "identityName": {"type": "string", "defaultValue": "id-amlgen"},
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
        },
        "resources": [
            {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2026-04-01",
             "name": "[parameters('storageName')]", "location": "[parameters('location')]",
             "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
             "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False}},
            {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2024-11-30",
             "name": "[parameters('identityName')]", "location": "[parameters('location')]"},
        ],
        "outputs": {
            "storageAccountName": {"type": "string", "value": "[parameters('storageName')]"},
            "identityName": {"type": "string", "value": "[parameters('identityName')]"},
        },
    }


def _original(raw_path: str, lowered: str | None) -> str | None:
    """The original-case spelling of a path segment that matched in lower case."""
    if lowered is None:
        return None
    for segment in raw_path.split("/"):
        if segment.lower() == lowered:
            return segment
    return lowered


def _make_handler(standin: ArmStandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the SDK's requests session reuses connections
        disable_nagle_algorithm = True  # without it each small response waits ~40 ms for a delayed ACK

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out_headers, payload = standin._handle(self.command, self.path, headers, body)
            verbatim = isinstance(payload, RawBody)
            data = b"" if payload is None or self.command == "HEAD" else (
                payload.data if verbatim else json.dumps(payload).encode())
            self.send_response(status)
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            self.send_header("x-ms-correlation-request-id", headers.get("x-ms-client-request-id", "standin"))
            for key, value in out_headers.items():
                self.send_header(key, value)
            if data:
                self.send_header("Content-Type", payload.content_type if verbatim else "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

    return Handler
