"""The `what-if` and `deploy` commands: regenerate in memory, refuse a stale out/, preflight, what-if, confirm, deploy.

cli.py adds them with `register(cli)`. The Azure SDK is imported only when one of these commands runs (through
generator.deploy), so `validate` and `generate` stay fast.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import threading
from pathlib import Path

import click

from generator import config, deploy, output, pipeline, plan, redact
from generator.cli_options import allow_outside, allowed_outside
from generator.errors import DeployError, SpecError, UsageError
from generator.findings import format_text


def _azure_options(command):
    """The options what-if and deploy share: which specs, where they go, and how to reach Azure."""
    options = [
        click.argument("paths", nargs=-1, required=True, type=click.Path()),
        click.option("--subscription", "-s", envvar="AZURE_SUBSCRIPTION_ID", default=None, callback=_check_subscription,
                     help="Subscription ID (default: $AZURE_SUBSCRIPTION_ID; for a spec that adds to an existing "
                          "workspace, the workspace's)."),
        click.option("--resource-group", "-g", default=None, callback=_check_resource_group,
                     help="Resource group to deploy into (default: the spec's resourceGroup)."),
        click.option("--attach-computes", is_flag=True,
                     help="Attach the spec's existing computes (Kubernetes, Databricks, Synapse): once, on the "
                          "deployment that first attaches them (sets the attachComputes parameter)."),
        click.option("-o", "--output", "out", type=click.Path(file_okay=False),
                     help="Output folder the specs were generated into (default: [tool.amlgen] output, else ./out)."),
        click.option("--from-output", is_flag=True,
                     help="Deploy out/<spec>/main.json as it is on disk, without checking that it is up to date."),
        click.option("--auth", type=click.Choice(deploy.AUTH_MODES), default="default", show_default=True,
                     help="How to sign in: DefaultAzureCredential, the Azure CLI's login, AZURE_* service "
                          "principal variables, a managed identity, or a workload identity (federated token)."),
        click.option("--cloud", type=click.Choice(list(deploy.CLOUDS)), default=None,
                     help="Azure cloud (default: the spec's cloud, else AzureCloud)."),
        click.option("--arm-endpoint", envvar=deploy.ARM_ENDPOINT_ENV, default=None, callback=_check_endpoint,
                     help=f"ARM endpoint URL for Azure Stack Hub or a custom cloud (or ${deploy.ARM_ENDPOINT_ENV}). "
                          "A private CA comes from $REQUESTS_CA_BUNDLE."),
        click.option("--complete", is_flag=True,
                     help="Complete mode: delete what the template does not name. Shown in the what-if first."),
        click.option("--parallel", type=click.IntRange(1, 32), default=1, show_default=True,
                     help="How many specs to work on at once."),
        click.option("--polling-interval", type=click.FloatRange(0.0), default=10.0, hidden=True),
        click.option("--request-timeout", type=click.FloatRange(0.0, min_open=True), default=deploy.REQUEST_TIMEOUT,
                     show_default=True, metavar="SECONDS",
                     help="Give up on an ARM request that gets no answer (or no connection) in this time; while "
                          "one waits, a line on stderr says so every 15 s."),
        click.option("--verbose", is_flag=True, help="Let the Azure SDK's own logging through."),
        allow_outside,
    ]
    for option in reversed(options):
        command = option(command)
    return command


# What ARM accepts (azure-rest-api-specs, specification/common-types/resource-management/v5/types.json:
# SubscriptionIdParameter "The ID of the target subscription. The value must be an UUID.", and
# ResourceGroupNameParameter, 1-90 characters of ^[-\w\._\(\)]+$); the spec schema holds the same two facts.
def _schema_rule(*path: str) -> dict:
    from generator.resources import spec_schema

    node = spec_schema()
    for key in path:
        node = node[key]
    return node


def _check_subscription(ctx, param, value):
    if value is None:
        return value
    if not re.fullmatch(_schema_rule("$defs", "guid")["pattern"], value):
        shown = repr(value) if value.strip() else "empty"
        raise UsageError(f"--subscription {shown}: a subscription ID is a GUID, e.g. "
                         "00000000-0000-0000-0000-000000000000 (`az account show --query id -o tsv`)")
    return value


def _check_resource_group(ctx, param, value):
    if value is None:
        return value
    rule = _schema_rule("properties", "resourceGroup")
    if not (0 < len(value) <= rule["maxLength"] and re.fullmatch(rule["pattern"], value)):
        raise UsageError(f"--resource-group {value!r}: a resource group name has 1-{rule['maxLength']} letters, "
                         "digits, '-', '_', '.', '(' and ')', and does not end with '.'")
    return value


def _check_endpoint(ctx, param, value):
    """--arm-endpoint (or $AMLGEN_ARM_ENDPOINT): an https:// URL with a host, and a port if any, nothing else."""
    if value is None or value == "":
        return None if value is None else _endpoint_error(value, "empty")
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port that is not a number in 0-65535
    except ValueError as exc:
        return _endpoint_error(value, str(exc))
    if parts.scheme.lower() != "https":
        return _endpoint_error(value, "not an https:// URL (ARM takes tokens over https only)")
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment or port == 0:
        return _endpoint_error(value, "give the scheme, host and optional port and path only, e.g. "
                                      "https://management.local.azurestack.external")
    return value


