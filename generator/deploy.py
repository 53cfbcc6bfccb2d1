"""Talk to Azure Resource Manager through the Azure SDK: sign in, preflight, what-if and deploy generated templates.

This is the only module that imports the Azure SDK, and it does so inside the functions that need it, so that
`validate` and `generate` never pay for the import. Everything else here (the cloud table, the what-if noise
filter, error formatting, config.json) is plain Python that tests can call without the SDK.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from generator import __version__, clouds, naming
from generator.errors import DeployError

# --------------------------------------------------------------------------------------------------------------
# Clouds

ARM_ENDPOINT_ENV = "AMLGEN_ARM_ENDPOINT"
MODES = ("Incremental", "Complete")
AUTH_MODES = ("default", "cli", "env", "managed-identity", "workload-identity")

# How long one ARM request may take. ARM answers a long-running call at once (201/202 and a status URL to poll),
# so a request without an answer for minutes means the endpoint or a proxy hangs, not that Azure is busy.
REQUEST_TIMEOUT = 120.0  # seconds to wait for an answer (--request-timeout); azure-core's default is 300 per try
CONNECT_TIMEOUT = 30.0  # seconds to connect, TLS handshake included (at most REQUEST_TIMEOUT)
DISCOVERY_TIMEOUT = 10.0  # seconds for a custom endpoint's /metadata/endpoints (at most REQUEST_TIMEOUT)
WAIT_NOTICE = 15.0  # seconds between "still waiting" lines while a request gets no answer


@dataclass(frozen=True)
class Cloud:
    """Where ARM lives and how to get a token for it."""

    name: str
    arm_endpoint: str  # e.g. https://management.azure.com/
    authority_host: str  # Microsoft Entra ID host the credentials sign in at
    scope: str  # the token scope ARM accepts

    def __post_init__(self) -> None:
        object.__setattr__(self, "arm_endpoint", self.arm_endpoint.rstrip("/") + "/")


CLOUDS: dict[str, Cloud] = {name: Cloud(name, *clouds.ENDPOINTS[name]) for name in clouds.CLOUDS}


def resolve_cloud(name: str | None = None, arm_endpoint: str | None = None, *,
                  connection_verify: bool | str | None = None, discover: bool = True,
                  timeout: float = 10.0) -> Cloud:
    """The cloud to talk to: a named cloud, optionally at another ARM endpoint (Azure Stack Hub, custom clouds).

    `arm_endpoint` defaults to the AMLGEN_ARM_ENDPOINT environment variable. For an endpoint that is not the
    named cloud's own, the sign-in authority and token audience are read from the endpoint's
    `/metadata/endpoints` document (what `az cloud register` does); if it has none, the named cloud's are used
    (an ARM private link or a proxy in front of a public cloud).
    """
    key = {k.lower(): k for k in CLOUDS}.get((name or "AzureCloud").lower())
    if key is None:
        raise DeployError(f"unknown cloud {name!r}: use one of {', '.join(CLOUDS)}, "
                          f"or --arm-endpoint for Azure Stack Hub and custom clouds")
    base = CLOUDS[key]
    endpoint = arm_endpoint or os.environ.get(ARM_ENDPOINT_ENV) or None
    if not endpoint or endpoint.rstrip("/") == base.arm_endpoint.rstrip("/"):
        return base
    if not endpoint.lower().startswith("https://"):
        raise DeployError(f"ARM endpoint {endpoint!r} must be an https:// URL (Azure refuses tokens over http)")
    found = _discover_endpoints(endpoint, _verify(connection_verify), timeout) if discover else None
    if found is None:
        return Cloud(f"{base.name} at {endpoint}", endpoint, base.authority_host, base.scope)
    authority, audience = found
    return Cloud(f"custom cloud at {endpoint}", endpoint, authority, audience + "/.default")


def _discover_endpoints(endpoint: str, verify: bool | str, timeout: float = 10.0) -> tuple[str, str] | None:
    """(authority host, token audience) from `<endpoint>/metadata/endpoints`, or None when it is not served."""
    import ssl
    import urllib.request  # here, not at the top: it costs validate/generate ~13 ms to import

    url = endpoint.rstrip("/") + "/metadata/endpoints?api-version=2015-01-01"
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:  # noqa: S310 - https only
            document = json.load(answer)
        auth = document["authentication"]
        login, audience = auth["loginEndpoint"], auth["audiences"][0]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return login.rstrip("/"), audience


def _verify(connection_verify: bool | str | None) -> bool | str:
    """TLS verification for ARM calls: an explicit value, else the usual REQUESTS_CA_BUNDLE, else the system CAs."""
    if connection_verify is not None:
        return connection_verify
    return os.environ.get("REQUESTS_CA_BUNDLE") or True


# --------------------------------------------------------------------------------------------------------------
# Credentials

_ENV_SECRET_VARS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID")


def _login_fix(auth: str, cloud: Cloud | None) -> str:
    cloud_hint = ""
    if cloud is not None and cloud.name in CLOUDS and cloud.name != "AzureCloud":
        cloud_hint = f" (after `az cloud set --name {cloud.name}`)"
    if auth == "cli":
        return f"run `az login`{cloud_hint}, or choose another --auth"
    if auth == "env":
        missing = [v for v in _ENV_SECRET_VARS if not os.environ.get(v)]
        if not (os.environ.get("AZURE_CLIENT_SECRET") or os.environ.get("AZURE_CLIENT_CERTIFICATE_PATH")):
            missing.append("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH")
        unset = f" ({', '.join(missing)} not set)" if missing else ""
        return ("set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) "
                f"for a service principal{unset}")
    if auth == "managed-identity":
        return ("run on an Azure host that has a managed identity (set AZURE_CLIENT_ID for a user-assigned one), "
                "or choose another --auth")
    if auth == "workload-identity":
        return ("set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE (the AKS webhook or your CI's "
                "OIDC step does this)")
    return (f"run `az login`{cloud_hint}, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, "
            "or pick a method with --auth")


def _first_line(text: str, limit: int = 200) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _login_error(auth: str, cloud: Cloud | None, reason: Any) -> DeployError:
    # the SDK's first sentence says what failed (an AADSTS code, "Azure CLI not found on path"); the rest is
    # a troubleshooting link our fix replaces
    said = _first_line(str(reason), 300).split(". ", 1)[0].rstrip(".")
    return DeployError(f"cannot sign in to Azure with --auth {auth}: {said}; fix: {_login_fix(auth, cloud)}")


class _FriendlyCredential:
    """Wraps an azure-identity credential so that a missing or refused login is one DeployError line."""

    def __init__(self, inner: Any, auth: str, cloud: Cloud | None) -> None:
        self._inner, self._auth, self._cloud = inner, auth, cloud

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        try:
            return self._inner.get_token(*scopes, **kwargs)
        except ClientAuthenticationError as err:  # CredentialUnavailableError derives from it
            reason = getattr(err, "message", None) or str(err)
            if self._auth == "default":
                # the chain's message has one line per credential tried; an AADSTS line is a real refusal
                refused = [line for line in reason.splitlines() if "AADSTS" in line]
                reason = refused[0].strip() if refused else (
                    "no credential available (environment, workload identity, managed identity, Azure CLI, "
                    "Azure PowerShell, Azure Developer CLI)")
            raise _login_error(self._auth, self._cloud, reason) from None

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close:
            close()


def _quiet_identity_logging(verbose: bool) -> None:
    """Keep the SDK's own logging off stderr unless --verbose: azure.identity's multi-line warning chain, and the
    clients' "failsafe deserialization" warning with a traceback when an error body is not JSON (a proxy's HTML
    page). amlgen's own one-line error says what went wrong. With --verbose, every `azure.*` logger prints to
    stderr (warnings, and the requests and responses the SDK logs at INFO)."""
    sdk = logging.getLogger("azure")
    logging.getLogger("azure.identity").propagate = True  # to `azure`, routed below (was cut off on its own)
    for handler in [h for h in sdk.handlers if isinstance(h, (_SdkStderr, logging.NullHandler))]:
        sdk.removeHandler(handler)
    sdk.propagate = False  # never to the root logger (Python's last-resort handler prints warnings with tracebacks)
    if verbose:
        sdk.addHandler(_SdkStderr())
        sdk.setLevel(logging.INFO)
    else:
        sdk.addHandler(logging.NullHandler())
        sdk.setLevel(logging.NOTSET)


class _SdkStderr(logging.StreamHandler):
    """The Azure SDK's log lines (--verbose) on the sys.stderr of the moment, each after its logger's name."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("azure sdk: %(name)s: %(message)s"))

    @property
    def stream(self):  # click and tests swap sys.stderr: always write to the current one
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def make_credential(auth: str = "default", *, cloud: Cloud | None = None, verbose: bool = False) -> Any:
    """A token credential for `auth` (one of AUTH_MODES), signing in at `cloud`'s authority.

    Nothing is requested here; a missing login surfaces as a one-line DeployError on the first ARM call
    (or at once, for a workload identity whose variables are missing). `default` and `managed-identity` may
    probe the instance metadata address: never use them in tests.
    """
    if auth not in AUTH_MODES:
        raise DeployError(f"unknown --auth {auth!r}: use one of {', '.join(AUTH_MODES)}")
    _quiet_identity_logging(verbose)
    from azure import identity

    authority = {"authority": cloud.authority_host} if cloud is not None else {}
    try:
        if auth == "default":
            inner = identity.DefaultAzureCredential(**authority)
        elif auth == "cli":
            inner = identity.AzureCliCredential()
        elif auth == "env":
            inner = identity.EnvironmentCredential(**authority)
        elif auth == "managed-identity":
            client_id = os.environ.get("AZURE_CLIENT_ID")
            inner = identity.ManagedIdentityCredential(**({"client_id": client_id} if client_id else {}))
        else:
            inner = identity.WorkloadIdentityCredential(**authority)
    except ValueError as err:  # WorkloadIdentityCredential checks its configuration eagerly
        raise _login_error(auth, cloud, err) from None
    return _FriendlyCredential(inner, auth, cloud)


