"""Small, strict readers for request bodies and query strings."""

from __future__ import annotations

import json
import re
from typing import Any

from quart import request

from .errors import BadRequest

AGENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


async def json_object() -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        BadRequest: not JSON, or JSON that is not an object.
    """
    raw = await request.get_data(cache=True, as_text=False)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the request body is not valid JSON (UTF-8)") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


def field(data: dict[str, Any], name: str, kind: type, *, required: bool = True, default: Any = None,
          max_len: int | None = None) -> Any:  # fmt: skip
    """``data[name]`` checked to be of ``kind``.

    Raises:
        BadRequest: missing (when required), of the wrong type, or too long.
    """
    if name not in data or data[name] is None:
        if required:
            raise BadRequest(f"field {name!r} is required")
        return default
    value = data[name]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise BadRequest(f"field {name!r} must be a {kind.__name__}, not {type(value).__name__}")
    if max_len is not None and hasattr(value, "__len__") and len(value) > max_len:
        raise BadRequest(f"field {name!r} is longer than {max_len}")
    return value


def agent_id(value: str) -> str:
    if not AGENT_ID_RE.match(value):
        raise BadRequest(f"agent id {value[:64]!r} is not valid (letters, digits, . _ : -; at most 128)")
    return value