def _endpoint_error(value: str, why: str):
    raise UsageError(f"--arm-endpoint {value!r} (or ${deploy.ARM_ENDPOINT_ENV}): {why}")


def _check_location(ctx, param, value):
    if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ]*", value):
        raise UsageError(f"--location {value!r}: a region name, e.g. westeurope (`az account list-locations -o table`)")
    return value


def _check_write_config(ctx, param, value):
    if value is not None and not value.strip():
        raise UsageError("--write-config '': give the path of the config.json to write")
    return value


@dataclasses.dataclass
class _Job:
    target: deploy.DeployTarget
    out_folder: str
    adds_to: str | None = None  # workspace.existing: the ID of the workspace the spec adds to
    document: object = None  # the spec's merged document (generator.spec.load.Document), for the live checks


def _existing_placement(spec, resource_group: str | None, label: str) -> tuple[str, str]:
    """(subscription, resource group) of a spec that adds to an existing workspace: the workspace's, from its ID;
    -g may only repeat it."""
    ref = spec.existing_workspace.ref
    if resource_group and resource_group.lower() != ref.resource_group.lower():
        raise UsageError(f"{label} adds to the workspace {ref.name} in resource group {ref.resource_group}, but -g "
                         f"names {resource_group}: its template deploys into the workspace's group; drop -g")
    return ref.subscription, ref.resource_group


def _no_complete_mode_in_a_shared_group(jobs: list[_Job], complete: bool) -> None:
    """Complete mode deletes what the template does not name: in the resource group of a workspace the spec only
    adds to, that is the workspace itself and everything its owner deployed there."""
    for job in jobs:
        if complete and job.adds_to is not None:
            raise UsageError(f"--complete with {job.target.label}: it adds to an existing workspace, and complete "
                             f"mode would delete everything else in {job.target.resource_group}, the workspace "
                             "among them; deploy it without --complete")


def _subscription_for(jobs: list[_Job], subscription: str | None) -> str:
    """-s, or the subscription of the existing workspace the specs add to; a different -s is a usage error."""
    for job in jobs:
        if job.adds_to is None:
            continue
        wanted = job.adds_to.split("/")[2]
        if subscription and subscription.lower() != wanted.lower():
            raise UsageError(f"{job.target.label} adds to a workspace in subscription {wanted}, but -s (or "
                             f"AZURE_SUBSCRIPTION_ID) names {subscription}: drop -s, or deploy it separately")
        subscription = subscription or wanted
    if not subscription:
        raise UsageError("Missing option '--subscription' / '-s' (or set AZURE_SUBSCRIPTION_ID)")
    return subscription


def _check_existing_workspaces(jobs: list[_Job], conn) -> None:
    """Read each workspace a spec adds to (a 404 or 403 is one clear line) and run the rules that need it
    (rules.check_live, R271): errors stop before anything is previewed or deployed. The template's `location` and
    `nodePublicIp` parameters are set from the workspace, unless the spec or the command gave them."""
    from generator.spec import rules

    findings = []
    for job in jobs:
        if job.adds_to is None:
            continue
        workspace = deploy.read_workspace(job.adds_to, conn, job.target.label)
        findings += rules.check_live(job.document, workspace)
        values = job.target.parameters
        declared = job.target.template.get("parameters", {})
        if "location" in declared and "location" not in values and workspace.get("location"):
            values["location"] = {"value": workspace["location"]}
        if plan.NODE_PUBLIC_IP_PARAMETER in declared:
            values[plan.NODE_PUBLIC_IP_PARAMETER] = {"value": rules.node_public_ip(workspace)}
    if findings:
        _echo(format_text(findings), err=True, nl=False)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise SpecError(errors)


