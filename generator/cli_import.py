"""The `import` commands: write a spec for a workspace that already runs (cli.py adds them with `register`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from generator import config, pipeline
from generator.errors import AmlgenError, UsageError
from generator.findings import format_text


class ImportFailed(AmlgenError):
    exit_code = 1


def _finish(imported, command: str, out: str | None, force: bool) -> None:
    from generator.importers import render_yaml, write_spec

    path = Path(out) if out else Path(f"{imported.spec['name']}.yaml")
    text = render_yaml(imported, command)
    write_spec(text, path, force)
    click.echo(f"wrote {path}", err=True)
    from generator.findings import printable

    for label, lines in (("warning", imported.changes), ("not carried over", imported.notes),
                         ("secure parameter", imported.secrets)):
        for line in lines:
            click.echo(f"{label}: {printable(str(line))}", err=True)
    cfg, targets = config.resolve((str(path),), None)
    spec_files, empty = config.discover(targets, cfg)
    result = pipeline.validate(spec_files, empty)
    if result.findings:
        sys.stderr.write(format_text(result.findings))
    if not result.ok:
        click.echo(f"{path} was written, but it does not pass validation: fix the findings above (the workspace "
                   "breaks a rule amlgen enforces), or keep it as it is and decide", err=True)
        sys.exit(1)
    click.echo(f"{path} is valid: run `amlgen generate {shlex.quote(str(path))}` next", err=True)


def _run(make, command: str, out: str | None, force: bool) -> None:
    from generator.importers import ImportProblem

    if out is not None and not out.strip():
        raise UsageError("-o/--output is empty: give the spec file to write")
    try:
        imported = make()
    except ImportProblem as exc:
        raise ImportFailed(str(exc)) from None
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # a source whose values have another shape than its format has (a string where a mapping belongs, ...):
        # one line, not a traceback
        raise ImportFailed(f"the source does not have the shape its format has ({type(exc).__name__}: {exc}); "
                           "check it against the az ml / ARM template schema") from None
    try:
        _finish(imported, command, out, force)
    except ImportProblem as exc:
        raise ImportFailed(str(exc)) from None


def _options(command):
    command = click.option("--force", is_flag=True, help="Replace the output file when it exists.")(command)
    command = click.option("--existing-dependents", is_flag=True,
                           help="Refer to every dependent (storage, key vault, ...) as existing, even those "
                                "in the workspace's resource group.")(command)
    return click.option("-o", "--output", "out", type=click.Path(dir_okay=False),
                        help="The spec file to write (default: ./<workspace name>.yaml).")(command)


@click.group("import")
def import_group():
    """Write a spec for a workspace that already runs: from Azure, an ARM export, or az ml YAML.

    Prints what it could not carry over and what a deployment of the spec would change; never writes over a
    file without --force. Exit 1 when the imported spec does not pass validation (it is written anyway).
    """


@import_group.command("workspace")
@click.option("--subscription", "-s", envvar="AZURE_SUBSCRIPTION_ID", required=True,
              help="Subscription ID (default: $AZURE_SUBSCRIPTION_ID).")
@click.option("--resource-group", "-g", required=True, help="The workspace's resource group.")
@click.option("--name", "-n", required=True, help="The workspace's name.")
@click.option("--auth", type=click.Choice(("default", "cli", "env", "managed-identity", "workload-identity")),
              default="default", show_default=True, help="How to sign in (as for amlgen deploy).")
@click.option("--cloud", type=click.Choice(["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"]), default=None,
              help="Azure cloud (default: AzureCloud).")
@click.option("--arm-endpoint", envvar="AMLGEN_ARM_ENDPOINT", default=None,
              help="ARM endpoint URL for a custom cloud (or $AMLGEN_ARM_ENDPOINT).")
@click.option("--verbose", is_flag=True, help="Let the Azure SDK's own logging through.")
@_options
def import_workspace(subscription, resource_group, name, auth, cloud, arm_endpoint, verbose, out,
                     existing_dependents, force):
    """Read a workspace from Azure (GET only) and write its spec."""
    from generator.importers import live, to_spec

    if not subscription.strip():
        raise UsageError("-s/--subscription is empty")
    command = f"amlgen import workspace -s {subscription} -g {resource_group} -n {name}"

    def make():
        resources = live.fetch(subscription, resource_group, name,
                               warn=lambda line: click.echo(f"warning: {line}", err=True),
                               auth=auth, cloud=cloud, arm_endpoint=arm_endpoint, verbose=verbose)
        return to_spec(resources, existing_dependents=existing_dependents, source="Azure")

    _run(make, command, out, force)


@import_group.command("arm")
@click.argument("template", type=click.Path(dir_okay=False))
@_options
def import_arm(template, out, existing_dependents, force):
    """Read an exported ARM template (az group export, the portal's Export template) and write its spec."""
    from generator.importers import arm_export, to_spec
    from generator.importers.mapping import Note

    def make():
        resources, problems = arm_export.read(Path(template))
        imported = to_spec(resources, existing_dependents=existing_dependents, source=template)
        imported.notes[:0] = [Note("template", p) for p in problems]
        return imported

    _run(make, f"amlgen import arm {Path(template).name}", out, force)


@import_group.command("azml")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_options
def import_azml(files, out, existing_dependents, force):
    """Read az ml (CLI v2) YAML: one workspace file, and any compute, datastore and connection files."""
    from generator.importers import azml, to_spec
    from generator.importers.mapping import Note

    def make():
        resources, notes = azml.read([Path(f) for f in files])
        imported = to_spec(resources, existing_dependents=existing_dependents, source="az ml YAML")
        imported.notes[:0] = [Note("az ml YAML", n) for n in notes]
        return imported

    _run(make, "amlgen import azml " + " ".join(Path(f).name for f in files), out, force)


def register(group: click.Group) -> None:
    group.add_command(import_group)
