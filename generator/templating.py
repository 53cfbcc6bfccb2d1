"""What both renderers share: the one Jinja environment recipe (DESIGN.md section 3) and the header line every
generated file opens with. The ARM and Bicep renderers depend on this module, never on each other."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jinja2

from generator import DO_NOT_EDIT, GENERATED_BY
from generator.resources import template_text


def header(source: str) -> str:
    """The line every generated template opens with (ARM metadata, Bicep comment and metadata)."""
    return f"{GENERATED_BY}{source}. {DO_NOT_EDIT}"


def make_environment(loader_prefix: str, filters) -> jinja2.Environment:
    """Fragments from templates/<loader_prefix>/ only; undefined values are errors; no autoescape (the filters
    are the one way a value enters a fragment); every template compiled once and cached by Jinja. `filters`
    names the filters: each records its value as a placeholder (see fragment()); the renderer applies it."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: template_text(f"{loader_prefix}/{name}")),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, auto_reload=False, cache_size=-1,
    )
    env.filters.update({name: _recording(name) for name in filters})
    return env


# --- fragments compiled once -------------------------------------------------------------------------------------
# Speed: rendering a fragment through Jinja for each resource (a new context, a filter call and a json.dumps per
# value, then json.loads of the text) was most of the time `generate` took. A fragment has no control flow
# (DESIGN.md section 3): only `{{ r.<attr> | filter }}` and `{{ v.<key> | filter }}`, so its text is the same for
# every resource but for the filtered values. It is rendered once with placeholders (the filters record which
# value goes where, and with which filter and arguments); a renderer then looks each value up for a resource
# (as Jinja does, StrictUndefined included) and applies the same filter to it.

MARK = "\x00"  # a placeholder is MARK + its index + MARK: no fragment text holds a NUL character
MARK_SPLIT = re.compile(f"{MARK}(\\d+){MARK}")  # re.split: text, index, text, index, ..., text


class _Path:
    """What `r` and `v` are while a fragment is compiled: each attribute read extends the path."""

    __slots__ = ("_amlgen_path",)

    def __init__(self, path: tuple):
        object.__setattr__(self, "_amlgen_path", path)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Path(self._amlgen_path + (name,))

    def __getitem__(self, key):
        return _Path(self._amlgen_path + (key,))

    def _amlgen_refuse(self, *args):
        raise jinja2.TemplateError(f"'{'.'.join(map(str, self._amlgen_path))}' is used other than through a "
                                   "filter: a fragment holds only `{{ r.<attr> | filter }}` and "
                                   "`{{ v.<key> | filter }}` (DESIGN.md section 3)")

    __str__ = __bool__ = __iter__ = __len__ = __eq__ = __lt__ = __add__ = __call__ = _amlgen_refuse
    __hash__ = None


def _recording(filter_name: str):
    @jinja2.pass_context
    def record(context, value, *args, **kwargs):
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()
        if kwargs:
            raise jinja2.TemplateError(f"the {filter_name} filter takes its arguments by position")
        slots = context["_amlgen_slots"]
        slots.append((value._amlgen_path if isinstance(value, _Path) else None, value, filter_name, args))
        return f"{MARK}{len(slots) - 1}{MARK}"
    return record


@dataclass(frozen=True, eq=False)  # eq=False: hashed by identity (a renderer caches per fragment)
class Fragment:
    """A fragment rendered with placeholders: its text and, for each placeholder, where its value is read
    (("r"|"v", attr, ...), or None for a constant), the constant, the filter's name and its arguments."""

    text: str
    slots: tuple

    def values(self, env: jinja2.Environment, resource) -> list:
        """Each slot's value for `resource`, read the way Jinja reads `r.x` / `v.x` (an undefined one raises)."""
        roots = {"r": resource, "v": resource.values}
        values = resource.values
        out = []
        for path, constant, _, _ in self.slots:
            if path is None:
                out.append(constant)
                continue
            if len(path) == 2 and path[0] == "v" and path[1] in values and not hasattr(dict, path[1]):
                out.append(values[path[1]])  # what Jinja's getattr finds too, without its two lookups
                continue
            value = roots[path[0]]
            for name in path[1:]:
                value = env.getattr(value, name)
                if isinstance(value, jinja2.Undefined):
                    value._fail_with_undefined_error()
            out.append(value)
        return out


_COMPILED: dict = {}  # (environment, fragment name) -> Fragment; keyed on the environment so an overlay recompiles


def fragment(env: jinja2.Environment, name: str) -> Fragment:
    """The fragment `name`, compiled once per environment (jinja2.TemplateError when it cannot be)."""
    key = (env, name)
    found = _COMPILED.get(key)
    if found is None:
        slots: list = []
        text = env.get_template(name).render(r=_Path(("r",)), v=_Path(("v",)), _amlgen_slots=slots)
        found = _COMPILED[key] = Fragment(text, tuple(slots))
    return found
