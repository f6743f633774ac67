"""Declared request shapes: one spec both validates a request and documents it.

A route says what it accepts with :func:`accepts` (a JSON body, query
parameters, or a multipart form, each a tuple of :class:`Field`). The same
objects check the request (400 with the field's name and the rule it broke)
and produce the JSON Schema in the OpenAPI document (``_openapi.py``), so the
document cannot drift from what the server enforces.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from quart import request

from ._validate import json_object
from .errors import BadRequest

_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict,
}  # fmt: skip
#: Largest list accepted in a query string or body (ids, tags).
MAX_LIST = 1000


@dataclass(frozen=True)
class Field:
    """One field of a body, form or query string.

    ``pattern`` must match the whole value (Python and JSON Schema alike);
    ``hint`` says in words what the pattern allows, for error messages. ``fields``
    describes a nested object, ``items`` the elements of an array.
    """

    name: str
    type: str
    required: bool = False
    description: str = ""
    default: Any = None
    max_len: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    hint: str = ""
    choices: tuple[Any, ...] | None = None
    items: Field | None = None
    fields: tuple[Field, ...] | None = None
    _rx: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type not in _PY_TYPES and self.type != "file":
            raise ValueError(f"field {self.name!r}: unknown type {self.type!r}")
        if self.pattern:
            object.__setattr__(self, "_rx", re.compile(self.pattern))

    # --- validation -------------------------------------------------------------------
    def check(self, value: Any, name: str, what: str = "field") -> Any:
        """``value`` if it obeys this field, else BadRequest naming it (``what name``, e.g. "field targets.tags[2]")."""
        path = f"{what} {name}"
        kind = _PY_TYPES.get(self.type, bytes)
        if isinstance(value, bool) and self.type in ("integer", "number") or not isinstance(value, kind):
            raise BadRequest(f"{path} must be {_article(self.type)}, not {_json_type(value)}")
        if isinstance(value, str) and "\0" in value:
            # PostgreSQL cannot store NUL in text, and no name or filter of ours needs it.
            raise BadRequest(f"{path} must not contain NUL characters")
        if self.max_len is not None and len(value) > self.max_len:
            unit = "items" if self.type == "array" else "bytes" if self.type == "file" else "characters"
            raise BadRequest(f"{path} is too long: at most {self.max_len} {unit}")
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            raise BadRequest(f"{path} must be {_range(self.minimum, self.maximum)}, not {value}")
        if self._rx is not None and not self._rx.fullmatch(value):
            raise BadRequest(f"{path} {_show(value)} is not valid" + (f": {self.hint}" if self.hint else ""))
        if self.choices is not None and value not in self.choices:
            raise BadRequest(f"{path} must be one of {', '.join(map(str, self.choices))}, not {_show(value)}")
        if self.items is not None:
            value = [self.items.check(v, f"{name}[{i}]", what) for i, v in enumerate(value)]
        if self.fields is not None:
            value = check_object(self.fields, value, f"{name}.")
        return value

    # --- documentation ----------------------------------------------------------------
    def schema(self) -> dict[str, Any]:
        if self.type == "file":
            out: dict[str, Any] = {"type": "string", "format": "binary"}
        else:
            out = {"type": self.type}
        if self.description:
            out["description"] = self.description
        if self.default is not None:
            out["default"] = self.default
        if self.max_len is not None and self.type != "file":
            out["maxItems" if self.type == "array" else "maxLength"] = self.max_len
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.pattern:
            out["pattern"] = f"^(?:{self.pattern})$"
        if self.choices is not None:
            out["enum"] = list(self.choices)
        if self.items is not None:
            out["items"] = self.items.schema()
        if self.fields is not None:
            out.update(object_schema(self.fields))
        return out


def check_object(fields: tuple[Field, ...], data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``data`` checked against ``fields``: unknown keys refused, defaults filled in."""
    known = {f.name: f for f in fields}
    unknown = [k for k in data if k not in known]
    if unknown:
        raise BadRequest(f"unknown field {prefix}{_show(unknown[0])}; expected {', '.join(sorted(known))}")
    out: dict[str, Any] = {}
    for f in fields:
        value = data.get(f.name)
        if value is None:
            if f.required:
                raise BadRequest(f"field {prefix}{f.name} is required")
            out[f.name] = f.default
            continue
        out[f.name] = f.check(value, prefix + f.name)
    return out


def object_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: f.schema() for f in fields},
        "additionalProperties": False,
    }
    required = [f.name for f in fields if f.required]
    if required:
        out["required"] = required
    return out