# --------------------------------------------------------------------------------------------------------------
# Connection

RetryNotice = Callable[[str], None]


@dataclass
class ArmConnection:
    """A subscription on a cloud, with a credential; hands out fresh SDK clients (one pair per thread)."""

    subscription_id: str
    credential: Any
    cloud: Cloud = CLOUDS["AzureCloud"]
    connection_verify: bool | str = True
    on_retry: RetryNotice | None = None  # told, in one line, each time the SDK's retry policy retries
    request_timeout: float = 0.0  # seconds one request may wait to connect and for an answer (0: REQUEST_TIMEOUT)
    on_wait: RetryNotice | None = None  # told, every few seconds, while a request gets no answer

    def clients(self, stop: threading.Event | None = None) -> tuple[Any, Any]:
        """(ResourceManagementClient, DeploymentsMgmtClient) for this connection. Once `stop` is set, their
        requests neither retry nor report: the caller has stopped waiting for them."""
        from azure.mgmt.resource.deployments import DeploymentsMgmtClient
        from azure.mgmt.resource.resources import ResourceManagementClient

        timeout = self.request_timeout or REQUEST_TIMEOUT
        options = dict(base_url=self.cloud.arm_endpoint, credential_scopes=[self.cloud.scope],
                       connection_verify=self.connection_verify, user_agent=f"amlgen/{__version__}",
                       connection_timeout=min(timeout, CONNECT_TIMEOUT), read_timeout=timeout)

        def policy() -> Any:
            return _retry_policy(self.on_retry, on_wait=self.on_wait, stop=stop, timeout=timeout,
                                 endpoint=self.cloud.arm_endpoint)

        return (ResourceManagementClient(self.credential, self.subscription_id, retry_policy=policy(), **options),
                DeploymentsMgmtClient(self.credential, self.subscription_id, retry_policy=policy(), **options))


