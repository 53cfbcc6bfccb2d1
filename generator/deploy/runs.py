"""The calls that change or check a resource group: preflight validation, what-if, creating the resource group,
deploying one template (with progress, and Ctrl-C that stops waiting, not the deployment) and many in parallel."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Sequence

from generator.deploy.connection import ArmConnection, PollingStopped
from generator.deploy.explain import code_message, error_lines, explain, failed_operations, odata
from generator.deploy.targets import MODES, DeployInterrupted, DeployResult, DeployTarget, TargetResult
from generator.deploy.whatif import WhatIfSummary, summarise_what_if
from generator.errors import DeployError, first_line


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
        raise explain(exc, f"preflight validation of {target.label} failed", target, conn) from None
    error = odata((result.as_dict() if hasattr(result, "as_dict") else result or {}).get("error"))
    if error:
        raise DeployError("\n".join([f"preflight validation of {target.label} failed: {code_message(error)}"]
                                    + error_lines(error)))


def validate(target: DeployTarget, conn: ArmConnection, *, mode: str = "Incremental",
             polling_interval: float = 2.0) -> None:
    """ARM preflight validation; a rejected template raises DeployError with code, message and nested details."""
    _check_mode(mode)
    _, deployments = conn.clients()
    _validate(deployments, target, target.body(mode), conn, polling_interval)


def what_if(target: DeployTarget, conn: ArmConnection, *, mode: str = "Incremental",
            polling_interval: float = 2.0, check_names: bool = True) -> WhatIfSummary:
    """Ask ARM what deploying `target` would change (full resource payloads), and summarise it.

    With `check_names`, the summary's notes also say which of the names it creates a soft-deleted key vault or
    workspace holds, and what to do (generator.deploy.soft_delete); a lookup that fails is a note as well.
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
        raise explain(exc, f"what-if of {target.label}", target, conn) from None
    summary = summarise_what_if(result.as_dict())
    if not check_names:
        return summary
    from dataclasses import replace

    from generator.deploy import soft_delete

    notes = soft_delete.notes(target.template, target.parameters, target.resource_group, conn.subscription_id,
                              conn.clients()[0], summary.created)
    return replace(summary, notes=tuple(notes))


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
        raise explain(exc, f"creating resource group {target.resource_group}", target, conn) from None
    return True


Progress = Callable[[str, str, str], None]  # (resource type, resource name, provisioning state)


def _stoppable_polling(interval: float, stop: threading.Event, endpoint: str) -> Any:
    """The SDK's ARMPolling, except that its sleep between polls ends (and polling stops) when `stop` is set."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    class _StoppablePolling(ARMPolling):
        def _sleep(self, delay: float) -> None:  # the one place LROBasePolling waits between polls
            if stop.wait(delay):
                raise PollingStopped

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
        raise explain(exc, f"deployment {name} of {target.label} was refused", target, conn) from None
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
        except PollingStopped:
            raise KeyboardInterrupt from None  # deploy_many stopped us: same as Ctrl-C
        except HttpResponseError as exc:
            operations = report()
            raise _deployment_failed(exc, target, deployments, operations, conn) from None
        except AzureError as exc:
            raise explain(exc, f"waiting for deployment {name}", target, conn) from None
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
        return explain(exc, f"deployment {name} of {target.label}", target, conn)
    error = odata(exc.error)
    if not error:
        try:
            error = odata((deployments.deployments.get(rg, name).as_dict().get("properties") or {}).get("error"))
        except Exception:  # noqa: BLE001 - we are already reporting a failure
            error = None
    error = error or {"code": "DeploymentFailed", "message": first_line(str(exc)), "details": []}
    failed = failed_operations(operations or [])
    if failed:
        lines = [f"deployment {name} of {target.label} failed in resource group {rg} "
                 f"({error.get('code') or 'DeploymentFailed'}); failed resources:"] + failed
    else:
        lines = [f"deployment {name} of {target.label} failed in resource group {rg}: {code_message(error)}"]
        lines += error_lines(error)
    from generator.deploy import soft_delete

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
