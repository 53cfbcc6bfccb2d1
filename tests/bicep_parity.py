"""Parity of a generated main.bicep with its main.json: both read into one canonical form, differences listed.

The Bicep side is parsed by pycep-parser (the parser checkov uses). pycep's string regex mis-lexes some valid
literals (one ending in an escaped backslash; `\\${\\'x\\'}` appearing twice; it can also backtrack for minutes),
so `parse_bicep` lexes string literals itself, by the rules of Bicep's own lexer (Azure/bicep
src/Bicep.Core/Parsing/Lexer.cs), hands pycep the file with each literal replaced by a placeholder, and puts the
raw literals back into pycep's result. `parse_bicep(..., robust=False)` gives pycep the file unchanged.

Every value is then put in one canonical form: literals become Python values (Bicep escapes and ARM's '[['
escape decoded) and expressions become an `Expression` holding the ARM expression they mean, so `storage.id` in
Bicep and "[resourceId('Microsoft.Storage/storageAccounts', 'st1')]" in ARM are equal. A reference to a Bicep
`existing` resource scoped to `resourceGroup('sub', 'rg')` means its literal resource ID; `format()` and
`concat()` of literals are folded (ARM names child resources with `format('{0}/{1}', ...)`); a Bicep
interpolation '${x}' is format('{0}', x), which is x. A resource is identified by type, full name (a child's
includes its `parent`'s) and, for an extension resource (lock, diagnostic setting, role assignment), its `scope`;
`= if (cond)` compares with ARM's `condition`. Whatever this module does not understand becomes `Unsupported`,
which equals nothing: an unknown construct is reported as a difference, never skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pycep import BicepParser
from pycep.models import BicepElement

# --- literals ---------------------------------------------------------------------------------------------------

_BICEP_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}


class BicepLiteralError(ValueError):
    """A single-quoted Bicep literal that is not a plain string (bad escape, interpolation, raw line break)."""


def decode_bicep(raw: str) -> str:
    """The text a single-quoted Bicep literal stands for (`raw`: the content between the quotes, escapes not
    decoded). Raises BicepLiteralError where Bicep would interpolate or refuse the literal."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            nxt = raw[i + 1:i + 2]
            if nxt and nxt in _BICEP_ESCAPES:
                out.append(_BICEP_ESCAPES[nxt])
                i += 2
                continue
            m = re.match(r"u\{([0-9A-Fa-f]+)\}", raw[i + 1:])
            if m and int(m.group(1), 16) <= 0x10FFFF:
                out.append(chr(int(m.group(1), 16)))
                i += 1 + m.end()
                continue
            raise BicepLiteralError(f"invalid escape {raw[i:i + 2]!r} at {i} in {raw!r}")
        if ch == "$" and raw[i + 1:i + 2] == "{":
            raise BicepLiteralError(f"unescaped '${{' (an interpolation) at {i} in {raw!r}")
        if ch in "\r\n":
            raise BicepLiteralError(f"raw line break at {i} in {raw!r} (single-quoted literals are one line)")
        if ch == "'":
            raise BicepLiteralError(f"unescaped quote at {i} in {raw!r}")
        out.append(ch)
        i += 1
    return "".join(out)


def unescaped_interpolations(raw: str) -> list[int]:
    """Offsets of every `${` in raw literal content that Bicep would interpolate (not escaped)."""
    found, i = [], 0
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] == "$" and raw[i + 1:i + 2] == "{":
            found.append(i)
        i += 1
    return found


@dataclass(frozen=True)
class Literal:
    start: int  # index of the opening quote
    end: int  # index after the closing quote
    raw: str  # the content between the quotes
    interpolated: bool  # holds an unescaped ${...}


def _scan_string(text: str, start: int) -> tuple[int, bool]:
    """Index after the single-quoted literal at text[start], and whether it interpolates (Lexer.ScanStringSegment:
    a backslash always takes the next character; a line break ends the line, and the literal with an error)."""
    i, interpolated = start + 1, False
    while i < len(text):
        ch = text[i]
        if ch in "\r\n":
            break
        if ch == "\\":
            i += 2
            continue
        if ch == "'":
            return i + 1, interpolated
        if ch == "$" and text[i + 1:i + 2] == "{":
            interpolated = True
            i = _skip_hole(text, i + 2)
            continue
        i += 1
    raise BicepLiteralError(f"unterminated literal at offset {start}: {text[start:start + 60]!r}")


def _skip_hole(text: str, i: int) -> int:
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            i, _ = _scan_string(text, i)
            continue
        if ch in "\r\n":
            break
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return i + 1
            depth -= 1
        i += 1
    raise BicepLiteralError(f"unterminated interpolation at offset {i}")


def split_interpolation(raw: str) -> list[tuple[str, str]]:
    """A literal's raw content as ("text", decoded text) and ("hole", Bicep expression source) parts."""
    parts: list[tuple[str, str]] = []
    i, start = 0, 0
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] == "$" and raw[i + 1:i + 2] == "{":
            parts.append(("text", decode_bicep(raw[start:i])))
            end = _skip_hole(raw, i + 2)
            parts.append(("hole", raw[i + 2:end - 1]))
            i = start = end
            continue
        i += 1
    parts.append(("text", decode_bicep(raw[start:])))
    return [(kind, value) for kind, value in parts if kind == "hole" or value]