def connect(subscription_id: str, *, auth: str = "default", credential: Any = None, cloud: str | None = None,
            arm_endpoint: str | None = None, connection_verify: bool | str | None = None,
            on_retry: RetryNotice | None = None, verbose: bool = False,
            request_timeout: float = REQUEST_TIMEOUT, on_wait: RetryNotice | None = None) -> ArmConnection:
    """Everything needed to reach ARM: cloud (+ endpoint override), credential and CA bundle; `request_timeout`
    bounds how long one request waits for a connection and for an answer, `on_wait` hears while it waits."""
    if not subscription_id:
        raise DeployError("no subscription: pass --subscription (or set AZURE_SUBSCRIPTION_ID)")
    _quiet_identity_logging(verbose)  # also with a credential given: the clients log too
    verify = _verify(connection_verify)
    resolved = resolve_cloud(cloud, arm_endpoint, connection_verify=verify,
                             timeout=min(request_timeout, DISCOVERY_TIMEOUT))
    if credential is None:
        credential = make_credential(auth, cloud=resolved, verbose=verbose)
    return ArmConnection(subscription_id, credential, resolved, verify, on_retry, request_timeout, on_wait)


def _retry_policy(on_retry: RetryNotice | None, *, on_wait: RetryNotice | None = None,
                  stop: threading.Event | None = None, timeout: float = REQUEST_TIMEOUT,
                  endpoint: str = "") -> Any:
    """The SDK's own RetryPolicy, which also tells `on_retry` when it is about to retry, tells `on_wait` while a
    request gets no answer, and ends quietly once `stop` is set. A connection that fails is tried 3 times, a
    request that times out twice (GET/PUT/HEAD/DELETE; the SDK never retries a POST that timed out)."""
    from azure.core.pipeline.policies import RetryPolicy

    class _ReportingRetryPolicy(RetryPolicy):
        def sleep(self, settings: dict, transport: Any, response: Any = None) -> None:
            if stop is not None and stop.is_set():
                raise _PollingStopped  # we stopped waiting: no retry, and nothing more to say
            if on_retry is not None:
                try:
                    on_retry(_describe_retry(self, settings, response))
                except Exception:  # noqa: BLE001 - a reporting hook must never break the request
                    pass
            super().sleep(settings, transport, response=response)

        def send(self, request: Any) -> Any:
            if on_wait is None:
                return super().send(request)
            done = threading.Event()
            watcher = threading.Thread(target=_tell_while_waiting, args=(done, on_wait, request.http_request,
                                                                         endpoint, timeout, stop),
                                       name="amlgen-wait-notice", daemon=True)
            watcher.start()
            try:
                return super().send(request)
            finally:
                done.set()
                watcher.join()

    return _ReportingRetryPolicy(retry_connect=2, retry_read=1)


def _tell_while_waiting(done: threading.Event, on_wait: RetryNotice, request: Any, endpoint: str, timeout: float,
                        stop: threading.Event | None) -> None:
    """Every WAIT_NOTICE seconds (a quarter of the timeout, when that is shorter) until `done`: one line saying
    which request waits on which endpoint, for how long, and when amlgen gives up."""
    every = min(WAIT_NOTICE, timeout / 4)
    began = time.monotonic()
    path = request.url.split("?", 1)[0]
    what = f"{request.method} …/{'/'.join(path.rstrip('/').split('/')[-2:])}"
    while not done.wait(every):
        if stop is not None and stop.is_set():
            return
        try:
            on_wait(f"no answer yet from {endpoint} to {what} after {time.monotonic() - began:.0f} s "
                    f"(amlgen gives up after {timeout:g} s without an answer; --request-timeout)")
        except Exception:  # noqa: BLE001 - a reporting hook must never break the request
            return


def _describe_retry(policy: Any, settings: dict, response: Any) -> str:
    history = settings.get("history") or []
    last = history[-1] if history else None
    request = getattr(last, "http_request", None)
    where = ""
    if request is not None:
        path = request.url.split("?", 1)[0]
        where = f" to {request.method} …/{'/'.join(path.rstrip('/').split('/')[-2:])}"
    if response is not None:
        status = response.http_response.status_code
        wait = policy.get_retry_after(response)
        what = {429: "throttled the request (429)"}.get(status, f"answered {status}")
        cause = f"ARM {what}{where}"
    else:
        error = getattr(last, "error", None)
        wait = None
        cause = f"connection problem{where}: {_first_line(str(error), 120)}" if error else f"transient error{where}"
    if wait is None:
        wait = policy.get_backoff_time(settings)
    return f"{cause}; retrying in {wait:g} s (retry {len(history)}, the SDK's retry policy)"


# --------------------------------------------------------------------------------------------------------------
# Targets and results