def _group_for(spec, resource_group: str | None, label: str) -> str:
    """-g, or the spec's resourceGroup; the two must agree (subscription.json creates the spec's group)."""
    wanted = getattr(spec, "resource_group", None)
    if resource_group and wanted and resource_group.lower() != wanted.lower():
        raise UsageError(f"{label} says resourceGroup: {wanted}, but -g names {resource_group}: deploy it where the "
                         "spec says, or change the spec")
    group = resource_group or wanted
    if not group:
        raise UsageError(f"{label} names no resourceGroup: pass -g/--resource-group")
    return group


def _targets(paths, out, resource_group, from_output, location=None,
             attach: bool = False) -> tuple[list[_Job], str | None]:
    """One DeployTarget per spec: the template generated in memory, after checking out/ holds the same bytes."""
    cfg, wanted = config.resolve(tuple(paths), out, allow_outside=allowed_outside())
    spec_files, empty = config.discover(wanted, cfg)
    if empty:
        raise UsageError(f"{config.display(empty[0])}: this folder holds no spec files (*.yaml, *.yml)")
    result = (pipeline.validate(spec_files) if from_output
              else pipeline.generate(spec_files, empty, pipeline.ReadmeOptions.of(cfg)))
    if not result.ok:
        _echo(format_text(result.findings), err=True, nl=False)
        raise SpecError([f for f in result.findings if f.severity == "error"])
    shown = config.display(cfg.output)
    jobs, clouds = [], set()
    for item in result.checked:
        folder = item.spec_file.out_folder.as_posix()
        if from_output:
            files = {}
            for name in ("main.json", "main.parameters.json"):
                path = cfg.output / folder / name
                if path.exists():
                    files[name] = path.read_text(encoding="utf-8")
            if "main.json" not in files:
                raise UsageError(f"{shown}/{folder}/main.json does not exist: run `amlgen generate` first")
        else:
            mine = {rel: text for rel, text in result.files.items() if rel.startswith(folder + "/")}
            comparison = output.compare(mine, cfg.output, shown)
            if comparison.changed or comparison.missing:
                stale = ", ".join(f"{shown}/{rel}" for rel in comparison.changed + comparison.missing)
                raise DeployError(f"{stale} is not what {config.display(item.spec_file.path)} generates: run "
                                  f"`amlgen generate` and review the diff (or pass --from-output to deploy the files "
                                  f"on disk as they are)")
            files = {rel.split("/")[-1]: text for rel, text in mine.items()}
        parameters = json.loads(files.get("main.parameters.json") or "{}")
        template = json.loads(files["main.json"])
        label = config.display(item.spec_file.path)
        _fill_secure_parameters(template, parameters, label)
        if attach:
            if "attachComputes" not in template.get("parameters", {}):
                raise UsageError(f"{label} attaches no computes: drop --attach-computes")
            parameters.setdefault("parameters", {})["attachComputes"] = {"value": True}
        spec = item.spec
        if getattr(spec, "existing_workspace", None) is not None:
            _, group = _existing_placement(spec, resource_group, label)
            jobs.append(_Job(deploy.DeployTarget(
                label=label, template=template, parameters=parameters, resource_group=group,
                workspace_name=spec.workspace_name, location=location or spec.location,
                deployment_name=deploy.deployment_name_for(spec.name)), folder, spec.existing_workspace.id,
                item.document))
            clouds.add(getattr(spec, "cloud", None))
            continue
        jobs.append(_Job(deploy.DeployTarget(
            label=config.display(item.spec_file.path), template=template,
            parameters=parameters, resource_group=_group_for(spec, resource_group, label), workspace_name=spec.name,
            location=location or spec.location), folder))
        clouds.add(getattr(spec, "cloud", None))
    clouds.discard(None)
    if len(clouds) > 1:
        raise UsageError(f"the specs name different clouds ({', '.join(sorted(clouds))}): deploy them separately")
    return jobs, (clouds.pop() if clouds else None)


SECRET_ENV_PREFIX = "AMLGEN_SECRET_"
# the secure values of this run: never printed, in any spelling (Azure's what-if can echo them back JSON-escaped)
_SECRETS = redact.Secrets()


def _redact(text: str) -> str:
    return _SECRETS.mask(text)


def _echo(message="", **kwargs) -> None:
    """click.echo for everything these commands print: secure values replaced by ***."""
    click.echo(_redact(str(message)), **kwargs)


