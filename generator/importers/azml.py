"""Import from `az ml` (CLI v2) YAML: a workspace file and any compute, datastore and connection files.

The CLI's snake_case keys map to the ARM properties the workspace REST API uses (the same ones azure-ai-ml sends:
sdk/ml/azure-ai-ml/azure/ai/ml/entities/_workspace/workspace.py `_to_rest_object`); `mapping.to_spec` then reads
them like any other source. The table below is the whole mapping (README: "Adopting an existing workspace").
Credentials in the files (account keys, SAS tokens, PATs) are never read into the spec.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from generator import naming
from generator.importers import evaluate
from generator.importers.mapping import ImportProblem, read_text

# az ml workspace YAML key -> ARM workspace property (README table).
WORKSPACE_KEYS: dict[str, str] = {
    "display_name": "friendlyName",
    "description": "description",
    "storage_account": "storageAccount",
    "key_vault": "keyVault",
    "application_insights": "applicationInsights",
    "container_registry": "containerRegistry",
    "hbi_workspace": "hbiWorkspace",
    "image_build_compute": "imageBuildCompute",
    "public_network_access": "publicNetworkAccess",
    "primary_user_assigned_identity": "primaryUserAssignedIdentity",
    "system_datastores_auth_mode": "systemDatastoresAuthMode",
    "hub_id": "hubResourceId",
    "enable_data_isolation": "enableDataIsolation",
}
# Keys the CLI reads that are not workspace properties, or that amlgen decides itself.
IGNORED_KEYS = {"$schema", "name", "location", "tags", "resource_group", "id", "kind", "identity",
                "customer_managed_key", "managed_network", "serverless_compute"}

ISOLATION = {"disabled": "Disabled", "allow_internet_outbound": "AllowInternetOutbound",
             "allow_only_approved_outbound": "AllowOnlyApprovedOutbound"}
RULE_TYPES = {"fqdn": "FQDN", "service_tag": "ServiceTag", "private_endpoint": "PrivateEndpoint"}
IDENTITY_TYPES = {"system_assigned": "SystemAssigned", "user_assigned": "UserAssigned",
                  "system_assigned,user_assigned": "SystemAssigned,UserAssigned"}
COMPUTE_TYPES = {"amlcompute": "AmlCompute", "computeinstance": "ComputeInstance", "kubernetes": "Kubernetes"}
DATASTORE_TYPES = {"azure_blob": "AzureBlob", "azure_file": "AzureFile", "azure_data_lake_gen2": "AzureDataLakeGen2"}

_PLACEHOLDER = evaluate.Scope()  # the subscription and group that stand in when the YAML names none


def _load(path: Path) -> dict:
    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ImportProblem(f"{path}{where}: not valid YAML ({getattr(err, 'problem', None) or err})") from None
    if not isinstance(data, dict):
        raise ImportProblem(f"{path}: an az ml YAML file is a mapping of keys to values")
    return data


def _kind_of(data: dict, path: Path) -> str:
    schema = str(data.get("$schema", "")).lower()
    rtype = str(data.get("type", "")).lower()
    if "workspace" in schema or ("type" not in data and any(k in data for k in WORKSPACE_KEYS)) or \
            ("type" not in data and ("managed_network" in data or "customer_managed_key" in data)):
        return "workspace"
    if rtype in COMPUTE_TYPES or "compute" in schema or rtype in ("virtualmachine", "synapsespark"):
        return "compute"
    if rtype in DATASTORE_TYPES or rtype.startswith("azure_") or "datastore" in schema or "azureblob" in schema:
        return "datastore"
    if "connection" in schema or rtype in ("git", "python_feed", "container_registry", "s3", "snowflake",
                                           "azure_sql_db", "azure_open_ai", "azure_ai_search", "api_key"):
        return "connection"
    if "type" not in data:
        return "workspace"
    raise ImportProblem(f"{path}: cannot tell what kind of az ml YAML this is (type {data.get('type')!r})")


def _scope(ws: dict) -> tuple[str, str]:
    for key in ("storage_account", "key_vault", "application_insights", "container_registry"):
        rid = naming.parse_resource_id(str(ws.get(key) or ""))
        if rid:
            return rid.subscription, rid.resource_group
    return _PLACEHOLDER.subscription_id, str(ws.get("resource_group") or _PLACEHOLDER.resource_group)


def _workspace(ws: dict, notes: list[str]) -> dict:
    sub, group = _scope(ws)
    name = str(ws.get("name") or "")
    if not name:
        raise ImportProblem("the workspace YAML has no name")
    props: dict[str, Any] = {}
    for key, value in ws.items():
        if key in WORKSPACE_KEYS:
            props[WORKSPACE_KEYS[key]] = value
        elif key not in IGNORED_KEYS:
            notes.append(f"workspace YAML key {key}: not mapped (amlgen has no setting for it)")
    if isinstance(props.get("publicNetworkAccess"), str):
        props["publicNetworkAccess"] = props["publicNetworkAccess"].capitalize()
    cmk = ws.get("customer_managed_key") or {}
    if cmk:
        props["encryption"] = {"status": "Enabled", "keyVaultProperties": {
            "keyVaultArmId": cmk.get("key_vault"), "keyIdentifier": cmk.get("key_uri")}}
    managed = ws.get("managed_network") or {}
    if managed:
        rules = {}
        for rule in managed.get("outbound_rules") or []:
            kind = RULE_TYPES.get(str(rule.get("type", "")).lower())
            dest = rule.get("destination")
            if kind == "ServiceTag" and isinstance(dest, dict):
                dest = {"serviceTag": dest.get("service_tag"), "protocol": dest.get("protocol"),
                        "portRanges": str(dest.get("port_ranges", "")).replace(" ", "") or None}
            elif kind == "PrivateEndpoint" and isinstance(dest, dict):
                dest = {"serviceResourceId": dest.get("service_resource_id"),
                        "subresourceTarget": dest.get("subresource_target"),
                        "sparkEnabled": bool(dest.get("spark_enabled", False))}
            rules[str(rule.get("name"))] = {"type": kind or rule.get("type"), "category": "UserDefined",
                                            "destination": dest}
        props["managedNetwork"] = {"isolationMode": ISOLATION.get(str(managed.get("isolation_mode", "")).lower(),
                                                                  managed.get("isolation_mode")),
                                   "outboundRules": rules}
        if managed.get("firewall_sku"):
            props["managedNetwork"]["firewallSku"] = str(managed["firewall_sku"]).capitalize()
    serverless = ws.get("serverless_compute") or {}
    if serverless:
        props["serverlessComputeSettings"] = {"serverlessComputeCustomSubnet": serverless.get("custom_subnet"),
                                              "serverlessComputeNoPublicIP": serverless.get("no_public_ip")}
    identity: dict[str, Any] = {}
    if ws.get("identity"):
        raw = ws["identity"]
        identity["type"] = IDENTITY_TYPES.get(str(raw.get("type", "")).lower().replace(" ", ""), raw.get("type"))
        users = raw.get("user_assigned_identities") or {}
        if isinstance(users, list):  # the CLI also takes a list of {resource_id: ...}
            users = {u.get("resource_id"): {} for u in users if isinstance(u, dict)}
        if users:
            identity["userAssignedIdentities"] = {k: {} for k in users}
    kind = {"default": "Default", "hub": "Hub", "project": "Project", "featurestore": "FeatureStore"}.get(
        str(ws.get("kind", "")).lower().replace("_", ""), ws.get("kind"))
    resource = {"id": f"/subscriptions/{sub}/resourceGroups/{group}/providers/"
                      f"Microsoft.MachineLearningServices/workspaces/{name}",
                "type": "Microsoft.MachineLearningServices/workspaces", "name": name,
                "location": ws.get("location"), "tags": ws.get("tags") or {}, "properties": props,
                "identity": identity or {"type": "SystemAssigned"}}
    if kind:
        resource["kind"] = kind
    return resource


def _seconds_iso(value: Any) -> str | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return f"PT{max(1, round(seconds / 60))}M"


def _typed(data: dict, table: dict, what: str, notes: list[str]) -> tuple[str, str | None]:
    """The file's name and its ARM type from `table` (None, with a note, for a type amlgen does not describe)."""
    name = str(data.get("name") or "")
    kind = table.get(str(data.get("type", "")).lower())
    if not kind:
        notes.append(f"{what} {name}: type {data.get('type')!r} is not one amlgen describes")
    return name, kind


