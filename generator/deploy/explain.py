"""Azure's errors as text a person can act on: the SDK exception, its OData error tree and the failed deployment
operations become one DeployError with the fix (sign in, a role, --create-resource-group, a timeout) where one is
known."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from generator.deploy.connection import CONNECT_TIMEOUT, REQUEST_TIMEOUT
from generator.deploy.signin import ARM_ENDPOINT_ENV
from generator.errors import DeployError, first_line

if TYPE_CHECKING:
    from generator.deploy.connection import ArmConnection
    from generator.deploy.targets import DeployTarget


def odata(error: Any) -> dict[str, Any] | None:
    """An error as a plain dict {code, message, target, details}, from an SDK model, ODataV4Format or dict."""
    if error is None:
        return None
    if isinstance(error, Mapping):
        if "error" in error and isinstance(error["error"], Mapping) and "code" not in error:
            return odata(error["error"])
        return {"code": error.get("code"), "message": error.get("message"), "target": error.get("target"),
                "details": [d for d in (odata(x) for x in error.get("details") or []) if d]}
    if hasattr(error, "as_dict"):
        return odata(error.as_dict())
    return {"code": getattr(error, "code", None), "message": getattr(error, "message", None),
            "target": getattr(error, "target", None),
            "details": [d for d in (odata(x) for x in getattr(error, "details", None) or []) if d]}


def error_lines(error: Mapping[str, Any] | None, indent: int = 2) -> list[str]:
    """`code: message` of each nested detail, indented by depth (the top error itself excluded)."""
    lines: list[str] = []
    for detail in (error or {}).get("details") or []:
        lines.append(" " * indent + code_message(detail))
        lines.extend(error_lines(detail, indent + 2))
    return lines


def code_message(error: Mapping[str, Any]) -> str:
    code, message = error.get("code") or "Error", (error.get("message") or "").strip()
    return f"{code}: {message}" if message else code


def _correlation(exc: Any) -> str:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("x-ms-correlation-request-id") if hasattr(headers, "get") else None
    return f" (correlation id {value})" if value else ""


def explain(exc: Exception, action: str, target: DeployTarget | None = None,
             conn: ArmConnection | None = None) -> DeployError:
    """A DeployError a person can act on, for an SDK exception raised while doing `action`."""
    from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ServiceRequestError,
                                       ServiceResponseError)

    if isinstance(exc, DeployError):
        return exc
    if isinstance(exc, ServiceResponseError) and "timed out" in str(exc).lower():
        endpoint = conn.cloud.arm_endpoint if conn else "Azure Resource Manager"
        waited = f" within {conn.request_timeout or REQUEST_TIMEOUT:g} s" if conn else ""
        return DeployError(f"{action}: {endpoint} accepted the connection but sent no answer{waited}: check the "
                           f"network or proxy and --arm-endpoint / {ARM_ENDPOINT_ENV} (or allow more time with "
                           "--request-timeout)")
    if isinstance(exc, ServiceRequestError) and "timed out" in str(exc).lower():
        endpoint = conn.cloud.arm_endpoint if conn else "Azure Resource Manager"
        waited = f" within {min(conn.request_timeout or REQUEST_TIMEOUT, CONNECT_TIMEOUT):g} s" if conn else ""
        return DeployError(f"{action}: cannot reach {endpoint}: no connection (TCP and TLS handshake){waited}; "
                           f"check the network or proxy, --cloud and --arm-endpoint / {ARM_ENDPOINT_ENV}")
    if isinstance(exc, ServiceRequestError):
        endpoint = conn.cloud.arm_endpoint if conn else "Azure Resource Manager"
        tls = " (TLS: set REQUESTS_CA_BUNDLE to your CA bundle)" if "SSL" in str(exc) or "certificate" in str(
            exc) else ""
        return DeployError(f"{action}: cannot reach {endpoint}{tls}: {first_line(str(exc), 160)}; check the "
                           f"network or proxy, --cloud and --arm-endpoint / {ARM_ENDPOINT_ENV}")
    if not isinstance(exc, HttpResponseError):
        return DeployError(f"{action}: {type(exc).__name__}: {first_line(str(exc))}")
    error = odata(exc.error) or odata(_response_json(exc)) or {}
    code = error.get("code") or (getattr(exc, "reason", None) or "")
    status = exc.status_code
    head = f"{action}: {code_message(error) if error else f'HTTP {status}'}"
    rg = target.resource_group if target else "the resource group"
    sub = conn.subscription_id if conn else "the subscription"
    fix = ""
    if isinstance(exc, ClientAuthenticationError) or status == 401:
        fix = "; fix: sign in again (`az login`) or check the credential's variables"
        if conn and conn.cloud.name != "AzureCloud":
            fix += f", and that it signs in to {conn.cloud.name}"
    elif status == 403:
        fix = (f"; fix: the identity needs Contributor on resource group {rg} (Owner, or Role Based Access "
               f"Control Administrator, when the template assigns roles)")
    elif code == "ResourceGroupNotFound":
        fix = f"; fix: pass --create-resource-group with --location, or run `az group create -n {rg} -l LOCATION`"
    elif code in ("SubscriptionNotFound", "InvalidSubscriptionId"):
        fix = f"; fix: check --subscription {sub} (`az account list -o table`)"
    elif code == "DeploymentActive" and target is not None:
        fix = (f"; fix: wait for it ({target.follow_command()}) or cancel it "
               f"(az deployment group cancel -g {target.resource_group} -n {target.deployment_name})")
    if fix:
        head = head.rstrip(".")
    lines = [head + fix + _correlation(exc)]
    lines.extend(error_lines(error))
    return DeployError("\n".join(lines))


def _response_json(exc: Any) -> Any:
    response = getattr(exc, "response", None)
    try:
        return json.loads(response.text()) if response is not None else None
    except (ValueError, TypeError, AttributeError):
        return None


def failed_operations(operations: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per failed resource (type 'name': code: message), with its nested details indented below."""
    lines = []
    for op in operations:
        props = op.get("properties") or {}
        if props.get("provisioningState") != "Failed":
            continue
        resource = props.get("targetResource") or {}
        status = props.get("statusMessage")
        if isinstance(status, Mapping):
            error = odata(status.get("error") if "error" in status else status)
        else:
            error = {"code": props.get("statusCode") or "Failed", "message": str(status or ""), "details": []}
        where = f"{resource.get('resourceType') or 'resource'} '{resource.get('resourceName') or resource.get('id')}'"
        lines.append(f"  {where}: {code_message(error or {})}")
        lines.extend(error_lines(error, 4))
    return lines
