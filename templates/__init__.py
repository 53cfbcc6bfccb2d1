"""Jinja fragments, installed as the package generator.templates (see pyproject.toml)."""