def scan_literals(text: str) -> list[Literal]:
    """Every single-quoted literal of a Bicep file, in order, comments and multi-line strings skipped."""
    found: list[Literal] = []
    i = 0
    while i < len(text):
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = len(text) if j < 0 else j + 2
        elif text.startswith("'''", i):
            j = text.find("'''", i + 3)
            if j < 0:
                raise BicepLiteralError(f"unterminated multi-line string at offset {i}")
            i = j + 3
            while i < len(text) and text[i] == "'":
                i += 1
        elif text[i] == "'":
            end, interpolated = _scan_string(text, i)
            found.append(Literal(i, end, text[i + 1:end - 1], interpolated))
            i = end
        else:
            i += 1
    return found


def scan_bicep_literal(text: str, start: int) -> tuple[str, int]:
    """The raw content of the literal at text[start] == "'" and the index after it."""
    if text[start:start + 1] != "'":
        raise BicepLiteralError(f"no literal at {start}")
    end, _ = _scan_string(text, start)
    return text[start + 1:end - 1], end


def is_arm_expression(value: str) -> bool:
    """ARM evaluates a string that starts with '[' and ends with ']', unless it starts with '[[' (an escape)."""
    return value.startswith("[") and value.endswith("]") and not value.startswith("[[")


def decode_arm_literal(value: str) -> str:
    """The text of a non-expression ARM string: '[[...]' loses its first '['."""
    if value.startswith("[[") and value.endswith("]"):
        return value[1:]
    return value


# --- canonical values -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expression:
    """A value known only at deployment, as the ARM expression it means (no brackets). `source` is how the side
    it came from wrote it, for messages only."""

    arm: str
    source: str = field(default="", compare=False)

    def __repr__(self) -> str:
        shown = f"[{self.arm}]"
        return f"{self.source} (= {shown})" if self.source and self.source != shown else shown


@dataclass(frozen=True, eq=False)
class Unsupported:
    """A construct this comparison cannot read: equal to nothing, so it shows up as a difference."""

    reason: str

    def __repr__(self) -> str:
        return f"<unsupported: {self.reason}>"


@dataclass(frozen=True)
class ExprKey:
    """An object key that is an expression (ARM "[...]" key, Bicep '${...}' key)."""

    arm: str

    def __str__(self) -> str:
        return f"[{self.arm}]"


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()


@dataclass(frozen=True)
class Difference:
    path: str
    arm: object
    bicep: object

    def __str__(self) -> str:
        return f"{self.path}: main.json has {self.arm!r}, main.bicep has {self.bicep!r}"


def arm_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_FUNCTION_SPELLING = {n.lower(): n for n in (
    "parameters", "variables", "resourceId", "subscriptionResourceId", "tenantResourceId", "extensionResourceId",
    "reference", "subscription", "resourceGroup", "tenant", "managementGroup", "deployment", "guid", "toLower",
    "toUpper", "format", "concat", "uniqueString", "string", "int", "bool", "json", "union", "createObject",
    "createArray", "equals", "not", "and", "or", "coalesce", "empty", "length", "replace", "substring", "take",
    "skip", "split", "join", "trim", "uri", "base64", "environment", "last", "first", "contains")}


def function_name(name: str) -> str:
    """One spelling of a function name for both sides: ARM's are case-insensitive, pycep's are snake_case."""
    if "_" in name:
        head, *rest = name.split("_")
        name = head + "".join(part[:1].upper() + part[1:] for part in rest)
    return _FUNCTION_SPELLING.get(name.lower(), name)


def _render(value) -> str | None:
    """A canonical value as ARM expression text (an argument); None when it cannot be one."""
    if isinstance(value, Expression):
        return value.arm
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return arm_quote(value)
    return None


def _format(fmt: str, args: list) -> str | None:
    def sub(m):
        if m.group(0) in ("{{", "}}"):
            return m.group(0)[0]
        index = int(m.group(1))
        if index >= len(args) or not isinstance(args[index], (str, int)) or isinstance(args[index], bool):
            raise ValueError
        return str(args[index])
    if re.search(r"\{\d+[:,]", fmt):
        return None
    try:
        return re.sub(r"\{\{|\}\}|\{(\d+)\}", sub, fmt)
    except ValueError:
        return None


def call(name: str, args: list, source: str = ""):
    """A function call in canonical form: format()/concat() of literals folded, others as an Expression."""
    name = function_name(name)
    if any(isinstance(a, Unsupported) for a in args):
        return next(a for a in args if isinstance(a, Unsupported))
    literal = all(isinstance(a, str) and not isinstance(a, bool) for a in args)
    if name == "format" and len(args) == 2 and args[0] == "{0}" and isinstance(args[1], Expression):
        return args[1]  # Bicep's '${x}'; equal to x for the string values amlgen interpolates (IDs, names)
    if name == "format" and args and isinstance(args[0], str):
        folded = _format(args[0], args[1:])
        if folded is not None:
            return folded
    if name == "concat" and args and literal:
        return "".join(args)
    rendered = [_render(a) for a in args]
    if any(r is None for r in rendered):
        return Unsupported(f"{name}() with an object or array argument")
    return Expression(f"{name}({', '.join(rendered)})", source)


def access(base, attr: str, source: str = ""):
    if isinstance(base, Expression):
        return Expression(f"{base.arm}.{attr}", source)
    if isinstance(base, Unsupported):
        return base
    return Unsupported(f"property {attr} of a literal {base!r}")