def _fill_secure_parameters(template: dict, parameters: dict, label: str) -> None:
    """Secure parameters (datastore keys, tokens) are never in a file: each comes from the environment
    variable AMLGEN_SECRET_<PARAMETER NAME>, is sent to Azure only in the request body, and is never printed."""
    values = parameters.setdefault("parameters", {})
    missing = []
    for name, spec in template.get("parameters", {}).items():
        if spec.get("type", "").lower() in ("securestring", "secureobject") and name not in values:
            env = SECRET_ENV_PREFIX + name.upper()
            if env in os.environ:
                values[name] = {"value": _secret_value(env, os.environ[env], spec["type"].lower() == "secureobject")}
            elif "defaultValue" not in spec:
                missing.append(env)
    if missing:
        raise UsageError(f"{label} needs secure parameter values: set {', '.join(missing)} in the environment "
                         "(they are never written to a file or printed)")


def _secret_value(env: str, value: str, is_object: bool):
    """The value of one AMLGEN_SECRET_* variable, remembered for masking. A secureObject's value is JSON: the text
    and each string in it of at least redact.MIN_LENGTH characters are masked (shorter ones, a user name or a
    region, are not secret on their own)."""
    if not is_object:
        try:
            _SECRETS.add(value)
        except ValueError:
            raise UsageError(f"{env} holds {len(value)} character(s): amlgen refuses secure values shorter than "
                             f"{redact.MIN_LENGTH} characters, because hiding them in what it prints would also hide "
                             "ordinary words, and what stayed visible would give them away; set the real key or "
                             "token") from None
        return value
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise UsageError(f"{env} is not JSON (its parameter is a secureObject): {exc}") from None
    from generator.diff import texts

    for text in [value, *texts(data)]:
        if len(text) >= redact.MIN_LENGTH:
            _SECRETS.add(text)
    return data


def _one_spec_per_group_in_complete_mode(jobs: list[_Job], complete: bool) -> None:
    """Complete mode deletes what a template does not name: two specs in one group would delete each other."""
    if not complete:
        return
    seen: dict[str, str] = {}
    for job in jobs:
        other = seen.setdefault(job.target.resource_group.lower(), job.target.label)
        if other != job.target.label:
            raise UsageError(f"--complete with {other} and {job.target.label} in the same resource group "
                             f"{job.target.resource_group}: each would delete the other's resources; deploy them "
                             "without --complete, or into separate groups")


class _Printer:
    """Progress and retry lines on stderr: a coloured display on a terminal, plain lines in CI logs."""

    SYMBOLS = {"Succeeded": ("✓", "green"), "Created": ("✓", "green"), "Failed": ("✗", "red"),
               "Running": ("…", "yellow"), "Accepted": ("…", "yellow"), "Canceled": ("✗", "red")}

    def __init__(self, many: bool) -> None:
        self.many = many
        self.tty = sys.stderr.isatty()
        self._lock = threading.Lock()

    def progress(self, label: str, rtype: str, name: str, state: str) -> None:
        prefix = f"[{label}] " if self.many else ""
        if self.tty:
            symbol, colour = self.SYMBOLS.get(state, ("·", None))
            line = f"  {click.style(symbol, fg=colour)} {prefix}{rtype} {click.style(name, bold=True)}: {state}"
        else:
            line = f"  {prefix}{rtype} {name}: {state}"
        with self._lock:
            _echo(line, err=True)

    def retry(self, message: str) -> None:
        with self._lock:
            _echo(f"  retry: {message}", err=True)

    def wait(self, message: str) -> None:
        with self._lock:
            _echo(f"  waiting: {message}", err=True)


def _connect(subscription, auth, cloud, spec_cloud, arm_endpoint, verbose, printer,
             request_timeout: float = deploy.REQUEST_TIMEOUT) -> deploy.ArmConnection:
    return deploy.connect(subscription, auth=auth, cloud=cloud or spec_cloud, arm_endpoint=arm_endpoint,
                          on_retry=printer.retry, verbose=verbose, request_timeout=request_timeout,
                          on_wait=printer.wait)


def _preview(jobs: list[_Job], conn, mode: str, parallel: int, polling: float, validate_first: bool):
    """Preflight (for deploy) and what-if of every job, `parallel` at a time: a summary or a DeployError each."""
    from concurrent.futures import ThreadPoolExecutor  # only these commands need it; validate stays lean


    def one(job: _Job):
        try:
            if validate_first:
                deploy.validate(job.target, conn, mode=mode, polling_interval=min(polling, 2.0))
            return deploy.what_if(job.target, conn, mode=mode, polling_interval=min(polling, 2.0))
        except DeployError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(parallel, len(jobs))) as pool:
        return list(pool.map(one, jobs))


