"""Where amlgen's own files (Jinja templates, the spec's JSON Schema) are found at run time."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


def template_text(relative: str) -> str:
    """The text of a template under templates/ (mapped into the package as generator.templates)."""
    return resources.files("generator.templates").joinpath(relative).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def spec_schema() -> dict:
    text = resources.files("generator.schemas").joinpath("workspace.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def spec_schema_text() -> str:
    """The published JSON Schema of a spec, byte for byte as the package carries it (`amlgen schema`)."""
    return resources.files("generator.schemas").joinpath("workspace.schema.json").read_text(encoding="utf-8")
