"""A small evaluator of ARM template expressions, for importing templates (ARM exports, hand-made templates).

It resolves what exported templates use: parameters() and variables() (from their default values), resourceId()
and its scoped forms, concat(), format(), toLower()/toUpper(), string(), subscription(), resourceGroup(),
environment() and the if/equals/not/empty family. Anything else (reference(), list*(), uniqueString() ...) is
unknowable without Azure: the value becomes UNRESOLVED and the importer says so instead of guessing.

Reference: https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any


class _Unresolved:
    def __repr__(self) -> str:
        return "UNRESOLVED"


UNRESOLVED: Any = _Unresolved()


@dataclass
class Scope:
    """What the template's scope functions return."""

    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "resource-group"
    location: str | None = None
    tenant_id: str = "00000000-0000-0000-0000-000000000000"
    parameters: dict[str, Any] = field(default_factory=dict)
    # reference(): what a deployed resource returns, by lower-cased ID ({"properties": ..., "identity": ...});
    # empty for imports (reference() is then unknowable), filled by the tests' fixture maker
    references: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    # environment().suffixes etc. for the public cloud: exports seldom use them, an expression that does keeps
    # the public-cloud value (the importer never writes a host name from it into a spec).
    environment: dict[str, Any] = field(default_factory=lambda: {
        "name": "AzureCloud", "suffixes": {"storage": "core.windows.net", "keyvaultDns": ".vault.azure.net",
                                           "acrLoginServer": ".azurecr.io"}})


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<punct>[()\[\],.]))")


class _Parser:
    def __init__(self, text: str, scope: Scope, depth: int):
        self.tokens = self._lex(text)
        self.pos = 0
        self.scope = scope
        self.depth = depth

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str]]:
        tokens, at = [], 0
        while at < len(text):
            if text[at:].strip() == "":
                break
            match = _TOKEN.match(text, at)
            if not match:
                raise ValueError(f"cannot read the expression at {text[at:at + 20]!r}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            at = match.end()
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ValueError(f"expected {value or 'more'} in the expression")
        self.pos += 1
        return token

    def expression(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            value: Any = text[1:-1].replace("''", "'")
        elif kind == "num":
            value = int(text)
        elif kind == "name":
            if text in ("true", "false", "null") and (self.peek() is None or self.peek()[1] != "("):
                value = {"true": True, "false": False, "null": None}[text]
            else:
                self.take("(")
                args = []
                while self.peek() and self.peek()[1] != ")":
                    args.append(self.expression())
                    if self.peek() and self.peek()[1] == ",":
                        self.take(",")
                self.take(")")
                value = call(text, args, self.scope, self.depth)
        else:
            raise ValueError(f"unexpected {text!r} in the expression")
        while self.peek() and self.peek()[1] in (".", "["):
            if self.take()[1] == ".":
                key: Any = self.take()[1]
            else:
                key = self.expression()
                self.take("]")
            value = _member(value, key)
        return value


def _member(value: Any, key: Any) -> Any:
    if value is UNRESOLVED:
        return UNRESOLVED
    try:
        if isinstance(value, dict):
            lowered = {str(k).lower(): v for k, v in value.items()}
            return lowered.get(str(key).lower(), UNRESOLVED)
        return value[int(key)]
    except (LookupError, TypeError, ValueError):
        return UNRESOLVED


def _resource_id(args: list, scope: Scope, *, level: str = "group") -> Any:
    if any(a is UNRESOLVED for a in args):
        return UNRESOLVED
    args = [str(a) for a in args]
    type_at = next((i for i, a in enumerate(args) if "/" in a and "." in a.split("/")[0]), None)
    if type_at is None:
        return UNRESOLVED
    before, rtype, names = args[:type_at], args[type_at], args[type_at + 1:]
    sub, group = scope.subscription_id, scope.resource_group
    if level == "group":
        if len(before) == 2:
            sub, group = before
        elif len(before) == 1:
            group = before[0]
    elif before:
        sub = before[0]
    namespace, *types = rtype.split("/")
    if len(types) != len(names):
        return UNRESOLVED
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names))
    prefix = f"/subscriptions/{sub}" if level != "tenant" else ""
    if level == "group":
        prefix += f"/resourceGroups/{group}"
    return f"{prefix}/providers/{namespace}/{path}"