def parse_query(params: tuple[Field, ...], args) -> dict[str, Any]:
    """Query parameters (a MultiDict) converted to their declared types.

    Arrays may be given as repeated parameters or comma-separated.
    """
    known = {p.name: p for p in params}
    for key in args.keys():
        if key not in known:
            raise BadRequest(f"unknown query parameter {_show(key)}; expected {', '.join(sorted(known)) or 'none'}")
    out: dict[str, Any] = {}
    for p in params:
        raw = args.getlist(p.name)
        if not raw:
            if p.required:
                raise BadRequest(f"query parameter {p.name} is required")
            out[p.name] = p.default
            continue
        path = f"query parameter {p.name}"
        if p.type == "array":
            items = [part for text in raw for part in text.split(",") if part]
            if len(items) > MAX_LIST:
                raise BadRequest(f"{path} lists more than {MAX_LIST} values")
            out[p.name] = p.check(items, p.name, "query parameter")
            continue
        if len(raw) > 1:
            raise BadRequest(f"{path} is given {len(raw)} times; give it once")
        out[p.name] = p.check(_convert(p, raw[0], path), p.name, "query parameter")
    return out


def _convert(p: Field, text: str, path: str) -> Any:
    try:
        if p.type == "integer":
            if not re.fullmatch(r"-?\d{1,18}", text.strip()):
                raise ValueError
            return int(text)
        if p.type == "number":
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
    except ValueError:
        raise BadRequest(f"{path} must be {_article(p.type)}, not {_show(text)}") from None
    if p.type == "boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise BadRequest(f"{path} must be true or false, not {_show(text)}")
        return lowered in ("true", "1")
    return text


@dataclass(frozen=True)
class Spec:
    """What a route accepts (attached to the view function as ``api_spec``)."""

    body: tuple[Field, ...] | None = None
    query: tuple[Field, ...] | None = None
    form: tuple[Field, ...] | None = None
    status: int = 200
    returns: str | None = None  # a schema name in the OpenAPI components


def accepts(*, body: tuple[Field, ...] | None = None, query: tuple[Field, ...] | None = None,
            form: tuple[Field, ...] | None = None, status: int = 200, returns: str | None = None) -> Callable:  # fmt: skip
    """Route decorator: validate the request and pass ``body=``, ``query=`` or ``form=`` to the view.

    Put it under :func:`requires`, so an unauthenticated caller gets 401 before any 400.
    """
    spec = Spec(body=body, query=query, form=form, status=status, returns=returns)

    def wrap(fn: Callable[..., Awaitable]) -> Callable[..., Awaitable]:
        @functools.wraps(fn)
        async def inner(*args, **kwargs):
            if query is not None:
                kwargs["query"] = parse_query(query, request.args)
            if body is not None:
                kwargs["body"] = check_object(body, await json_object())
            if form is not None:
                kwargs["form"] = await _read_form(form)
            return await fn(*args, **kwargs)

        inner.api_spec = spec  # type: ignore[attr-defined]
        return inner

    return wrap


async def _read_form(fields: tuple[Field, ...]) -> dict[str, Any]:
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise BadRequest("send this as multipart/form-data (for example curl -F file=@PATH -F name=...)")
    form, files = await request.form, await request.files
    data: dict[str, Any] = {}
    for key in form.keys():
        data[key] = form.get(key)
    for key in files.keys():
        storage = files.get(key)
        data[key] = storage.read()
    return check_object(fields, data)


def page_params(max_size: int, default_size: int = 50) -> tuple[Field, Field]:
    """``page`` (from 1) and ``page_size`` (1..max_size) query parameters."""
    return (
        Field("page", "integer", default=1, minimum=1, maximum=1_000_000, description="page number, from 1"),
        Field("page_size", "integer", default=default_size, minimum=1, maximum=max_size,
              description=f"items per page, at most {max_size}"),
    )  # fmt: skip


def page_window(query: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) for the page asked for."""
    return (query["page"] - 1) * query["page_size"], query["page_size"]


def paged(items: list, total: int, query: dict[str, Any]) -> dict[str, Any]:
    return {"items": items, "total": total, "page": query["page"], "page_size": query["page_size"]}


def _article(type_name: str) -> str:
    return {"integer": "an integer", "object": "an object", "array": "an array", "file": "a file"}.get(
        type_name, f"a {type_name}"
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return _article({str: "string", int: "integer", float: "number", list: "array", dict: "object",
                     bytes: "file"}.get(type(value), type(value).__name__))  # fmt: skip


def _range(low: float | None, high: float | None) -> str:
    if low is None:
        return f"at most {_n(high)}"
    if high is None:
        return f"at least {_n(low)}"
    return f"between {_n(low)} and {_n(high)}"


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
