"""The exception hierarchy: every error amlgen raises on purpose derives from AmlgenError."""

from __future__ import annotations


class AmlgenError(Exception):
    """An error meant for a person: the message says what is wrong and how to fix it."""

    exit_code = 1


class UsageError(AmlgenError):
    """The command line or the configuration is wrong (exit code 2)."""

    exit_code = 2


class SpecError(AmlgenError):
    """One or more specs have error findings; `findings` holds all of them."""

    def __init__(self, findings):
        self.findings = list(findings)
        super().__init__(f"{len(self.findings)} finding(s)")


class RenderError(AmlgenError):
    """A template fragment produced something that is not valid JSON (a bug in a fragment)."""


class DeployError(AmlgenError):
    """A deployment, what-if or preflight validation failed, or Azure could not be reached."""


class WriteError(AmlgenError):
    """Writing the output folder failed (a read-only file, a full disk, a name in the way); nothing was changed."""


def first_line(text: object, limit: int = 200) -> str:
    """The first non-blank line of `text`, shortened to `limit` characters: how another program's error is quoted."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"