def _summary_json(summary: deploy.WhatIfSummary) -> dict:
    return {"counts": summary.counts, "hidden": summary.hidden,
            "changes": [dataclasses.asdict(c) for c in summary.changes], "notes": list(summary.notes)}


@click.command("what-if")
@_azure_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--show-unchanged", is_flag=True, help="List resources without changes too.")
def what_if_command(paths, subscription, resource_group, attach_computes, out, from_output, auth, cloud,
                    arm_endpoint, complete, parallel, polling_interval, request_timeout, verbose, fmt, show_unchanged):
    """Show what deploying the specs would change in Azure, per resource; changes nothing, exits 0.

    Read-only properties the service echoes back (provisioningState, etag, principalId, ...) are left out.
    """
    jobs, spec_cloud = _targets(paths, out, resource_group, from_output, attach=attach_computes)
    subscription = _subscription_for(jobs, subscription)
    _no_complete_mode_in_a_shared_group(jobs, complete)
    _one_spec_per_group_in_complete_mode(jobs, complete)
    printer = _Printer(len(jobs) > 1)
    conn = _connect(subscription, auth, cloud, spec_cloud, arm_endpoint, verbose, printer, request_timeout)
    _check_existing_workspaces(jobs, conn)
    mode = "Complete" if complete else "Incremental"
    results = _preview(jobs, conn, mode, parallel, polling_interval, validate_first=False)
    results = [_SECRETS.mask_data(r) for r in results]  # before values are clipped for display
    failures = [r for r in results if isinstance(r, DeployError)]
    if len(jobs) == 1 and failures and fmt != "json":
        raise failures[0]
    if fmt == "json":  # a failed spec is an "error" entry: stdout always holds one JSON document
        doc = {job.target.label: ({"error": str(r)} if isinstance(r, DeployError) else _summary_json(r))
               for job, r in zip(jobs, results)}
        _echo(json.dumps(doc, indent=2, default=str))
    else:
        for job, result in zip(jobs, results):
            if len(jobs) > 1:
                _echo(f"== {job.target.label} -> {job.target.resource_group}/{job.target.deployment_name}")
            _echo(f"error: {result}" if isinstance(result, DeployError)
                       else deploy.format_what_if(result, show_unchanged=show_unchanged))
    sys.exit(1 if failures else 0)


@click.command("deploy")
@_azure_options
@click.option("--create-resource-group", is_flag=True, help="Create the resource group when it does not exist.")
@click.option("--location", "-l", callback=_check_location,
              help="Region for --create-resource-group (default: the spec's location).")
@click.option("--yes", "-y", is_flag=True, help="Deploy without asking (CI).")
@click.option("--no-wait", is_flag=True, help="Return once Azure has accepted the deployment.")
@click.option("--write-config", type=click.Path(), default=None, callback=_check_write_config,
              help="After success, write the workspace's config.json (for MLClient.from_config() and `az ml`) "
                   "here; with several specs, a folder that gets <spec>/config.json.")