def resource_id(resource_type: str, name) -> object:
    """resourceId() of a resource of this deployment: a child's name 'a/b' is two segments."""
    if isinstance(name, str):
        return call("resourceId", [resource_type, *name.split("/")])
    return call("resourceId", [resource_type, name])


def literal_resource_id(subscription: str, resource_group: str, resource_type: str, name: str) -> str:
    namespace, *types = resource_type.split("/")
    names = name.split("/")
    if len(types) != len(names):
        raise ValueError(f"type {resource_type!r} and name {name!r} have different depths")
    tail = "/".join(f"{t}/{n}" for t, n in zip(types, names))
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{namespace}/{tail}"


# --- the ARM side -----------------------------------------------------------------------------------------------

_ARM_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                        r"|(?P<punct>[(),.\[\]]))")


class ArmExpressionError(ValueError):
    pass


def read_arm_expression(text: str, source: str = ""):
    """An ARM expression (without its brackets) in canonical form."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while text[pos:].strip():
        m = _ARM_TOKEN.match(text, pos)
        if not m:
            raise ArmExpressionError(f"cannot read {text[pos:]!r}")
        tokens.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
    index = 0

    def peek():
        return tokens[index] if index < len(tokens) else (None, None)

    def take(expected=None):
        nonlocal index
        tok = peek()
        if tok[0] is None or (expected is not None and tok[1] != expected):
            raise ArmExpressionError(f"expected {expected or 'more'} in {text!r}")
        index += 1
        return tok

    def primary():
        kind, val = take()
        if kind == "str":
            return val[1:-1].replace("''", "'")
        if kind == "num":
            return int(val)
        if kind == "name":
            if val in ("true", "false", "null") and peek()[1] != "(":
                return {"true": True, "false": False, "null": None}[val]
            take("(")
            args = []
            if peek()[1] != ")":
                args.append(expr())
                while peek()[1] == ",":
                    take(",")
                    args.append(expr())
            take(")")
            return call(val, args)
        raise ArmExpressionError(f"unexpected {val!r} in {text!r}")

    def expr():
        out = primary()
        while peek()[1] in (".", "["):
            if take()[1] == ".":
                kind, val = take()
                if kind != "name":
                    raise ArmExpressionError(f"expected a property name in {text!r}")
                out = access(out, val)
            else:
                index_value = _render(expr())
                take("]")
                out = Expression(f"{out.arm}[{index_value}]") if isinstance(out, Expression) else Unsupported(text)
        return out

    result = expr()
    if index != len(tokens):
        raise ArmExpressionError(f"trailing text in {text!r}")
    if isinstance(result, Expression):
        return Expression(result.arm, source)
    return result


def arm_value(value):
    """A main.json value in canonical form."""
    if isinstance(value, str):
        if is_arm_expression(value):
            try:
                return read_arm_expression(value[1:-1], value)
            except ArmExpressionError as exc:
                return Unsupported(f"unreadable ARM expression {value!r}: {exc}")
        return decode_arm_literal(value)
    if isinstance(value, dict):
        return {arm_key(k): arm_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [arm_value(v) for v in value]
    return value


def arm_key(key: str):
    """ARM evaluates expressions in property names too (userAssignedIdentities uses it)."""
    if not is_arm_expression(key):
        return decode_arm_literal(key)
    value = arm_value(key)
    return ExprKey(value.arm) if isinstance(value, Expression) else value if isinstance(value, str) else repr(value)


# --- the Bicep side ---------------------------------------------------------------------------------------------

_PLACEHOLDER = "__amlgen_literal_{}__"
_PLACEHOLDER_RE = re.compile(r"__amlgen_literal_(\d+)__")


@lru_cache(maxsize=1)
def parser() -> BicepParser:
    return BicepParser()


def parse_bicep(text: str | None = None, path: Path | None = None, robust: bool = True) -> dict:
    """pycep's reading of a Bicep file; with `robust`, literals are lexed here (see the module docstring)."""
    if path is not None:
        text = path.read_text(encoding="utf-8")
    if not robust:
        return parser().parse(text=text)
    raws: list[str] = []
    parts, last = [], 0
    for lit in scan_literals(text):
        before = text[:lit.start].rstrip(" \t")
        # resource types ('T@v' after `resource sym`), paths after `using`/`import` and the target scope stay as
        # they are: pycep splits or reads them itself; interpolated literals stay too, so pycep sees the interpolation
        if lit.interpolated or (before and (before[-1].isalnum() or before[-1] == "_")):
            continue
        if re.search(r"(^|\n)targetScope\s*=$", before):  # pycep checks the scope's name itself
            continue
        parts.append(text[last:lit.start] + "'" + _PLACEHOLDER.format(len(raws)) + "'")
        raws.append(lit.raw)
        last = lit.end
    parsed = parser().parse(text=("".join(parts) + text[last:]) or "\n")
    return _restore(parsed, raws)


def _restore(node, raws: list[str]):
    if isinstance(node, BicepElement):
        return node
    if isinstance(node, str):
        m = _PLACEHOLDER_RE.fullmatch(node)
        return raws[int(m.group(1))] if m else node
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            m = _PLACEHOLDER_RE.fullmatch(k[1:-1]) if isinstance(k, str) and k.startswith("'") else None
            out[("'" + raws[int(m.group(1))] + "'") if m else k] = _restore(v, raws)
        return out
    if isinstance(node, list):
        return [_restore(v, raws) for v in node]
    return node