def deployment_name_for(workspace_name: str) -> str:
    """The stable deployment name for a workspace, so a redeploy updates one record instead of adding one."""
    return naming.deployment_name(workspace_name)


@dataclass(frozen=True)
class DeployTarget:
    """One template to deploy: what the generator produced for one spec, and where it goes."""

    label: str  # the spec, e.g. examples/dev.yaml: names the target in messages and tables
    template: Mapping[str, Any]  # main.json as data
    parameters: Mapping[str, Any]  # ARM parameter values: {"name": {"value": ...}} (main.parameters.json's)
    resource_group: str
    workspace_name: str
    location: str | None = None  # for --create-resource-group
    deployment_name: str = ""  # default: deployment_name_for(workspace_name)

    def __post_init__(self) -> None:
        params = self.parameters
        # accept a whole main.parameters.json document as well as its `parameters` object
        if isinstance(params, Mapping) and "$schema" in params and isinstance(params.get("parameters"), Mapping):
            object.__setattr__(self, "parameters", params["parameters"])
        if not self.deployment_name:
            object.__setattr__(self, "deployment_name", deployment_name_for(self.workspace_name))

    @classmethod
    def from_output_dir(cls, label: str, out_dir: str | os.PathLike, resource_group: str, workspace_name: str,
                        location: str | None = None) -> DeployTarget:
        """A target read from generated files: <out_dir>/main.json and main.parameters.json (if present)."""
        folder = Path(out_dir)
        template = json.loads((folder / "main.json").read_text(encoding="utf-8"))
        params_file = folder / "main.parameters.json"
        parameters = json.loads(params_file.read_text(encoding="utf-8")) if params_file.exists() else {}
        return cls(label, template, parameters, resource_group, workspace_name, location)

    def body(self, mode: str = "Incremental") -> dict[str, Any]:
        return {"properties": {"mode": mode, "template": self.template, "parameters": dict(self.parameters)}}

    def follow_command(self) -> str:
        return f"az deployment group show -g {self.resource_group} -n {self.deployment_name}"


@dataclass(frozen=True)
class DeployResult:
    """A finished (or, without waiting, accepted) deployment."""

    label: str
    deployment_name: str
    resource_group: str
    state: str  # Succeeded, or Accepted when not waiting
    outputs: dict[str, Any]
    duration: float
    correlation_id: str | None = None


@dataclass(frozen=True)
class TargetResult:
    """One row of the deploy_many summary."""

    label: str
    deployment_name: str
    resource_group: str
    ok: bool
    state: str  # Succeeded | Accepted | Failed | Detached | NotStarted
    duration: float
    error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


class DeployInterrupted(DeployError):
    """Waiting stopped (Ctrl-C); the deployment itself goes on in Azure."""

    exit_code = 130  # as for any interrupted command (cli.main)

    def __init__(self, targets: Sequence[DeployTarget]) -> None:
        self.targets = list(targets)
        if len(self.targets) == 1:
            t = self.targets[0]
            text = (f"stopped waiting; deployment {t.deployment_name} goes on in Azure "
                    f"(resource group {t.resource_group}). Follow it with: {t.follow_command()}")
        else:
            follow = "; ".join(t.follow_command() for t in self.targets)
            text = (f"stopped waiting; {len(self.targets)} deployments go on in Azure. Follow them with: {follow}"
                    if self.targets else "stopped before any deployment started")
        super().__init__(text)


# --------------------------------------------------------------------------------------------------------------
# Error text

def _odata(error: Any) -> dict[str, Any] | None:
    """An error as a plain dict {code, message, target, details}, from an SDK model, ODataV4Format or dict."""
    if error is None:
        return None
    if isinstance(error, Mapping):
        if "error" in error and isinstance(error["error"], Mapping) and "code" not in error:
            return _odata(error["error"])
        return {"code": error.get("code"), "message": error.get("message"), "target": error.get("target"),
                "details": [d for d in (_odata(x) for x in error.get("details") or []) if d]}
    if hasattr(error, "as_dict"):
        return _odata(error.as_dict())
    return {"code": getattr(error, "code", None), "message": getattr(error, "message", None),
            "target": getattr(error, "target", None),
            "details": [d for d in (_odata(x) for x in getattr(error, "details", None) or []) if d]}


def _error_lines(error: Mapping[str, Any] | None, indent: int = 2) -> list[str]:
    """`code: message` of each nested detail, indented by depth (the top error itself excluded)."""
    lines: list[str] = []
    for detail in (error or {}).get("details") or []:
        lines.append(" " * indent + _code_message(detail))
        lines.extend(_error_lines(detail, indent + 2))
    return lines


def _code_message(error: Mapping[str, Any]) -> str:
    code, message = error.get("code") or "Error", (error.get("message") or "").strip()
    return f"{code}: {message}" if message else code


def _correlation(exc: Any) -> str:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("x-ms-correlation-request-id") if hasattr(headers, "get") else None
    return f" (correlation id {value})" if value else ""


