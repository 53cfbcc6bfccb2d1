"""What both renderers share: the one Jinja environment recipe (DESIGN.md section 3) and the header line every
generated file opens with. The ARM and Bicep renderers depend on this module, never on each other."""

from __future__ import annotations

import jinja2

from generator import GENERATED_BY
from generator.resources import template_text


def header(source: str) -> str:
    """The line every generated template opens with (ARM metadata, Bicep comment and metadata)."""
    return f"{GENERATED_BY}{source}. Do not edit: change the spec and run `amlgen generate`."


def make_environment(loader_prefix: str, filters: dict) -> jinja2.Environment:
    """Fragments from templates/<loader_prefix>/ only; undefined values are errors; no autoescape (the filters
    are the one way a value enters a fragment); every template compiled once and cached by Jinja."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: template_text(f"{loader_prefix}/{name}")),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, auto_reload=False, cache_size=-1,
    )
    env.filters.update(filters)
    return env
