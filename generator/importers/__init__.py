"""`amlgen import`: write a spec for a workspace that already runs, from Azure (live), an ARM export, or `az ml` YAML.

One module per source (live.py, arm_export.py, azml.py), each producing ARM-shaped resources; mapping.py is the one
mapping from those to a spec (with what it could not carry over and what a deployment would change). This module
renders the spec as commented YAML and writes it without ever replacing a file unless asked.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from generator.importers.mapping import Imported, ImportProblem, to_spec

__all__ = ["Imported", "ImportProblem", "to_spec", "render_yaml", "write_spec"]

def _comment(text: str) -> str:
    """One comment line: Azure's and the source's text never breaks out of the comment (C0, C1 such as NEL, line
    separators and bidi overrides shown escaped, as findings show them)."""
    from generator.findings import printable

    return printable(str(text))


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def render_yaml(imported: Imported, command: str) -> str:
    lines = [f"# Imported by `{_comment(command)}`: review it, then commit it like any spec.",
             "# Generating from it gives a template that leaves what exists as it is, except where listed below."]
    if imported.changes:
        lines.append("#")
        lines.append("# A deployment of this spec changes (amlgen's defaults):")
        lines += [f"#   - {_comment(c)}" for c in imported.changes]
    if imported.notes:
        lines.append("#")
        lines.append("# Not carried over:")
        lines += [f"#   - {_comment(n)}" for n in imported.notes]
    if imported.secrets:
        lines.append("#")
        lines.append("# Secure parameters needed at deploy time (never read, never written):")
        lines += [f"#   - {_comment(s)}" for s in imported.secrets]
    body = yaml.dump(imported.spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120,
                     default_flow_style=False)
    return "\n".join(lines) + "\n" + body


def write_spec(text: str, path: Path, force: bool) -> None:
    """Write `text` to `path` atomically; never over an existing file unless `force`."""
    if path.is_dir():
        raise ImportProblem(f"{path} is a folder: give the spec file to write, e.g. {path}/workspace.yaml")
    if (path.exists() or path.is_symlink()) and not force:
        raise ImportProblem(f"{path} exists: amlgen import never writes over a file (add --force to replace it)")
    from generator.output import write_atomic
    from generator.readfile import why

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)  # staged beside it, moved into place in one step, with the umask's mode
    except OSError as exc:
        raise ImportProblem(f"{path}: cannot write it: {why(exc)}") from None
