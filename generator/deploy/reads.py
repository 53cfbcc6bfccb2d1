"""Plain GETs through the SDK pipeline of an ARM connection: arm_get (REST JSON, None on 404, CheckFailed with a
one-line reason otherwise; the soft-delete checks and the live importer use it) and read_workspace (the existing
workspace a spec adds to)."""

from __future__ import annotations

from typing import Any, Mapping

from generator import naming
from generator.deploy.connection import ArmConnection
from generator.deploy.explain import explain, odata
from generator.errors import DeployError, first_line


class CheckFailed(Exception):
    """The lookup itself failed: the reason, in one line."""


def arm_get(client: Any, url: str) -> Mapping[str, Any] | None:
    """GET through the SDK pipeline: the JSON body, None on 404, CheckFailed otherwise."""
    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    try:
        response = client.send_request(HttpRequest("GET", url))
    except (AzureError, DeployError) as exc:  # DeployError: the credential's own one-line sign-in failure
        raise CheckFailed(first_line(f"{type(exc).__name__}: {exc}", 160)) from None
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        try:
            error = (response.json() or {}).get("error") or {}
        except ValueError:
            error = {}
        code = error.get("code") or f"HTTP {response.status_code}"
        message = first_line(error.get("message") or "", 160)
        raise CheckFailed(f"{code}: {message}".rstrip(": ") if message else code)
    try:
        body = response.json()
    except ValueError:
        raise CheckFailed(f"HTTP {response.status_code} without a JSON body") from None
    return body if isinstance(body, Mapping) else {}


def read_workspace(workspace_id: str, conn: ArmConnection, label: str = "the spec") -> dict[str, Any]:
    """GET the workspace a spec adds to (workspace.existing), at the API version the templates pin, through the
    SDK's generic resources client: its ARM JSON (location, identity, properties). A workspace that does not exist
    (404) or that the caller cannot read (403) is one clear line."""
    from azure.core.exceptions import AzureError, HttpResponseError

    from generator.apiversions import api_version

    ref = naming.parse_resource_id(workspace_id)
    resources = conn.clients()[0]
    try:
        found = resources.resources.get_by_id(workspace_id, api_version=api_version(
            "Microsoft.MachineLearningServices/workspaces"))
    except HttpResponseError as exc:
        name = ref.name if ref else workspace_id
        where = f"resource group {ref.resource_group} of subscription {ref.subscription}" if ref else "Azure"
        if exc.status_code == 404:
            raise DeployError(f"{label}: the workspace {name} it adds to does not exist in {where} (404): check "
                              f"workspace.existing ({workspace_id}), or ask the workspace's owner to deploy it "
                              "first") from None
        if exc.status_code == 403:
            raise DeployError(f"{label}: cannot read the workspace {name} it adds to (403 "
                              f"{(odata(exc.error) or {}).get('code') or 'AuthorizationFailed'}): the signed-in "
                              f"identity needs at least Reader on it (and the right to create what the spec adds); "
                              "ask the workspace's owner") from None
        raise explain(exc, f"reading the workspace {name} that {label} adds to", None, conn) from None
    except AzureError as exc:
        raise explain(exc, f"reading the workspace that {label} adds to", None, conn) from None
    return found.as_dict() if hasattr(found, "as_dict") else dict(found)
