"""The ARM connection: a subscription, cloud and credential that hands out SDK clients with amlgen's retry policy,
timeouts and "still waiting" notices. The live importer and the deploy runs use the same one."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from generator import __version__
from generator.deploy import signin
from generator.deploy.sdk_logging import route_sdk_logging
from generator.deploy.signin import CLOUDS, Cloud, resolve_cloud, tls_verify
from generator.errors import DeployError, first_line


# How long one ARM request may take. ARM answers a long-running call at once (201/202 and a status URL to poll),
# so a request without an answer for minutes means the endpoint or a proxy hangs, not that Azure is busy.
REQUEST_TIMEOUT = 120.0  # seconds to wait for an answer (--request-timeout); azure-core's default is 300 per try
CONNECT_TIMEOUT = 30.0  # seconds to connect, TLS handshake included (at most REQUEST_TIMEOUT)
DISCOVERY_TIMEOUT = 10.0  # seconds for a custom endpoint's /metadata/endpoints (at most REQUEST_TIMEOUT)
WAIT_NOTICE = 15.0  # seconds between "still waiting" lines while a request gets no answer

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
    route_sdk_logging(verbose)  # also with a credential given: the clients log too
    verify = tls_verify(connection_verify)
    resolved = resolve_cloud(cloud, arm_endpoint, connection_verify=verify,
                             timeout=min(request_timeout, DISCOVERY_TIMEOUT))
    if credential is None:
        credential = signin.make_credential(auth, cloud=resolved, verbose=verbose)  # via the module: tests replace it
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
                raise PollingStopped  # we stopped waiting: no retry, and nothing more to say
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
        cause = f"connection problem{where}: {first_line(str(error), 120)}" if error else f"transient error{where}"
    if wait is None:
        wait = policy.get_backoff_time(settings)
    return f"{cause}; retrying in {wait:g} s (retry {len(history)}, the SDK's retry policy)"


class PollingStopped(Exception):
    """Raised in the SDK's polling thread or retry policy once we stop waiting, so that it ends instead of going on."""
