"""The command line: thin click commands that parse options, call the pipeline, print, and set the exit code."""

from __future__ import annotations

import os
import sys

import click

from generator import __version__
from generator.cli_options import allow_outside, allowed_outside
from generator.errors import AmlgenError
from generator.findings import format_json, format_rules, format_sarif, format_text

FORMATS = click.Choice(["text", "json", "sarif"])


def _emit_findings(findings, fmt: str, stream) -> None:
    if fmt == "json":
        stream.write(format_json(findings))
    elif fmt == "sarif":
        stream.write(format_sarif(findings, __version__))
    else:
        stream.write(format_text(findings))
        errors = sum(f.severity == "error" for f in findings)
        warnings = len(findings) - errors
        if findings:
            click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)


def _collect(paths, out):
    from generator import config

    cfg, targets = config.resolve(paths, out, allow_outside=allowed_outside())
    spec_files, empty = config.discover(targets, cfg)
    return cfg, spec_files, empty


class _LazyGroup(click.Group):
    """Commands that need heavier modules (the deploy, diff and import commands, the Azure SDK behind deploy) are
    imported only when they run, so every command starts fast; `amlgen --help` lists them from this static table
    (tests/test_cli.py checks it against the commands' own help). Each such module adds its commands with its own
    `register(group)`."""

    LAZY = {  # name -> (module, the command's short help)
        "deploy": ("generator.cli_deploy",
                   "Deploy the generated templates: preflight, what-if, confirm, deploy, print outputs."),
        "diff": ("generator.cli_diff",
                 "What a change does to Azure: resources added, removed and changed, per workspace, with warnings."),
        "import": ("generator.cli_import",
                   "Write a spec for a workspace that already runs: from Azure, an ARM export, or az ml YAML."),
        "what-if": ("generator.cli_deploy",
                    "Show what deploying the specs would change in Azure, per resource; changes nothing, exits 0."),
    }

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY))

    def format_commands(self, ctx, formatter):
        """The command list of --help as click writes it, without importing the lazy commands' modules."""
        from click.utils import make_default_short_help

        names = [n for n in self.list_commands(ctx) if n not in self.commands or not self.commands[n].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, self.commands[n].get_short_help_str(limit) if n in self.commands
                 else make_default_short_help(self.LAZY[n][1], limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            import importlib
            importlib.import_module(self.LAZY[name][0]).register(self)
        command = super().get_command(ctx, name)
        if command is not None:
            refuse_empty_values(command)
        return command


def _no_empty(callback):
    def check(ctx, param, value):
        # an option's own check goes first: it says in one line what the value should be
        checked = callback(ctx, param, value) if callback else value
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, str) and not v.strip() for v in values):
            raise click.BadParameter("an empty value names nothing: give a value or leave the option out",
                                     ctx=ctx, param=param)
        return checked
    check.amlgen_no_empty = True
    return check


def refuse_empty_values(command: click.Command) -> None:
    """A bad option value is a usage error (exit 2) in every command: an empty string given to an option or a
    path argument (`-o ''`, `-g ''`, `--write-config ''`) is refused instead of read as "the current folder" or
    passed on to Azure."""
    for param in command.params:
        takes_text = isinstance(param.type, click.Path) or param.type is click.STRING
        if takes_text and not getattr(param, "is_flag", False) \
                and not getattr(param.callback, "amlgen_no_empty", False):
            param.callback = _no_empty(param.callback)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="amlgen")