def _format(args: list) -> Any:
    if any(a is UNRESOLVED for a in args) or not args:
        return UNRESOLVED
    values = [_text(a) for a in args[1:]]
    return re.sub(r"\{(\d+)\}", lambda m: values[int(m.group(1))] if int(m.group(1)) < len(values) else m.group(0),
                  str(args[0]))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def call(name: str, args: list, scope: Scope, depth: int) -> Any:
    low = name.lower()
    if low == "parameters":
        return resolve(scope.parameters.get(args[0], UNRESOLVED), scope, depth + 1) if args else UNRESOLVED
    if low == "variables":
        return resolve(scope.variables.get(args[0], UNRESOLVED), scope, depth + 1) if args else UNRESOLVED
    if low == "resourceid":
        return _resource_id(args, scope)
    if low == "subscriptionresourceid":
        return _resource_id(args, scope, level="subscription")
    if low == "tenantresourceid":
        return _resource_id(args, scope, level="tenant")
    if low == "subscription":
        return {"subscriptionId": scope.subscription_id, "tenantId": scope.tenant_id,
                "id": f"/subscriptions/{scope.subscription_id}"}
    if low == "resourcegroup":
        return {"name": scope.resource_group, "location": scope.location or UNRESOLVED,
                "id": f"/subscriptions/{scope.subscription_id}/resourceGroups/{scope.resource_group}"}
    if low == "environment":
        return scope.environment
    if any(a is UNRESOLVED for a in args):
        return UNRESOLVED
    if low == "reference" and args:
        found = scope.references.get(str(args[0]).lower())
        if found is None:
            return UNRESOLVED
        return found if any(str(a).lower() == "full" for a in args[1:]) else found.get("properties", {})
    if low == "concat":
        if args and all(isinstance(a, list) for a in args):
            return [x for a in args for x in a]
        return "".join(_text(a) for a in args)
    if low == "format":
        return _format(args)
    if low in ("tolower", "toupper") and args:
        return str(args[0]).lower() if low == "tolower" else str(args[0]).upper()
    if low == "string" and args:
        return args[0] if isinstance(args[0], str) else _text(args[0])
    if low == "equals" and len(args) == 2:
        return args[0] == args[1]
    if low == "not" and args:
        return not args[0]
    if low == "empty" and args:
        return not args[0]
    if low == "if" and len(args) == 3:
        return args[1] if args[0] else args[2]
    if low in ("and", "or") and args:
        return all(args) if low == "and" else any(args)
    if low == "guid" and args:
        # ARM's guid() is a name-based UUID of its arguments; any stable UUID serves an import (names only
        # identify the resource), so this is uuid5 and never compared with Azure's.
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(_text(a) for a in args)))
    if low == "last" and args:
        return args[0][-1] if args[0] else UNRESOLVED
    if low == "split" and len(args) == 2:
        return str(args[0]).split(str(args[1]))
    return UNRESOLVED


def resolve(value: Any, scope: Scope, depth: int = 0) -> Any:
    """`value` with every expression string evaluated (recursively through lists and objects)."""
    if depth > 50:
        return UNRESOLVED
    if isinstance(value, str):
        if value.startswith("[[") or not (value.startswith("[") and value.endswith("]")):
            return value[1:] if value.startswith("[[") else value
        try:
            parser = _Parser(value[1:-1], scope, depth)
            result = parser.expression()
            if parser.peek() is not None:
                return UNRESOLVED
            return result
        except (ValueError, RecursionError, IndexError, TypeError):
            return UNRESOLVED
    if isinstance(value, dict):
        # keys too: ARM evaluates expression keys (userAssignedIdentities is keyed by resourceId(...))
        return {(resolve(k, scope, depth + 1) if k.startswith("[") else k): resolve(v, scope, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope, depth + 1) for v in value]
    return value


def unresolved_paths(value: Any, path: str = "") -> list[str]:
    """Where in `value` an expression could not be evaluated."""
    if value is UNRESOLVED:
        return [path or "(value)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unresolved_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in unresolved_paths(v, f"{path}[{i}]")]
    return []