def deploy_command(paths, subscription, resource_group, attach_computes, out, from_output, auth, cloud,
                   arm_endpoint, complete, parallel, polling_interval, request_timeout, verbose, create_resource_group,
                   location, yes, no_wait, write_config):
    """Deploy the generated templates: preflight, what-if, confirm, deploy, print outputs.

    Incremental mode: nothing the template does not name is touched. --complete deletes the rest, after a
    what-if that lists every deletion. Exit codes: 0 deployed, 1 a deployment or preflight failed (or
    specs have errors / out/ is stale), 2 usage, 130 stopped waiting (the deployment goes on in Azure).
    """
    config.require_path(write_config, "--write-config")
    if no_wait and write_config:
        raise UsageError("--write-config needs the deployment to finish: drop --no-wait")
    if not yes and not sys.stdin.isatty():  # before anything is created or asked of Azure
        raise UsageError("no terminal to confirm on: pass --yes to deploy without a prompt")
    jobs, spec_cloud = _targets(paths, out, resource_group, from_output, location, attach=attach_computes)
    subscription = _subscription_for(jobs, subscription)
    _no_complete_mode_in_a_shared_group(jobs, complete)
    _one_spec_per_group_in_complete_mode(jobs, complete)
    many = len(jobs) > 1
    printer = _Printer(many)
    conn = _connect(subscription, auth, cloud, spec_cloud, arm_endpoint, verbose, printer, request_timeout)
    _check_existing_workspaces(jobs, conn)
    mode = "Complete" if complete else "Incremental"

    if create_resource_group:
        for group, job in {j.target.resource_group.lower(): j for j in jobs}.items():
            target = job.target
            if deploy.ensure_resource_group(target, conn, location or target.location):
                printer.progress(target.label, "Microsoft.Resources/resourceGroups", target.resource_group, "Created")

    previews = _preview(jobs, conn, mode, parallel, polling_interval, validate_first=True)
    previews = [_SECRETS.mask_data(p) for p in previews]  # before values are clipped for display
    ready: list[_Job] = []
    early: dict[int, deploy.TargetResult] = {}
    for index, (job, preview) in enumerate(zip(jobs, previews)):
        if many:
            _echo(f"== {job.target.label} -> {job.target.resource_group}/{job.target.deployment_name}")
        if isinstance(preview, DeployError):
            if not many:
                raise preview
            _echo(f"error: {preview}")
            early[index] = deploy.TargetResult(job.target.label, job.target.deployment_name, job.target.resource_group,
                                               False, "Failed", 0.0, str(preview))
            continue
        _echo(deploy.format_what_if(preview))
        if preview.deletions:
            _echo(f"Complete mode DELETES {len(preview.deletions)} resource(s) the template does not name:")
            for change in preview.deletions:
                _echo(f"  - {change.resource_id}")
        ready.append(job)

    if ready and not yes:
        what = "DELETING the resources listed above" if any(
            isinstance(p, deploy.WhatIfSummary) and p.deletions for p in previews) else "the changes above"
        groups = ", ".join(sorted({job.target.resource_group for job in ready}))
        if not click.confirm(f"Deploy {len(ready)} spec(s) to {groups}, {what}?", err=True):
            raise DeployError("nothing deployed: the deployment was declined")

    options = dict(mode=mode, preflight=False, wait=not no_wait, polling_interval=polling_interval)
    results: dict[int, deploy.TargetResult] = dict(early)
    if len(jobs) == 1:
        target = jobs[0].target
        result = deploy.deploy(target, conn,
                               progress=lambda t, n, s: printer.progress(target.label, t, n, s), **options)
        results[0] = deploy.TargetResult(target.label, target.deployment_name, target.resource_group, True, result.state,
                                         result.duration, None, result.outputs)
    elif ready:
        indexes = [jobs.index(job) for job in ready]
        done = deploy.deploy_many([job.target for job in ready], conn, parallel=parallel,
                                  progress=printer.progress, **options)
        results.update(zip(indexes, done))
    ordered = [results[i] for i in sorted(results)]

    for job, result in zip(jobs, ordered):
        if result.state == "Accepted":
            _echo(f"{job.target.label}: accepted; follow it with: {job.target.follow_command()}", err=True)
        elif result.ok:
            if many:
                _echo(f"== outputs of {job.target.label}")
            for key, value in result.outputs.items():
                _echo(f"{key} = {value if isinstance(value, str) else json.dumps(value)}")
            if write_config:
                where = Path(write_config) / job.out_folder / "config.json" if many else Path(write_config)
                written = deploy.write_config(where, subscription, job.target.resource_group,
                                              job.target.workspace_name)
                _echo(f"wrote {config.display(written.resolve())}", err=True)
    if many:
        _echo(deploy.format_results(ordered), err=True)
    failed = [r for r in ordered if not r.ok]
    if failed:
        raise DeployError(f"{len(failed)} of {len(ordered)} deployment(s) failed") if many else DeployError(
            failed[0].error or "deployment failed")
    sys.exit(0)


def _redacting(command: click.Command) -> click.Command:
    """Errors leave these commands with secure values replaced too (Azure's messages can quote them)."""
    callback = command.callback

    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except click.ClickException as exc:  # a usage error can quote a value too
            exc.message = _redact(exc.message)
            raise
        except Exception as exc:  # noqa: BLE001 - any error, an internal one included, is printed: masked first
            exc.args = tuple(_redact(a) if isinstance(a, str) else a for a in exc.args)
            raise

    command.callback = run
    return command


_redacting(what_if_command)
_redacting(deploy_command)


def register(group: click.Group) -> None:
    """Add `what-if` and `deploy` to the amlgen command group."""
    group.add_command(what_if_command)
    group.add_command(deploy_command)