def _compute(data: dict, ws_id: str, notes: list[str]) -> dict | None:
    name, kind = _typed(data, COMPUTE_TYPES, "compute", notes)
    if not kind:
        return None
    inner: dict[str, Any] = {"vmSize": data.get("size")} if data.get("size") else {}
    outer: dict[str, Any] = {"computeType": kind, "properties": inner}
    if kind == "AmlCompute":
        inner["vmPriority"] = "LowPriority" if str(data.get("tier", "")).lower() == "low_priority" or \
            str(data.get("tier", "")).lower() == "lowpriority" else "Dedicated"
        inner["scaleSettings"] = {"minNodeCount": data.get("min_instances", 0),
                                  "maxNodeCount": data.get("max_instances", 4)}
        idle = _seconds_iso(data.get("idle_time_before_scale_down"))
        if idle:
            inner["scaleSettings"]["nodeIdleTimeBeforeScaleDown"] = idle
    elif kind == "ComputeInstance":
        owner = data.get("create_on_behalf_of") or {}
        if owner:
            inner["personalComputeInstanceSettings"] = {"assignedUser": {
                "objectId": owner.get("user_object_id"), "tenantId": owner.get("user_tenant_id")}}
        if data.get("idle_time_before_shutdown_minutes"):
            inner["idleTimeBeforeShutdown"] = f"PT{int(data['idle_time_before_shutdown_minutes'])}M"
        if data.get("schedules"):
            notes.append(f"compute {name}: schedules are not part of the spec")
    else:
        outer["resourceId"] = data.get("resource_id")
        inner["namespace"] = data.get("namespace")
    network = data.get("network_settings") or {}
    if isinstance(network, dict) and network.get("subnet"):
        inner["subnet"] = {"id": network["subnet"]}
    if data.get("ssh_settings") or data.get("admin_password"):
        notes.append(f"compute {name}: SSH settings and passwords are not carried over (amlgen never reads "
                     "secrets; instances take ssh: {publicKey: ...} in the spec)")
    resource = {"id": f"{ws_id}/computes/{name}", "type": "Microsoft.MachineLearningServices/workspaces/computes",
                "name": name, "properties": outer}
    identity = data.get("identity") or {}
    users = identity.get("user_assigned_identities") or []
    if users:
        ids = [u.get("resource_id") for u in users if isinstance(u, dict)] if isinstance(users, list) else list(users)
        resource["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {i: {} for i in ids if i}}
    return resource


def _datastore(data: dict, ws_id: str, notes: list[str]) -> dict | None:
    name, kind = _typed(data, DATASTORE_TYPES, "datastore", notes)
    if not kind:
        return None
    rid = naming.parse_resource_id(ws_id)
    props: dict[str, Any] = {"datastoreType": kind, "accountName": data.get("account_name"),
                             "subscriptionId": data.get("subscription_id") or (rid.subscription if rid else None),
                             "resourceGroup": data.get("resource_group") or (rid.resource_group if rid else None),
                             "description": data.get("description")}
    if not (data.get("subscription_id") and data.get("resource_group")):
        notes.append(f"datastore {name}: the YAML names only the account ({data.get('account_name')}); its "
                     "resource ID assumes the workspace's subscription and resource group: check it")
    if kind == "AzureFile":
        props["fileShareName"] = data.get("file_share_name")
    elif kind == "AzureDataLakeGen2":
        props["filesystem"] = data.get("filesystem")
    else:
        props["containerName"] = data.get("container_name")
    creds = data.get("credentials") or {}
    if "account_key" in creds:
        props["credentials"] = {"credentialsType": "AccountKey"}
    elif "sas_token" in creds:
        props["credentials"] = {"credentialsType": "Sas"}
    elif creds:
        props["credentials"] = {"credentialsType": "ServicePrincipal"}
    return {"id": f"{ws_id}/datastores/{name}", "type": "Microsoft.MachineLearningServices/workspaces/datastores",
            "name": name, "properties": props}


def read(paths: list[Path]) -> tuple[list[dict], list[str]]:
    """ARM-shaped resources from az ml YAML files (exactly one of them a workspace), and notes."""
    loaded = [(path, _load(path)) for path in paths]
    kinds = [(path, data, _kind_of(data, path)) for path, data in loaded]
    workspaces = [(p, d) for p, d, k in kinds if k == "workspace"]
    if len(workspaces) != 1:
        found = ", ".join(str(p) for p, _ in workspaces) or "none"
        raise ImportProblem(f"give exactly one workspace YAML file (found: {found})")
    notes: list[str] = []
    ws = _workspace(workspaces[0][1], notes)
    resources = [ws]
    for path, data, kind in kinds:
        if kind == "compute":
            resource = _compute(data, ws["id"], notes)
        elif kind == "datastore":
            resource = _datastore(data, ws["id"], notes)
        elif kind == "connection":
            notes.append(f"{path}: connections are not part of the spec yet (left alone)")
            resource = None
        else:
            continue
        if resource:
            resources.append(resource)
    if _scope(workspaces[0][1])[0] == _PLACEHOLDER.subscription_id and not re.search(
            r"/subscriptions/", str(workspaces[0][1])):
        notes.append("the workspace YAML names no resource IDs: dependents become ones amlgen creates")
    return resources, notes