def _explain(exc: Exception, action: str, target: DeployTarget | None = None,
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
        return DeployError(f"{action}: cannot reach {endpoint}{tls}: {_first_line(str(exc), 160)}; check the "
                           f"network or proxy, --cloud and --arm-endpoint / {ARM_ENDPOINT_ENV}")
    if not isinstance(exc, HttpResponseError):
        return DeployError(f"{action}: {type(exc).__name__}: {_first_line(str(exc))}")
    error = _odata(exc.error) or _odata(_response_json(exc)) or {}
    code = error.get("code") or (getattr(exc, "reason", None) or "")
    status = exc.status_code
    head = f"{action}: {_code_message(error) if error else f'HTTP {status}'}"
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
    lines.extend(_error_lines(error))
    return DeployError("\n".join(lines))


def _response_json(exc: Any) -> Any:
    response = getattr(exc, "response", None)
    try:
        return json.loads(response.text()) if response is not None else None
    except (ValueError, TypeError, AttributeError):
        return None


def _failed_operations(operations: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per failed resource (type 'name': code: message), with its nested details indented below."""
    lines = []
    for op in operations:
        props = op.get("properties") or {}
        if props.get("provisioningState") != "Failed":
            continue
        resource = props.get("targetResource") or {}
        status = props.get("statusMessage")
        if isinstance(status, Mapping):
            error = _odata(status.get("error") if "error" in status else status)
        else:
            error = {"code": props.get("statusCode") or "Failed", "message": str(status or ""), "details": []}
        where = f"{resource.get('resourceType') or 'resource'} '{resource.get('resourceName') or resource.get('id')}'"
        lines.append(f"  {where}: {_code_message(error or {})}")
        lines.extend(_error_lines(error, 4))
    return lines


# --------------------------------------------------------------------------------------------------------------
# What-if

# Properties only the service sets: any change to them is noise, whatever its type.
_READ_ONLY = frozenset(p.lower() for p in (
    "provisioningState", "etag", "creationTime", "createdAt", "createdOn", "creationDate", "timeCreated",
    "lastModifiedAt", "lastModifiedTime", "lastModifiedOn", "lastModifiedBy", "lastModifiedByType", "createdBy",
    "createdByType", "systemData", "keyCreationTime", "lastEnabledTime", "primaryEndpoints", "secondaryEndpoints",
    "primaryLocation", "secondaryLocation", "statusOfPrimary", "statusOfSecondary", "privateLinkCount",
    "serviceProvisionedResourceGroup", "discoveryUrl", "mlFlowTrackingUri", "notebookInfo", "vaultUri",
    "loginServer", "customerId", "AppId", "ApplicationId", "InstrumentationKey", "ConnectionString",
    "storageHnsEnabled",
))
# Names the service echoes back (a Delete: the template does not set them) but a template can also set (a
# diagnostic setting's workspaceId, a vault's tenantId, a role's principalId, an assigned user's tenantId): a
# Create or Modify of one of these is real input and stays visible.
_ECHOED = frozenset(p.lower() for p in ("workspaceId", "tenantId", "principalId", "clientId"))


def _is_noise(path: str, change: str) -> bool:
    if change == "NoEffect":
        return True
    segments = [re.sub(r"\[.*?\]", "", s).lower() for s in path.split(".")]
    if path.lower() == "id" or any(s in _READ_ONLY for s in segments):
        return True
    return change == "Delete" and any(s in _ECHOED for s in segments)


@dataclass(frozen=True)
class PropertyDelta:
    """One property a what-if says would change: path, Create|Delete|Modify|Array, before and after."""

    path: str
    change: str
    before: Any = None
    after: Any = None
    children: tuple[PropertyDelta, ...] = ()


@dataclass(frozen=True)
class ResourceChange:
    """One resource in a what-if: its change type and the property deltas left after filtering noise."""

    change_type: str  # Create | Modify | Delete | NoChange | Ignore | Deploy | Unsupported
    resource_id: str
    deltas: tuple[PropertyDelta, ...] = ()
    hidden: int = 0  # deltas dropped as noise
    unsupported_reason: str | None = None

    @property
    def resource_type(self) -> str:
        if "/providers/" not in self.resource_id:
            return "Microsoft.Resources/resourceGroups"
        parts = self.resource_id.split("/providers/")[-1].split("/")
        return "/".join([parts[0]] + parts[1::2])

    @property
    def name(self) -> str:
        return self.resource_id.rstrip("/").rsplit("/", 1)[-1]


CHANGE_ORDER = ("Create", "Modify", "Delete", "Deploy", "Unsupported", "NoChange", "Ignore")


@dataclass(frozen=True)
class WhatIfSummary:
    """What a deployment would change, per resource, with the echo noise filtered out."""

    changes: tuple[ResourceChange, ...]
    hidden: int = 0  # noise deltas filtered in total
    notes: tuple[str, ...] = ()  # soft-deleted names and the like (generator.soft_delete): said, never blocking

    @property
    def created(self) -> set[tuple[str, str]]:
        """(type, name) in lower case of every resource the deployment creates."""
        return {(c.resource_type.lower(), c.name.lower()) for c in self.of("Create")}

    def of(self, change_type: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.change_type == change_type]

    @property
    def counts(self) -> dict[str, int]:
        return {t: n for t in CHANGE_ORDER if (n := len(self.of(t)))}

    @property
    def deletions(self) -> list[ResourceChange]:
        return self.of("Delete")

    @property
    def has_changes(self) -> bool:
        return any(c.change_type in ("Create", "Modify", "Delete", "Deploy") for c in self.changes)


def _filter_deltas(raw: Iterable[Mapping[str, Any]]) -> tuple[tuple[PropertyDelta, ...], int]:
    kept, hidden = [], 0
    for item in raw or []:
        path, change = item.get("path", ""), item.get("propertyChangeType", "")
        children, child_hidden = _filter_deltas(item.get("children") or [])
        hidden += child_hidden
        if _is_noise(path, change) or (item.get("children") and not children):
            hidden += 1
            continue
        kept.append(PropertyDelta(path, change, item.get("before"), item.get("after"), children))
    return tuple(kept), hidden


def summarise_what_if(result: Mapping[str, Any]) -> WhatIfSummary:
    """Turn a what-if result (REST JSON: {"status", "properties": {"changes": [...]}}) into a WhatIfSummary.

    A Modify whose every delta is noise becomes NoChange: the service would only echo its own state.
    """
    if result.get("status") == "Failed" or result.get("error"):
        error = _odata(result.get("error")) or {}
        raise DeployError("\n".join([f"what-if failed: {_code_message(error)}"] + _error_lines(error)))
    changes, hidden_total = [], 0
    for change in (result.get("properties") or {}).get("changes") or []:
        kind = change.get("changeType", "")
        deltas, hidden = _filter_deltas(change.get("delta") or [])
        if kind == "Modify" and not deltas:
            kind = "NoChange"
        hidden_total += hidden
        changes.append(ResourceChange(kind, change.get("resourceId", ""), deltas, hidden,
                                      change.get("unsupportedReason")))
    order = {t: i for i, t in enumerate(CHANGE_ORDER)}
    changes.sort(key=lambda c: (order.get(c.change_type, len(order)), c.resource_id.lower()))
    return WhatIfSummary(tuple(changes), hidden_total)


_SYMBOL = {"Create": "+", "Delete": "-", "Modify": "~", "Array": "~", "Deploy": "!", "NoChange": "=",
           "Ignore": "*", "Unsupported": "x"}


def _short(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _delta_lines(delta: PropertyDelta, indent: int) -> list[str]:
    pad = " " * indent
    if delta.change == "Create":
        line = f"{pad}+ {delta.path}: {_short(delta.after)}"
    elif delta.change == "Delete":
        line = f"{pad}- {delta.path}: {_short(delta.before)}"
    elif delta.children:
        line = f"{pad}~ {delta.path}:"
    else:
        line = f"{pad}~ {delta.path}: {_short(delta.before)} => {_short(delta.after)}"
    out = [line]
    for child in delta.children:
        out.extend(_delta_lines(child, indent + 2))
    return out


def format_what_if(summary: WhatIfSummary, *, show_unchanged: bool = False) -> str:
    """Plain text, one block per changed resource, in the spirit of `az deployment group what-if`."""
    words = {"Create": "to create", "Modify": "to modify", "Delete": "to delete", "Deploy": "to deploy",
             "Unsupported": "unsupported", "NoChange": "no change", "Ignore": "to ignore"}
    counts = summary.counts
    head = ", ".join(f"{n} {words[t]}" for t, n in counts.items()) or "nothing"
    lines = [f"Resource changes: {head}."]
    for change in summary.changes:
        if change.change_type in ("NoChange", "Ignore") and not show_unchanged:
            continue
        symbol = _SYMBOL.get(change.change_type, "?")
        lines.append(f"{symbol} {change.change_type:<8} {change.resource_id}")
        if change.unsupported_reason:
            lines.append(f"    ({change.unsupported_reason})")
        for delta in change.deltas:
            lines.extend(_delta_lines(delta, 4))
    if summary.hidden:
        lines.append(f"({summary.hidden} read-only propert{'y' if summary.hidden == 1 else 'ies'} the service "
                     f"echoes back not shown)")
    lines.extend(f"note: {note}" for note in summary.notes)
    return "\n".join(lines)


def what_if(target: DeployTarget, conn: ArmConnection, *, mode: str = "Incremental",
            polling_interval: float = 2.0, check_names: bool = True) -> WhatIfSummary:
    """Ask ARM what deploying `target` would change (full resource payloads), and summarise it.

    With `check_names`, the summary's notes also say which of the names it creates a soft-deleted key vault or
    workspace holds, and what to do (generator.soft_delete); a lookup that fails is a note as well.
    """
    _check_mode(mode)
    from azure.core.exceptions import AzureError

    _, deployments = conn.clients()
    body = target.body(mode)
    body["properties"]["whatIfSettings"] = {"resultFormat": "FullResourcePayloads"}
    try:
        result = deployments.deployments.begin_what_if(
            target.resource_group, target.deployment_name, body, polling_interval=polling_interval).result()
    except AzureError as exc:
        raise _explain(exc, f"what-if of {target.label}", target, conn) from None
    summary = summarise_what_if(result.as_dict())
    if not check_names:
        return summary
    from dataclasses import replace

    from generator import soft_delete

    notes = soft_delete.notes(target.template, target.parameters, target.resource_group, conn.subscription_id,
                              conn.clients()[0], summary.created)
    return replace(summary, notes=tuple(notes))


# --------------------------------------------------------------------------------------------------------------
# The existing workspace a spec adds to

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
                              f"{(_odata(exc.error) or {}).get('code') or 'AuthorizationFailed'}): the signed-in "
                              f"identity needs at least Reader on it (and the right to create what the spec adds); "
                              "ask the workspace's owner") from None
        raise _explain(exc, f"reading the workspace {name} that {label} adds to", None, conn) from None
    except AzureError as exc:
        raise _explain(exc, f"reading the workspace that {label} adds to", None, conn) from None
    return found.as_dict() if hasattr(found, "as_dict") else dict(found)


# --------------------------------------------------------------------------------------------------------------
# Preflight and deploy

def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise DeployError(f"unknown deployment mode {mode!r}: use {' or '.join(MODES)}")


def _validate(deployments: Any, target: DeployTarget, body: dict, conn: ArmConnection,
              polling_interval: float) -> None:
    from azure.core.exceptions import AzureError

    try:
        result = deployments.deployments.begin_validate(
            target.resource_group, target.deployment_name, body, polling_interval=polling_interval).result()
    except AzureError as exc:
        raise _explain(exc, f"preflight validation of {target.label} failed", target, conn) from None
    error = _odata((result.as_dict() if hasattr(result, "as_dict") else result or {}).get("error"))
    if error:
        raise DeployError("\n".join([f"preflight validation of {target.label} failed: {_code_message(error)}"]
                                    + _error_lines(error)))


def validate(target: DeployTarget, conn: ArmConnection, *, mode: str = "Incremental",
             polling_interval: float = 2.0) -> None:
    """ARM preflight validation; a rejected template raises DeployError with code, message and nested details."""
    _check_mode(mode)
    _, deployments = conn.clients()
    _validate(deployments, target, target.body(mode), conn, polling_interval)


def ensure_resource_group(target: DeployTarget, conn: ArmConnection, location: str | None = None,
                          resources: Any = None) -> bool:
    """Create the target's resource group if it does not exist (True when created); never changes one."""
    from azure.core.exceptions import AzureError

    resources = resources or conn.clients()[0]
    where = location or target.location
    try:
        if resources.resource_groups.check_existence(target.resource_group):
            return False
        if not where:
            raise DeployError(f"resource group {target.resource_group} does not exist and no location was given "
                              f"to create it: pass --location")
        resources.resource_groups.create_or_update(target.resource_group, {"location": where})
    except AzureError as exc:
        raise _explain(exc, f"creating resource group {target.resource_group}", target, conn) from None
    return True


Progress = Callable[[str, str, str], None]  # (resource type, resource name, provisioning state)


class _PollingStopped(Exception):
    """Raised in the SDK's polling thread once we stop waiting, so that it ends instead of polling on."""


def _stoppable_polling(interval: float, stop: threading.Event, endpoint: str) -> Any:
    """The SDK's ARMPolling, except that its sleep between polls ends (and polling stops) when `stop` is set."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    class _StoppablePolling(ARMPolling):
        def _sleep(self, delay: float) -> None:  # the one place LROBasePolling waits between polls
            if stop.wait(delay):
                raise _PollingStopped

    return _StoppablePolling(interval, path_format_arguments={"endpoint": endpoint})


def deploy(target: DeployTarget, conn: ArmConnection, *, mode: str = "Incremental",
           create_resource_group: bool = False, location: str | None = None, preflight: bool = True,
           wait: bool = True, progress: Progress | None = None, polling_interval: float = 10.0,
           progress_interval: float | None = None, _stop: threading.Event | None = None) -> DeployResult:
    """Deploy `target` under its stable name and return the outputs.

    Incremental unless mode="Complete" is asked for explicitly (the caller shows the what-if and confirms
    first). With `progress`, each resource's provisioning state is reported as it changes, from the
    deployment operations. A failed deployment raises DeployError naming each failed resource with its error
    code, message and nested details. Ctrl-C while waiting raises DeployInterrupted: the deployment goes on.
    """
    _check_mode(mode)
    from azure.core.exceptions import AzureError, HttpResponseError

    started = time.monotonic()
    stop = _stop or threading.Event()
    resources, deployments = conn.clients(stop)
    rg, name = target.resource_group, target.deployment_name
    body = target.body(mode)
    if create_resource_group:
        if ensure_resource_group(target, conn, location, resources) and progress:
            progress("Microsoft.Resources/resourceGroups", rg, "Created")
    if preflight:
        _validate(deployments, target, body, conn, polling_interval=min(polling_interval, 2.0))

    polling = _stoppable_polling(polling_interval, stop, conn.cloud.arm_endpoint) if wait else False
    try:
        poller = deployments.deployments.begin_create_or_update(rg, name, body, polling=polling)
    except KeyboardInterrupt:
        raise DeployInterrupted([target]) from None
    except AzureError as exc:
        raise _explain(exc, f"deployment {name} of {target.label} was refused", target, conn) from None
    if not wait:
        return DeployResult(target.label, name, rg, "Accepted", {}, time.monotonic() - started)

    seen: dict[str, str] = {}

    def report() -> list[dict] | None:
        """List the deployment operations; tell `progress` about every state that changed."""
        try:
            operations = [op.as_dict() for op in deployments.deployment_operations.list(rg, name)]
        except (HttpResponseError, AzureError):
            return None  # progress is best effort; the poller decides success or failure
        for op in operations:
            props = op.get("properties") or {}
            resource = props.get("targetResource") or {}
            key = resource.get("id") or op.get("operationId")
            state = props.get("provisioningState") or ""
            if resource and key and seen.get(key) != state:
                seen[key] = state
                if progress:
                    progress(resource.get("resourceType") or "", resource.get("resourceName") or "", state)
        return operations

    interval = progress_interval if progress_interval is not None else max(polling_interval, 0.05)
    try:
        try:
            while not poller.done():
                if progress:
                    report()
                if stop.is_set():
                    raise KeyboardInterrupt
                poller.wait(timeout=interval)
            result = poller.result()
        except _PollingStopped:
            raise KeyboardInterrupt from None  # deploy_many stopped us: same as Ctrl-C
        except HttpResponseError as exc:
            operations = report()
            raise _deployment_failed(exc, target, deployments, operations, conn) from None
        except AzureError as exc:
            raise _explain(exc, f"waiting for deployment {name}", target, conn) from None
        if progress:
            report()
    except KeyboardInterrupt:
        stop.set()  # end the SDK's polling thread: the deployment goes on in Azure, we stop asking
        raise DeployInterrupted([target]) from None

    data = result.as_dict()
    props = data.get("properties") or {}
    outputs = {key: (out or {}).get("value") for key, out in (props.get("outputs") or {}).items()}
    return DeployResult(target.label, name, rg, str(props.get("provisioningState") or "Succeeded"), outputs,
                        time.monotonic() - started, props.get("correlationId"))


def _deployment_failed(exc: Any, target: DeployTarget, deployments: Any, operations: list[dict] | None,
                       conn: ArmConnection) -> DeployError:
    """Each failed resource with code, message and nested details; else the deployment's own error tree."""
    rg, name = target.resource_group, target.deployment_name
    if exc.status_code and exc.status_code >= 400 and exc.status_code != 409:
        return _explain(exc, f"deployment {name} of {target.label}", target, conn)
    error = _odata(exc.error)
    if not error:
        try:
            error = _odata((deployments.deployments.get(rg, name).as_dict().get("properties") or {}).get("error"))
        except Exception:  # noqa: BLE001 - we are already reporting a failure
            error = None
    error = error or {"code": "DeploymentFailed", "message": _first_line(str(exc)), "details": []}
    failed = _failed_operations(operations or [])
    if failed:
        lines = [f"deployment {name} of {target.label} failed in resource group {rg} "
                 f"({error.get('code') or 'DeploymentFailed'}); failed resources:"] + failed
    else:
        lines = [f"deployment {name} of {target.label} failed in resource group {rg}: {_code_message(error)}"]
        lines += _error_lines(error)
    from generator import soft_delete

    fix = soft_delete.fix_for("\n".join(lines), soft_delete.planned_workspaces(target.template, target.parameters),
                              [v.name for v in soft_delete.planned_vaults(target.template, target.parameters)])
    if fix:
        lines.append(f"  {fix}")
    lines.append(f"  details: az deployment operation group list -g {rg} -n {name}")
    return DeployError("\n".join(lines))


def deploy_many(targets: Sequence[DeployTarget], conn: ArmConnection, *, parallel: int = 4,
                progress: Callable[[str, str, str, str], None] | None = None,
                **deploy_options: Any) -> list[TargetResult]:
    """Deploy each target in its own thread, `parallel` at a time; one failure does not stop the others.

    Results come back in the order of `targets`. `progress` gets (label, resource type, name, state). Ctrl-C
    raises DeployInterrupted naming the deployments still running in Azure.
    """
    import queue

    if parallel < 1:
        raise DeployError("--parallel must be at least 1")
    names: dict[tuple[str, str], str] = {}
    for t in targets:
        key = (t.resource_group.lower(), t.deployment_name.lower())
        if key in names:
            raise DeployError(f"{t.label} and {names[key]} would both deploy as {t.deployment_name} in resource "
                              f"group {t.resource_group}: give the workspaces different names")
        names[key] = t.label

    results: list[TargetResult | None] = [None] * len(targets)
    running: dict[int, DeployTarget] = {}
    pending: queue.Queue[int] = queue.Queue()
    for index in range(len(targets)):
        pending.put(index)
    stop = threading.Event()
    lock = threading.Lock()

    def row(t: DeployTarget, ok: bool, state: str, began: float, error: str | None = None,
            outputs: dict | None = None) -> TargetResult:
        return TargetResult(t.label, t.deployment_name, t.resource_group, ok, state,
                            time.monotonic() - began, error, outputs or {})

    def worker() -> None:
        while True:
            try:
                index = pending.get_nowait()
            except queue.Empty:
                return
            target, began = targets[index], time.monotonic()
            if stop.is_set():
                results[index] = row(target, False, "NotStarted", began, "not started: interrupted")
                continue
            with lock:
                running[index] = target
            report = (lambda rtype, rname, state, _label=target.label: progress(_label, rtype, rname, state)) \
                if progress else None
            try:
                result = deploy(target, conn, progress=report, _stop=stop, **deploy_options)
                results[index] = row(target, True, result.state, began, outputs=result.outputs)
            except DeployInterrupted as exc:
                results[index] = row(target, False, "Detached", began, str(exc))
            except DeployError as exc:
                results[index] = row(target, False, "Failed", began, str(exc))
            except Exception as exc:  # noqa: BLE001 - one target's bug must not stop the others
                results[index] = row(target, False, "Failed", began, f"{type(exc).__name__}: {exc}")
            finally:
                with lock:
                    running.pop(index, None)

    # daemon threads: after Ctrl-C the process may exit while deployments go on in Azure
    threads = [threading.Thread(target=worker, name=f"amlgen-deploy-{i}", daemon=True)
               for i in range(min(parallel, len(targets)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        with lock:
            detached = list(running.values())
        raise DeployInterrupted(detached) from None
    return [r for r in results if r is not None]


def format_results(results: Sequence[TargetResult]) -> str:
    """The deploy_many summary table (plain text), then each failure's full error."""
    headers = ("spec", "resource group", "deployment", "result", "time")
    rows = [(r.label, r.resource_group, r.deployment_name, r.state, f"{r.duration:.1f} s") for r in results]
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in [headers, *rows]]
    for r in results:
        if not r.ok and r.error:
            lines.append("")
            lines.append(f"{r.label}: {r.error}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# config.json

def write_config(path: str | os.PathLike, subscription: str, resource_group: str, workspace_name: str) -> Path:
    """Write the config.json that MLClient.from_config() and `az ml` read to find a workspace."""
    from generator.output import write_atomic

    target = Path(path)
    if target.is_dir():
        target = target / "config.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"subscription_id": subscription, "resource_group": resource_group,
                       "workspace_name": workspace_name}, indent=2) + "\n"
    write_atomic(target, text)
    return target