def _is_operator(node) -> bool:
    return (isinstance(node, dict) and set(node) == {"operator"} and isinstance(node["operator"], dict)
            and "type" in node["operator"])


def _is_function(node) -> bool:
    return (isinstance(node, dict) and set(node) == {"function"} and isinstance(node["function"], dict)
            and "type" in node["function"])


def _flatten_accessor(node) -> list:
    """`a.b.c` as [a, b, c], whatever associativity pycep chose."""
    if _is_operator(node) and node["operator"]["type"] == "property_accessor":
        ops = node["operator"]["operands"]
        return _flatten_accessor(ops["operand_1"]) + _flatten_accessor(ops["operand_2"])
    return [node]


def _positional(fn: dict) -> list:
    """The arguments of a pycep function node in source order (pycep names them, and reorders a few)."""
    params = fn.get("parameters") or {}
    kind = fn["type"]
    if kind == "resource_group":
        args = [params.get("subscription_id"), params.get("resource_group_name")]
        return [a for a in args if a is not None]
    if kind in ("resource_id", "subscription_resource_id", "tenant_resource_id"):
        names = [v for k, v in params.items() if k.startswith("resource_name_")]
        args = [params.get("subscription_id"), params.get("resource_group_name"), params.get("resource_type"), *names]
        return [a for a in args if a is not None]
    args = list(params.values())
    while args and args[-1] is None:
        args.pop()
    return args




