"""The spec's JSON Schema, installed as the package generator.schemas (see pyproject.toml)."""