def cli():
    """Generate ARM JSON and Bicep for Azure Machine Learning workspaces from YAML specs.

    With no PATHS, commands read the spec folders and the output folder from [tool.amlgen] in pyproject.toml
    (or amlgen.toml).

    \b
    Exit codes of every command:
      0    clean (or deployed)
      1    findings, drift, a failed preflight / what-if / deployment
      2    usage: a bad option value, a missing argument, a wrong configuration
      130  stopped waiting (Ctrl-C; a deployment goes on in Azure)
      3    an internal error: a bug, rerun with AMLGEN_DEBUG=1 for the traceback and report it
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; json for scripts; sarif for code-scanning annotations.")
@click.option("--show-merged", is_flag=True,
              help="Print each spec merged with the bases it extends, as YAML, on stdout (findings go to stderr).")
@allow_outside
def validate(paths, fmt, show_merged):
    """Check specs: schema, Azure naming and service rules. Prints every finding as file:line:col."""
    from generator import pipeline
    from generator.spec import extends

    _, spec_files, empty = _collect(paths, None)
    result = pipeline.validate(spec_files, empty)
    if show_merged:
        merged = sorted((c for c in result.checked + result.bases if c.document is not None),
                        key=lambda c: (c.spec_file.out_folder.as_posix(), c.spec_file.path.as_posix()))
        sys.stdout.write("---\n".join(extends.to_yaml(c.document) for c in merged))
    _emit_findings(result.findings, fmt, sys.stderr if show_merged else sys.stdout)
    if result.ok and fmt == "text":
        bases = f", {len(result.bases)} base(s) checked" if result.bases else ""
        click.echo(f"{len(result.checked)} spec(s) valid{bases}", err=True)
    sys.exit(0 if result.ok else 1)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", "out", type=click.Path(file_okay=False),
              help="Output folder (default: [tool.amlgen] output, else ./out).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a unified diff when the output folder is stale.")
@click.option("--prune", is_flag=True, help="Delete generated files that no spec produces any more.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="Format of findings. json and sarif write the findings document alone to stdout (also when "
                   "there are none); progress lines and --check's diff go to stderr.")
@allow_outside
def generate(paths, out, check, prune, fmt):
    """Validate specs and write, per spec, out/<spec>/: main.json, main.parameters.json, main.bicep,
    main.bicepparam, README.md, modules/*.bicep (nested deployments, e.g. private endpoints) and, when the spec
    names its resourceGroup, subscription.json and subscription.bicep.

    All or nothing: when any spec has an error, nothing is written.
    """
    from generator import config, output, pipeline

    cfg, spec_files, empty = _collect(paths, out)
    result = pipeline.generate(spec_files, empty, pipeline.ReadmeOptions.of(cfg))
    if result.ok:  # a symbolic link or a file in the way below the output folder: nothing is written (nor read)
        result.findings += pipeline.output_findings(result.files, cfg.output)
    machine = fmt != "text"
    if machine:  # a machine format is stdout's only content, findings or not; everything else goes to stderr
        _emit_findings(result.findings, fmt, sys.stdout)
    elif result.findings:
        _emit_findings(result.findings, fmt, sys.stderr)
    if not result.ok:
        click.echo("nothing written: fix the errors above", err=True)
        sys.exit(1)
    shown = config.display(cfg.output)
    # Stale files are judged only inside the folders of the specs read, unless all configured specs were read.
    comparison = output.compare(result.files, cfg.output, shown)
    if paths:
        read = {f.out_folder.as_posix() for f in spec_files}
        comparison.stale = [s for s in comparison.stale if s.rsplit("/", 1)[0] in read]
    if check:
        report = sys.stderr if machine else sys.stdout  # the diff never mixes with a JSON or SARIF document
        report.write(comparison.diff if (comparison.changed or comparison.missing) else "")
        if comparison.stale:
            report.write("".join(f"stale: {shown}/{s}: no spec generates this file any more\n"
                                     for s in comparison.stale))
        if comparison.clean:
            click.echo(f"{shown}/ is up to date ({len(result.files)} files from {len(result.checked)} spec(s))",
                       err=True)
            sys.exit(0)
        click.echo(f"{shown}/ is stale: {len(comparison.changed)} changed, {len(comparison.missing)} missing, "
                   f"{len(comparison.stale)} stale file(s); run `amlgen generate` and commit the result", err=True)
        sys.exit(1)
    delete = comparison.stale if prune else []
    if delete:
        # Prune deletes only what no spec generates: never while a spec file that may own the files is unread.
        unread = pipeline.unread_specs(result, delete, {*cfg.spec_roots, *(f.root for f in spec_files)})
        if unread:
            for spec in unread:
                click.echo(f"{config.display(spec)}: this spec file was not read in this run, and --prune would "
                           f"delete its generated files; read it (fix it, or pass its folder) or remove it",
                           err=True)
            click.echo("nothing written: --prune refused", err=True)
            sys.exit(1)
    written = output.apply(result.files, cfg.output, delete, shown)
    for rel in written:
        click.echo(f"wrote {shown}/{rel}", err=True)
    for rel in delete:
        click.echo(f"deleted {shown}/{rel}", err=True)
    if comparison.stale and not prune:
        for rel in comparison.stale:
            click.echo(f"stale: {shown}/{rel}: no spec generates it any more (--prune deletes it)", err=True)
    click.echo(f"{len(result.checked)} spec(s), {len(written)} file(s) changed, "
               f"{len(result.files) - len(written)} unchanged in {shown}/", err=True)


@cli.command("schema")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the schema to this file (default: stdout), e.g. schemas/workspace.schema.json.")
@click.option("--force", is_flag=True, help="Overwrite the file when it exists.")
def schema_command(out, force):
    """Write the spec's JSON Schema, for editors to complete and check specs in your repository.

    \b
    amlgen schema -o schemas/workspace.schema.json
    then, on the first line of specs/<name>.yaml:
    # yaml-language-server: $schema=../schemas/workspace.schema.json
    """
    from pathlib import Path

    from generator import output
    from generator.resources import spec_schema_text

    text = spec_schema_text()
    if out is None:
        if force:
            raise click.UsageError("--force goes with -o/--output (the file it may overwrite)")
        sys.stdout.write(text)
        return
    if not out.strip():
        raise click.BadParameter("an empty path names no file", param_hint="'-o' / '--output'")
    path = Path(out)
    if (path.exists() or path.is_symlink()) and not force:
        raise click.UsageError(f"{out} exists: pass --force to overwrite it")
    try:
        output.write_atomic(path, text)
    except OSError as exc:
        raise AmlgenError(f"{out}: cannot write the schema: {exc.strerror or exc}") from exc
    click.echo(f"wrote {out}", err=True)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people; json for scripts.")
def rules(fmt):
    """List every finding's rule: ID, level, what it checks, and the Microsoft source of the behaviour."""
    sys.stdout.write(format_rules(fmt))


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AmlgenError as exc:
        click.echo(f"amlgen: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a traceback reaching a user is a bug: say so, show it only on request
        if os.environ.get("AMLGEN_DEBUG"):
            raise
        click.echo(f"amlgen: internal error: {type(exc).__name__}: {exc}\n"
                   "This is a bug in amlgen; rerun with AMLGEN_DEBUG=1 for the traceback and report it.", err=True)
        sys.exit(3)
