"""The task form: what the console offers to run, turned into a ``POST /api/v1/tasks`` body.

Kinds of task (what a person means, rather than numbers):

- ``collector``: an asset snapshot now (plugin ``collector``, 5100 with ``{"types": [...]}``;
  no type chosen means every type; docs/assets.md);
- ``driver``: driver control (plugin ``driver``, 902: status, allowlist, options; docs/driver.md);
- ``idc``: set the agent's idc and region (core task 1051); ``shutdown``: stop the agent (1060);
- ``raw``: any object_name, data_type and data, for experts.

Targets: the hosts chosen (agent ids), hosts with any of some tags, or a filter
(every criterion; empty = every enrolled host).

Only the form's shape is checked here (a number is a number, a JSON object is
one); the values are checked by the API route's own spec when the console
calls it, with the same messages as the API gives.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from elkeid import datatypes
from elkeid.server.manager import CORE_OBJECT

from .errors import BadForm

COLLECTOR, DRIVER = "collector", "driver"  # the built-in plugins' names (object_name of their tasks)
KINDS = {
    "collector": "Asset snapshot (collector)",
    "driver": "Driver control",
    "idc": "Set idc / region (agent)",
    "shutdown": "Shut the agent down",
    "raw": "Raw task (expert)",
}
#: What the collector collects (its Tasks accept these, by name or number).
COLLECTOR_TYPES = tuple(datatypes.get(n) for n in (
    datatypes.ASSET_PROCESS, datatypes.ASSET_LISTEN_PORT, datatypes.ASSET_USER, datatypes.ASSET_CRON,
    datatypes.ASSET_SERVICE, datatypes.ASSET_SOFTWARE, datatypes.ASSET_CONTAINER, datatypes.ASSET_VOLUME,
    datatypes.ASSET_NIC, datatypes.ASSET_APP, datatypes.ASSET_KMOD,
))  # fmt: skip
DRIVER_ACTIONS = {
    "status": "status: effective options and counters",
    "allowlist.add": "allowlist.add: mute these executables / command lines",
    "allowlist.remove": "allowlist.remove",
    "allowlist.set": "allowlist.set: replace the allowlist",
    "allowlist.clear": "allowlist.clear",
    "options.set": "options.set: change driver options",
}
TARGETS = {"agents": "the hosts chosen", "tags": "hosts with any of these tags", "filter": "hosts matching a filter"}
#: Filter fields of the form (``f_<name>``) and the API's name for each.
FILTER_FIELDS = ("hostname", "ip", "tag", "platform", "platform_family", "arch", "version")
_SPLIT = re.compile(r"[\s,]+")
_MAX_TEXT = 65536


def split_words(text: str | None) -> list[str]:
    """Tags or names separated by commas or white space, each once, in order."""
    out: list[str] = []
    for word in _SPLIT.split((text or "")[:_MAX_TEXT]):
        if word and word not in out:
            out.append(word)
    return out


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "")[:_MAX_TEXT].splitlines() if line.strip()]


def _number(form: Mapping[str, str], name: str, kind: type, label: str) -> Any:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise BadForm(f"{label} must be {'a whole number' if kind is int else 'a number'}, not {text[:40]!r}") from None
    if kind is float and value != value:  # NaN
        raise BadForm(f"{label} must be a number")
    return value


def _json_object(text: str, label: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadForm(f"{label} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadForm(f"{label} must be a JSON object ({{...}})")
    return value


def payload(form) -> tuple[str, int, str]:
    """(object_name, data_type, data) for the form's kind of task.

    Raises:
        BadForm: an unknown kind, or a field of the wrong shape.
    """
    kind = form.get("kind") or COLLECTOR
    if kind == "collector":
        known = {dt.name for dt in COLLECTOR_TYPES}
        chosen = [t for t in form.getlist("types") if t]
        unknown = [t for t in chosen if t not in known]
        if unknown:
            raise BadForm(f"the collector has no asset type {unknown[0][:40]!r}")
        data = json.dumps({"types": chosen}) if chosen and len(chosen) < len(known) else "{}"
        return COLLECTOR, datatypes.COLLECTOR_TASK_RESULT, data
    if kind == "driver":
        action = form.get("driver_action") or "status"
        if action not in DRIVER_ACTIONS:
            raise BadForm(f"unknown driver action {action[:40]!r}; choose one of {', '.join(DRIVER_ACTIONS)}")
        data: dict[str, Any] = {"action": action}
        if action in ("allowlist.add", "allowlist.remove", "allowlist.set"):
            exe, argv = _lines(form.get("driver_exe")), _lines(form.get("driver_argv"))
            if not exe and not argv and action != "allowlist.set":
                raise BadForm(f"{action} needs at least one executable path or command line")
            data.update({k: v for k, v in (("exe", exe), ("argv", argv)) if v})
        elif action == "options.set":
            text = (form.get("driver_options") or "").strip()
            if not text:
                raise BadForm('options.set needs the options, as a JSON object (e.g. {"drop_loopback": false})')
            data["options"] = _json_object(text, "the driver options")
        return DRIVER, datatypes.DRIVER_CONTROL, json.dumps(data)
    if kind == "idc":
        values = {k: (form.get(k) or "").strip() for k in ("idc", "region")}
        values = {k: v for k, v in values.items() if v}
        if not values:
            raise BadForm("give an idc, a region, or both")
        return CORE_OBJECT, datatypes.TASK_SET_IDC, json.dumps(values)
    if kind == "shutdown":
        if form.get("confirm_shutdown") != "yes":
            raise BadForm("tick the box confirming that the agents are to shut down")
        return CORE_OBJECT, datatypes.TASK_SHUTDOWN, ""
    if kind == "raw":
        data_type = _number(form, "data_type", int, "data_type")
        if data_type is None:
            raise BadForm("a raw task needs its data_type")
        return (form.get("object_name") or "").strip(), data_type, form.get("data") or ""
    raise BadForm(f"unknown kind of task {kind[:40]!r}; choose one of {', '.join(KINDS)}")


def targets(form) -> dict[str, Any]:
    """The task's ``targets``: agent ids, tags, or a filter.

    Raises:
        BadForm: no host chosen, no tag given, or an unknown target mode.
    """
    mode = form.get("target") or "agents"
    if mode == "agents":
        ids = list(dict.fromkeys(a for a in form.getlist("agent_id") if a))
        if not ids:
            raise BadForm("choose at least one host (tick them on the hosts page), or target tags or a filter")
        return {"agent_ids": ids}
    if mode == "tags":
        tags = split_words(form.get("tags"))
        if not tags:
            raise BadForm("name at least one tag")
        return {"tags": tags}
    if mode == "filter":
        flt: dict[str, Any] = {}
        online = form.get("f_online") or ""
        if online not in ("", "yes", "no"):
            raise BadForm("online must be yes, no or blank")
        if online:
            flt["online"] = online == "yes"
        for name in FILTER_FIELDS:
            value = (form.get(f"f_{name}") or "").strip()
            if value:
                flt[name] = split_words(value) if name == "tag" else value
        return {"filter": flt}
    raise BadForm(f"unknown target {mode[:40]!r}; choose one of {', '.join(TARGETS)}")


def task_body(form) -> dict[str, Any]:
    """The ``POST /api/v1/tasks`` body for a submitted task form (a MultiDict).

    Raises:
        BadForm: see :func:`payload` and :func:`targets`; a number field that is not one.
    """
    object_name, data_type, data = payload(form)
    body: dict[str, Any] = {"name": (form.get("name") or "").strip(), "object_name": object_name,
                            "data_type": data_type, "data": data, "targets": targets(form)}  # fmt: skip
    for name, kind in (("concurrency", int), ("wait_timeout", float), ("result_timeout", float)):
        value = _number(form, name, kind, name.replace("_", " "))
        if value is not None:
            body[name] = value
    return body
