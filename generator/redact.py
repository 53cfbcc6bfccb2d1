"""Secure parameter values (AMLGEN_SECRET_*) kept out of everything what-if and deploy print.

Azure's answers can quote a secure value back, and not always as it was sent: what-if echoes it inside JSON, so a
quote, a backslash, a newline or a non-ASCII letter comes back escaped (`\\"`, `\\\\`, `\\n`, `\\u00e9`, a surrogate
pair), an error message can quote a request URL (`%22`, `%C3%A9`, `+`), and amlgen's own `--format json` escapes
non-ASCII text. A Secrets object matches each value in every one of these spellings, even mixed, and replaces it
with `***`. A value shorter than MIN_LENGTH is refused: masking it would also mask ordinary words of the output,
and what stayed visible would tell the value away.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import quote

MIN_LENGTH = 8
MASK = "***"

_JSON_SHORT = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}


def _hex(text: str) -> str:
    """A case-insensitive pattern for hex digits (JSON writers differ: \\u00e9 and \\u00E9)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in text)


def _spellings(char: str) -> list[str]:
    """Regex alternatives for one character as JSON (once or twice escaped), URL encoding or itself."""
    out = [re.escape(char)]
    escape = r"\\+"  # one backslash for JSON, more for JSON inside a JSON string
    if char in _JSON_SHORT:
        out.append(escape + re.escape(_JSON_SHORT[char]))
    code = ord(char)
    if code > 0xFFFF:  # outside the BMP: a UTF-16 surrogate pair in JSON
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        out.append(escape + "u" + _hex(f"{high:04x}") + escape + "u" + _hex(f"{low:04x}"))
    else:
        out.append(escape + "u" + _hex(f"{code:04x}"))
    encoded = quote(char, safe="")
    if encoded != char:
        out.append(_hex(encoded))  # %XX per UTF-8 byte, either case
    if char == " ":
        out.append(r"\+")  # form encoding
    return out


def pattern(value: str) -> str:
    """A regex matching `value` in any of the spellings above, character by character; also a clipped value (at
    least MIN_LENGTH characters of it, then `…`, as amlgen shortens long values and messages)."""
    chars = ["(?:" + "|".join(_spellings(c)) + ")" for c in value]
    clipped = "".join(chars[:MIN_LENGTH])
    for char in chars[MIN_LENGTH:]:
        clipped += "(?:" + char
    clipped += ")?" * len(chars[MIN_LENGTH:]) + "…"
    return "(?:" + clipped + "|" + "".join(chars) + ")"


class Secrets:
    """The secure values of one run; `mask` replaces them in text, `mask_data` in JSON-like data."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._regex: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        if len(value) < MIN_LENGTH:
            raise ValueError(f"shorter than {MIN_LENGTH} characters")
        self._values.add(value)
        self._regex = None

    def __bool__(self) -> bool:
        return bool(self._values)

    def clear(self) -> None:
        self._values.clear()
        self._regex = None

    def _compiled(self) -> re.Pattern[str]:
        if self._regex is None:  # longest first: a value that contains another is masked whole
            self._regex = re.compile("|".join(pattern(v) for v in sorted(self._values, key=len, reverse=True)))
        return self._regex

    def mask(self, text: str) -> str:
        if not self._values:
            return text
        return self._compiled().sub(MASK, text)

    def mask_data(self, value):
        """`value` with every string masked (dict keys too), before it is clipped or serialised for display."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask_data(k): self.mask_data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.mask_data(v) for v in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a what-if summary and its parts
            return dataclasses.replace(value, **{f.name: self.mask_data(getattr(value, f.name))
                                                 for f in dataclasses.fields(value) if f.init})
        return value