class BicepFile:
    """A parsed main.bicep: its declarations, and its values in canonical form."""

    def __init__(self, parsed: dict):
        self.parsed = parsed
        self.parameters = parsed.get("parameters") or {}
        self.variables = parsed.get("variables") or {}
        self.resources = parsed.get("resources") or {}
        self.outputs = parsed.get("outputs") or {}
        self.modules = parsed.get("modules") or {}

    def config_of(self, symbol: str) -> dict:
        """A resource's body; for `= if (cond) {...}` the body inside (the condition is `condition_of`)."""
        config = self.resources[symbol].get("config") or {}
        if set(config) == {"condition", "config"} and isinstance(config["config"], dict):
            return config["config"]
        return config

    def condition_of(self, symbol: str):
        config = self.resources[symbol].get("config") or {}
        return config["condition"] if set(config) == {"condition", "config"} else None

    def scope_of(self, symbol: str, refs: set[str] | None = None):
        """The `scope:` of a resource of this deployment in canonical form (a resource symbol means its ID)."""
        scope = self.config_of(symbol).get("scope")
        if scope is None:
            return None
        if isinstance(scope, BicepElement) and str(scope) in self.resources:
            if refs is not None and not self.is_existing(str(scope)):
                refs.add(str(scope))
            return self.id_of(str(scope))
        return self.value(scope, refs)

    def name_of(self, symbol: str):
        """The full name of a resource: a child's name is its parent's name, '/', its own."""
        config = self.config_of(symbol)
        own = self.value(config.get("name"))
        parent = config.get("parent")
        if parent is None:
            return own
        if isinstance(parent, BicepElement) and str(parent) in self.resources:
            parent_name = self.name_of(str(parent))
            if isinstance(parent_name, str) and isinstance(own, str):
                return f"{parent_name}/{own}"
            return call("format", ["{0}/{1}", parent_name, own])
        return Unsupported(f"parent {parent!r} of {symbol}")

    def module_id(self, symbol: str):
        """What a dependency on a module means: the ID of its deployment record, in the resource group it deploys
        to (`resourceGroup('sub', 'rg')`) or in this template's group."""
        config = self.modules[symbol].get("config") or {}
        name, scope = self.value(config.get("name")), config.get("scope")
        if scope is None:
            return call("resourceId", [DEPLOYMENT, name])
        if _is_function(scope) and scope["function"]["type"] == "resource_group":
            args = [self.value(a) for a in _positional(scope["function"])]
            if len(args) == 2 and all(isinstance(a, str) for a in args):
                return call("resourceId", [args[0], args[1], DEPLOYMENT, name])
        return Unsupported(f"the id of module {symbol} in scope {scope!r}")

    def is_existing(self, symbol: str) -> bool:
        return bool(self.resources[symbol].get("existing"))

    def id_of(self, symbol: str):
        """What `symbol.id` means: resourceId() for a resource of this deployment, the literal ID of an
        `existing` resource in a named resource group."""
        decl = self.resources[symbol]
        rtype, name = decl["type"], self.name_of(symbol)
        scope = self.config_of(symbol).get("scope")
        if scope is None:
            return resource_id(rtype, name)
        if decl.get("existing") and _is_function(scope) and scope["function"]["type"] == "resource_group":
            args = [self.value(a) for a in _positional(scope["function"])]
            if len(args) == 2 and all(isinstance(a, str) for a in args) and isinstance(name, str):
                # what Bicep compiles `existing.id` in another group to: resourceId(sub, group, type, names...)
                return call("resourceId", [args[0], args[1], rtype, *name.split("/")])
        if isinstance(scope, BicepElement) and str(scope) in self.resources:
            return call("extensionResourceId", [self.id_of(str(scope)), rtype, name])
        return Unsupported(f"the id of {symbol} in scope {scope!r}")

    def value(self, node, refs: set[str] | None = None):
        """A pycep value in canonical form; the symbols of the resources it references are added to `refs`."""
        refs = refs if refs is not None else set()
        if node is None or isinstance(node, (bool, int)):
            return node
        if isinstance(node, BicepElement):
            return self._chain([node], refs)
        if isinstance(node, str):
            return self.string(node, refs)
        if isinstance(node, list):
            return [self.value(v, refs) for v in node]
        if _is_operator(node):
            op = node["operator"]
            if op["type"] == "property_accessor":
                return self._chain(_flatten_accessor(node), refs)
            if op["type"] == "minus" and set(op.get("operands", {})) == {"integer_value"}:
                return -op["operands"]["integer_value"]
            if op["type"] == "equals":  # `a == b` is ARM's equals(a, b)
                operands = op.get("operands") or {}
                return call("equals", [self.value(operands.get("operand_1"), refs),
                                       self.value(operands.get("operand_2"), refs)])
            return Unsupported(f"Bicep operator {op['type']}")
        if _is_function(node):
            return self._chain([node], refs)
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                key = self.string(k[1:-1], refs) if k.startswith("'") and k.endswith("'") and len(k) >= 2 else k
                if isinstance(key, Expression):
                    key = ExprKey(key.arm)
                elif not isinstance(key, str):
                    return Unsupported(f"object key {k}: {key!r}")
                out[key] = self.value(v, refs)
            return out
        return Unsupported(f"Bicep value {node!r}")

    def string(self, raw: str, refs: set[str]):
        """A literal's raw content: its text, or for an interpolation, format() of its parts (as ARM has it)."""
        try:
            parts = split_interpolation(raw)
        except BicepLiteralError as exc:
            return Unsupported(f"not a valid literal: {exc}")
        if all(kind == "text" for kind, _ in parts):
            return "".join(text for _, text in parts)
        fmt, args = [], []
        for kind, value in parts:
            if kind == "text":
                fmt.append(value.replace("{", "{{").replace("}", "}}"))
            else:
                fmt.append(f"{{{len(args)}}}")
                try:
                    node = parser().parse(text=f"var hole = {value}\n")["variables"]["hole"]["value"]
                except Exception as exc:  # noqa: BLE001 - any pycep failure means: not readable
                    return Unsupported(f"interpolation hole {value!r}: {exc}")
                args.append(self.value(node, refs))
        return call("format", ["".join(fmt), *args], f"'{raw}'")

    def _chain(self, chain: list, refs: set[str]):
        head, rest = chain[0], chain[1:]
        if not all(isinstance(x, BicepElement) for x in rest):
            return Unsupported(f"accessor chain {chain!r}")
        attrs = [str(x) for x in rest]
        shown = str(head) if isinstance(head, BicepElement) else (
            f"{function_name(head['function']['type'])}(...)" if _is_function(head) else "?")
        source = ".".join([shown, *attrs])
        if _is_function(head):
            fn = head["function"]
            base = call(fn["type"], [self.value(a, refs) for a in _positional(fn)])
        elif not isinstance(head, BicepElement):
            return Unsupported(f"accessor chain {chain!r}")
        elif str(head) in self.parameters:
            base = call("parameters", [str(head)])
        elif str(head) in self.variables:
            base = call("variables", [str(head)])
        elif str(head) in self.resources:
            symbol = str(head)
            if not self.is_existing(symbol):
                refs.add(symbol)
            if attrs == ["id"]:
                rid = self.id_of(symbol)
                return Expression(rid.arm, source) if isinstance(rid, Expression) else rid
            if attrs == ["name"]:
                return self.name_of(symbol)
            if attrs == ["location"]:  # a resource's region, read at deployment (full reference)
                rid = self.id_of(symbol)
                base, attrs = call("reference", [rid, self.resources[symbol]["api_version"], "full"]), attrs
            elif attrs[:1] in (["identity"], ["properties"]):
                rid = self.id_of(symbol)
                full = [self.resources[symbol]["api_version"], "full"] if attrs[0] == "identity" else [
                    self.resources[symbol]["api_version"]]
                base, attrs = call("reference", [rid, *full]), (attrs if attrs[0] == "identity" else attrs[1:])
            else:
                return Unsupported(f"resource property {source}")
        else:
            return Unsupported(f"unknown identifier {head}")
        for attr in attrs:
            base = access(base, attr)
        return Expression(base.arm, source) if isinstance(base, Expression) else base


# --- the comparison ---------------------------------------------------------------------------------------------

def _same(a, b) -> bool:
    if isinstance(a, Unsupported) or isinstance(b, Unsupported):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Expression) or isinstance(b, Expression):
        return isinstance(a, Expression) and isinstance(b, Expression) and a == b
    return type(a) is type(b) and a == b


def compare_values(arm, bicep, path: str, diffs: list[Difference]) -> None:
    if isinstance(arm, dict) and isinstance(bicep, dict):
        for key in [*arm, *(k for k in bicep if k not in arm)]:
            compare_values(arm.get(key, ABSENT), bicep.get(key, ABSENT), f"{path}.{key}", diffs)
    elif isinstance(arm, list) and isinstance(bicep, list) and len(arm) == len(bicep):
        for i, (a, b) in enumerate(zip(arm, bicep)):
            compare_values(a, b, f"{path}[{i}]", diffs)
    elif not _same(arm, bicep):
        diffs.append(Difference(path, arm, bicep))


