"""Which cloud to talk to and how to sign in there: the cloud table, custom ARM endpoints (their
`/metadata/endpoints`), TLS verification, azure-identity credentials and the one-line sign-in errors."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from generator import clouds
from generator.deploy.sdk_logging import route_sdk_logging
from generator.errors import DeployError, first_line


ARM_ENDPOINT_ENV = "AMLGEN_ARM_ENDPOINT"
AUTH_MODES = ("default", "cli", "env", "managed-identity", "workload-identity")


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
    found = _discover_endpoints(endpoint, tls_verify(connection_verify), timeout) if discover else None
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


def tls_verify(connection_verify: bool | str | None) -> bool | str:
    """TLS verification for ARM calls: an explicit value, else the usual REQUESTS_CA_BUNDLE, else the system CAs."""
    if connection_verify is not None:
        return connection_verify
    return os.environ.get("REQUESTS_CA_BUNDLE") or True


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

def _login_error(auth: str, cloud: Cloud | None, reason: Any) -> DeployError:
    # the SDK's first sentence says what failed (an AADSTS code, "Azure CLI not found on path"); the rest is
    # a troubleshooting link our fix replaces
    said = first_line(str(reason), 300).split(". ", 1)[0].rstrip(".")
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


def make_credential(auth: str = "default", *, cloud: Cloud | None = None, verbose: bool = False) -> Any:
    """A token credential for `auth` (one of AUTH_MODES), signing in at `cloud`'s authority.

    Nothing is requested here; a missing login surfaces as a one-line DeployError on the first ARM call
    (or at once, for a workload identity whose variables are missing). `default` and `managed-identity` may
    probe the instance metadata address: never use them in tests.
    """
    if auth not in AUTH_MODES:
        raise DeployError(f"unknown --auth {auth!r}: use one of {', '.join(AUTH_MODES)}")
    route_sdk_logging(verbose)
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
