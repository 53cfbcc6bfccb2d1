"""Options every command that reads specs shares (validate, generate, diff, what-if, deploy), kept apart from
cli.py so the lazily imported command modules can use them too (nothing imports cli.py)."""

from __future__ import annotations

import click

from generator.config import ALLOW_OUTSIDE

_META_KEY = "amlgen.allow_outside"


def _remember(ctx: click.Context, _param, value: bool) -> None:
    ctx.meta[_META_KEY] = value


def allow_outside(command):
    """--allow-outside: let `extends:`, the configured spec folders and output folder, and links in spec folders
    lead outside the project root (by default they may not: a spec from a pull request must not read /etc)."""
    return click.option(ALLOW_OUTSIDE, is_flag=True, expose_value=False, callback=_remember,
                        help="Let extends:, the configured specs/output folders and symbolic links in spec folders "
                             "point outside the project root (the folder of pyproject.toml / amlgen.toml, else the "
                             "current folder).")(command)


def allowed_outside() -> bool:
    """Whether the running command was given --allow-outside."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_META_KEY))