def _decorators(decl: dict) -> dict:
    return {d["type"]: d.get("argument") for d in decl.get("decorators") or []}


# ARM resource keys that are annotations, not deployed: amlgen's registry fragment carries checkov's skip reason
# in ARM `metadata` and as a `// checkov:skip` comment in Bicep.
ANNOTATION_KEYS = {"metadata", "comments"}
_ARM_TOP_LEVEL = {"$schema", "contentVersion", "metadata", "parameters", "variables", "resources", "outputs"}
_BICEP_TOP_LEVEL = {"globals", "metadata", "parameters", "variables", "resources", "modules", "outputs"}
DEPLOYMENT = "Microsoft.Resources/deployments"
_PARAM_DECORATORS = {"allowed": "allowedValues", "min_value": "minValue", "max_value": "maxValue",
                     "min_length": "minLength", "max_length": "maxLength"}
_NOT_COMPARED = "<not compared: extend tests/bicep_parity.py>"


def compare(arm: dict, parsed_bicep: dict, load_module=None) -> list[Difference]:
    """Every difference between a main.json (as loaded JSON) and a main.bicep (as `parse_bicep` read it).
    `load_module(path)` parses a module file a `module` declaration names: its template is compared with the
    nested deployment's inline template in main.json, recursively."""
    bicep = BicepFile(parsed_bicep)
    diffs: list[Difference] = []
    for key in sorted(set(arm) - _ARM_TOP_LEVEL):
        if arm[key]:
            diffs.append(Difference(key, arm[key], _NOT_COMPARED))
    for key in sorted(set(parsed_bicep) - _BICEP_TOP_LEVEL):
        if parsed_bicep[key]:
            diffs.append(Difference(key, _NOT_COMPARED, parsed_bicep[key]))
    scope = ((parsed_bicep.get("globals") or {}).get("scope") or {}).get("value")
    schemas = {"resourceGroup": "/deploymentTemplate.json", "subscription": "/subscriptionDeploymentTemplate.json"}
    if scope not in schemas or schemas[scope] not in arm.get("$schema", ""):
        diffs.append(Difference("targetScope", arm.get("$schema"), scope))
    # template metadata is never evaluated: compared as text
    meta = {k: bicep.value(v.get("value")) for k, v in (parsed_bicep.get("metadata") or {}).items()}
    compare_values(arm.get("metadata", {}), meta, "metadata", diffs)
    _compare_parameters(arm.get("parameters") or {}, bicep, diffs)
    compare_values(arm_value(arm.get("variables") or {}),
                   {n: bicep.value(d.get("value")) for n, d in bicep.variables.items()}, "variables", diffs)
    resources = arm.get("resources") or []
    _compare_resources([r for r in resources if r.get("type") != DEPLOYMENT], bicep, diffs)
    _compare_modules([r for r in resources if r.get("type") == DEPLOYMENT], bicep, diffs, load_module)
    _compare_outputs(arm.get("outputs") or {}, bicep, diffs)
    return diffs


def _compare_modules(deployments: list, bicep: BicepFile, diffs: list[Difference], load_module) -> None:
    """A Bicep `module` is a nested deployment in ARM: same name, scope, parameters and dependencies, and the
    module file's template equal to the deployment's inline template (compared the same way, recursively)."""
    arm_by_name = {}
    for r in deployments:
        arm_by_name[_key_part(arm_value(r.get("name")))] = r
    matched = set()
    for symbol, decl in bicep.modules.items():
        config = decl.get("config") or {}
        name = bicep.value(config.get("name"))
        path = f"modules.{symbol} ({_show(name)})"
        arm_r = arm_by_name.get(_key_part(name))
        if arm_r is None:
            diffs.append(Difference(path, ABSENT, f"module {symbol}"))
            continue
        matched.add(_key_part(name))
        refs: set[str] = set()
        props = arm_r.get("properties") or {}
        if "resourceGroup" in arm_r or "location" not in arm_r:
            arm_scope = call("resourceGroup", [x for x in (arm_r.get("subscriptionId"), arm_r.get("resourceGroup"))
                                               if x is not None])
        else:  # a deployment at subscription scope (subscriptionId and location, no resourceGroup)
            arm_scope = call("subscription", [x for x in (arm_r.get("subscriptionId"),) if x is not None])
            # what Bicep sets as the location of a subscription-scope module deployed from a resource group
            compare_values(arm_value(arm_r["location"]), arm_value("[resourceGroup().location]"),
                           f"{path}.location", diffs)
        compare_values(arm_value(arm_scope) if isinstance(arm_scope, str) else arm_scope,
                       bicep.value(config.get("scope"), refs), f"{path}.scope", diffs)
        compare_values(props.get("mode"), "Incremental", f"{path}.mode", diffs)
        compare_values(str((props.get("expressionEvaluationOptions") or {}).get("scope", "")).lower(), "inner",
                       f"{path}.expressionEvaluationOptions.scope", diffs)
        compare_values({k: arm_value(v.get("value")) for k, v in (props.get("parameters") or {}).items()},
                       bicep.value(config.get("params") or {}, refs), f"{path}.params", diffs)
        for extra in sorted(set(arm_r) - {"type", "apiVersion", "name", "subscriptionId", "resourceGroup",
                                          "properties", "dependsOn", "location"}):
            diffs.append(Difference(f"{path}.{extra}", arm_r[extra], _NOT_COMPARED))
        explicit = config.get("dependsOn") or []
        for item in explicit if isinstance(explicit, list) else [explicit]:
            if isinstance(item, BicepElement) and str(item) in bicep.resources and not bicep.is_existing(str(item)):
                refs.add(str(item))
        _compare_dependencies(arm_r, refs, bicep, path, diffs)
        module_path = (decl.get("detail") or {}).get("path")
        if load_module is None or "template" not in props:
            diffs.append(Difference(f"{path}.template", "template" in props, f"module file {module_path!r} not read"))
            continue
        for d in compare(props["template"], load_module(module_path), load_module):
            diffs.append(Difference(f"{path} -> {module_path}: {d.path}", d.arm, d.bicep))
    for key, r in arm_by_name.items():
        if key not in matched:
            diffs.append(Difference(f"resources ({DEPLOYMENT} {_show(key)})", "deployed", ABSENT))


def _compare_parameters(arm_params: dict, bicep: BicepFile, diffs: list[Difference]) -> None:
    for name in [*arm_params, *(n for n in bicep.parameters if n not in arm_params)]:
        path = f"parameters.{name}"
        a, b = arm_params.get(name), bicep.parameters.get(name)
        if a is None or b is None:
            diffs.append(Difference(path, f"parameter of type {a.get('type')}" if a is not None else ABSENT,
                                    f"param {name} {b.get('type')}" if b is not None else ABSENT))
            continue
        decorators = _decorators(b)
        bicep_type = b["type"]
        if "secure" in decorators and bicep_type in ("string", "object"):
            bicep_type = "secure" + bicep_type
        if str(a.get("type", "")).lower() != str(bicep_type).lower():
            diffs.append(Difference(f"{path}.type", a.get("type"), bicep_type))
        compare_values(arm_value(a["defaultValue"]) if "defaultValue" in a else ABSENT,
                       bicep.value(b["default"]) if b.get("default") is not None else ABSENT,
                       f"{path}.default", diffs)
        compare_values((a.get("metadata") or {}).get("description", ABSENT),
                       bicep.value(decorators["description"]) if "description" in decorators else ABSENT,
                       f"{path}.description", diffs)
        for decorator, arm_name in _PARAM_DECORATORS.items():
            compare_values(arm_value(a[arm_name]) if arm_name in a else ABSENT,
                           bicep.value(decorators[decorator]) if decorator in decorators else ABSENT,
                           f"{path}.{arm_name}", diffs)
        for extra in sorted(set(a) - {"type", "defaultValue", "metadata", *_PARAM_DECORATORS.values()}):
            diffs.append(Difference(f"{path}.{extra}", a[extra], _NOT_COMPARED))
        for extra in sorted(set(a.get("metadata") or {}) - {"description"}):
            diffs.append(Difference(f"{path}.metadata.{extra}", a["metadata"][extra], _NOT_COMPARED))
        for extra in sorted(set(decorators) - {"description", "secure", *_PARAM_DECORATORS}):
            diffs.append(Difference(f"{path}.@{extra}", _NOT_COMPARED, decorators[extra]))


def _show(name) -> str:
    return repr(name) if isinstance(name, str) else f"[{name.arm}]" if isinstance(name, Expression) else repr(name)


def _key_part(value):
    """A canonical value as part of a resource's identity (hashable, Unsupported never matching)."""
    if value is None or isinstance(value, (str, Expression)):
        return value
    return f"<{value!r} #{id(value)}>"


def _describe(key) -> str:
    rtype, name, scope = key
    return f"{rtype} {_show(name)}" + (f" on {_show(scope)}" if scope is not None else "")


def _compare_resources(arm_resources: list, bicep: BicepFile, diffs: list[Difference]) -> None:
    # a resource is its type, full name and, for an extension resource (a lock, a diagnostic setting, a role
    # assignment), the resource it applies to
    arm_by_key: dict = {}
    for r in arm_resources:
        key = (r.get("type"), _key_part(arm_value(r.get("name"))),
               _key_part(arm_value(r["scope"])) if "scope" in r else None)
        if key in arm_by_key:
            diffs.append(Difference(f"resources ({_describe(key)})", "declared twice", "-"))
        arm_by_key[key] = r
    matched = set()
    for symbol, decl in bicep.resources.items():
        name = bicep.name_of(symbol)
        if isinstance(name, Unsupported) or name is None:
            diffs.append(Difference(f"resources.{symbol}.name", "-", name))
            continue
        if decl.get("existing"):
            found = [k for k in arm_by_key if k[:2] == (decl["type"], name)]
            if found:
                diffs.append(Difference(f"resources.{symbol} ({decl['type']} {_show(name)})", "deployed by main.json",
                                        "declared `existing` (not deployed)"))
                matched.update(found)
            continue
        key = (decl["type"], _key_part(name), _key_part(bicep.scope_of(symbol)))
        path = f"resources.{symbol} ({_describe(key)})"
        if key not in arm_by_key:
            diffs.append(Difference(path, ABSENT, f"resource {symbol}"))
            continue
        matched.add(key)
        _compare_resource(arm_by_key[key], symbol, decl, bicep, path, diffs)
    for key in arm_by_key:
        if key not in matched:
            diffs.append(Difference(f"resources ({_describe(key)})", "deployed", ABSENT))


def resource_keys(arm: dict, bicep: BicepFile) -> tuple[list, list]:
    """The identities (type, name, scope) of the resources main.json deploys and main.bicep deploys, as text."""
    arm_keys = [_describe((r.get("type"), _key_part(arm_value(r.get("name"))),
                           _key_part(arm_value(r["scope"])) if "scope" in r else None))
                for r in arm.get("resources") or []]
    bicep_keys = [_describe((d["type"], _key_part(bicep.name_of(s)), _key_part(bicep.scope_of(s))))
                  for s, d in bicep.resources.items() if not bicep.is_existing(s)]
    bicep_keys += [_describe((DEPLOYMENT, _key_part(bicep.value((d.get("config") or {}).get("name"))), None))
                   for d in bicep.modules.values()]
    return arm_keys, bicep_keys


def _compare_resource(arm_r: dict, symbol: str, decl: dict, bicep: BicepFile, path: str,
                      diffs: list[Difference]) -> None:
    # the name and scope matched already; the references in them still count as dependencies
    if arm_r.get("apiVersion") != decl.get("api_version"):
        diffs.append(Difference(f"{path}.apiVersion", arm_r.get("apiVersion"), decl.get("api_version")))
    if decl.get("decorators"):
        diffs.append(Difference(f"{path}.decorators", _NOT_COMPARED, decl["decorators"]))
    refs: set[str] = set()
    config = dict(bicep.config_of(symbol))
    if bicep.condition_of(symbol) is not None:
        config["condition"] = bicep.condition_of(symbol)
    parent = config.pop("parent", None)
    if isinstance(parent, BicepElement) and str(parent) in bicep.resources:
        if not bicep.is_existing(str(parent)):
            refs.add(str(parent))  # the name already says which parent: nothing else to compare
    elif parent is not None:
        diffs.append(Difference(f"{path}.parent", "-", Unsupported(f"parent {parent!r}")))
    arm_body = {k: arm_value(v) for k, v in arm_r.items()
                if k not in {"type", "apiVersion", "name", "scope", "dependsOn", *ANNOTATION_KEYS}}
    bicep_body = {k: bicep.value(node, refs) for k, node in config.items() if k not in ("name", "scope", "dependsOn")}
    bicep.scope_of(symbol, refs)  # `scope: storage` (an extension resource) depends on the storage account
    bicep.value(config.get("name"), refs)  # a name like guid(workspace.id, ...) references the workspace
    compare_values(arm_body, bicep_body, path, diffs)

    explicit = config.get("dependsOn") or []
    for item in explicit if isinstance(explicit, list) else [explicit]:
        if isinstance(item, BicepElement) and str(item) in bicep.resources:
            if not bicep.is_existing(str(item)):
                refs.add(str(item))
        elif isinstance(item, BicepElement) and str(item) in bicep.modules:
            refs.add(str(item))  # a module: its deployment record (BicepFile.module_id)
        else:
            diffs.append(Difference(f"{path}.dependsOn", "-", Unsupported(f"dependsOn entry {item!r}")))
    refs.discard(symbol)
    _compare_dependencies(arm_r, refs, bicep, path, diffs)


def _compare_dependencies(arm_r: dict, refs: set[str], bicep: BicepFile, path: str, diffs: list[Difference]) -> None:
    """ARM dependsOn against the resources the Bicep declaration references (its implicit dependencies)."""
    bicep_deps = {}
    for s in refs:
        rid = bicep.module_id(s) if s in bicep.modules else bicep.id_of(s)
        bicep_deps[rid.arm if isinstance(rid, Expression) else repr(rid)] = s
    arm_deps = {}
    for entry in arm_r.get("dependsOn") or []:
        value = arm_value(entry)
        arm_deps[value.arm if isinstance(value, Expression) else f"<not a resourceId(): {entry!r}>"] = entry
    for missing in sorted(set(bicep_deps) - set(arm_deps)):
        diffs.append(Difference(f"{path}.dependsOn", ABSENT, f"references {bicep_deps[missing]} ([{missing}])"))
    for extra in sorted(set(arm_deps) - set(bicep_deps)):
        diffs.append(Difference(f"{path}.dependsOn", arm_deps[extra], "no reference to it"))


def _compare_outputs(arm_outputs: dict, bicep: BicepFile, diffs: list[Difference]) -> None:
    for name in [*arm_outputs, *(n for n in bicep.outputs if n not in arm_outputs)]:
        path = f"outputs.{name}"
        a, b = arm_outputs.get(name), bicep.outputs.get(name)
        if a is None or b is None:
            diffs.append(Difference(path, arm_value(a.get("value")) if a is not None else ABSENT,
                                    bicep.value(b.get("value")) if b is not None else ABSENT))
            continue
        if str(a.get("type", "")).lower() != str(b.get("type", "")).lower():
            diffs.append(Difference(f"{path}.type", a.get("type"), b.get("type")))
        compare_values(arm_value(a.get("value", ABSENT)) if "value" in a else ABSENT, bicep.value(b.get("value")),
                       f"{path}.value", diffs)


def compare_folder(folder: Path) -> list[Difference]:
    """Parity of folder/main.json and folder/main.bicep."""
    arm = json.loads((folder / "main.json").read_text(encoding="utf-8"))
    return compare(arm, parse_bicep(path=folder / "main.bicep"), lambda path: parse_bicep(path=folder / path))


def report(diffs: list[Difference]) -> str:
    return "\n".join(str(d) for d in diffs)
