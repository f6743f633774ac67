"""The catalogue of load messages: every code, its severity and its text.

Codes are stable (tools and tests match on them); texts are ``str.format``
templates. ``E1xx`` are errors (the rule or file is refused), ``W2xx`` warnings
(the rule loads, but check it), ``S3xx`` Sigma rules that load but cannot be
mapped onto our events (listed, not run).
"""

from __future__ import annotations

ERROR, WARNING, SKIPPED = "error", "warning", "skipped"

#: code -> (severity, template)
MESSAGES: dict[str, tuple[str, str]] = {
    # files
    "E100": (ERROR, "cannot read the rule file: {reason}"),
    "E101": (ERROR, "not valid YAML: {reason}"),
    "E102": (ERROR, "neither an Elkeid rule file (top-level 'rules', 'lists' or 'macros') nor a Sigma rule "
                    "('logsource' and 'detection'): {reason}"),
    "E103": (ERROR, "the file is {size} bytes, more than the limit of {limit}; split it"),
    "E104": (ERROR, "YAML anchors and aliases are not allowed in rule files (line {alias_line}); write the values out"),
    # rule shape
    "E110": (ERROR, "a rule must be a mapping of keys (id, name, severity, data_type, match ...), not {got}"),
    "E111": (ERROR, "rule {rule!r} lacks the required key {key!r}"),
    "E112": (ERROR, "{what} must be {expected}, not {got}"),
    "E113": (ERROR, "rule id {rule!r} is already defined at {where}; rule ids must be unique"),
    "E114": (ERROR, "rule id {rule!r} is not valid: use letters, digits and . _ : - (at most 128 characters)"),
    "E115": (ERROR, "unknown severity {value!r} in rule {rule!r}; use one of {choices}"),
    "E116": (ERROR, "unknown kind {value!r} in rule {rule!r}; use detection, frequency or whitelist"),
    "E117": (ERROR, "{name} {key!r} is defined twice (first at {where})"),
    # data types and fields
    "E120": (ERROR, "unknown data_type {value!r} in rule {rule!r}; use a number or a name from elkeid.datatypes "
                    "(e.g. 59 or execve)"),
    "E121": (ERROR, "rule {rule!r} names no data_type; a detection rule must say which events it reads"),
    # match trees
    "E130": (ERROR, "a condition must be a mapping with one of all, any, not, macro or field, not {got}"),
    "E131": (ERROR, "unknown operator {op!r} on field {field!r}{hint}; operators: {choices}"),
    "E132": (ERROR, "a condition on field {field!r} must have exactly one operator, found {found}"),
    "E133": (ERROR, "bad value for {op!r} on field {field!r}: {reason}"),
    "E134": (ERROR, "regex {pattern!r} on field {field!r} does not compile: {reason}"),
    "E135": (ERROR, "{value!r} on field {field!r} is not an IP network (CIDR) like 10.0.0.0/8: {reason}"),
    "E136": (ERROR, "{value!r} on field {field!r} is not a number; {op} compares numbers"),
    "E137": (ERROR, "unknown list {name!r}{hint}"),
    "E138": (ERROR, "unknown macro {name!r}{hint}"),
    "E139": (ERROR, "the match tree nests deeper than {limit} levels; flatten it"),
    "E140": (ERROR, "bad frequency block in rule {rule!r}: {reason}"),
    "E141": (ERROR, "macro {name!r} refers to itself through {chain}"),
    "E142": (ERROR, "'{key}' takes {expected}, not {got}"),
    "E143": (ERROR, "field name {field!r} is not valid: use letters, digits, _ and ."),
    "E150": (ERROR, "bad whitelist rule {rule!r}: {reason}"),
    "E160": (ERROR, "bad append block in rule {rule!r}: {reason}"),
    "E170": (ERROR, "Sigma rule not valid: {reason}"),
    "E180": (ERROR, "rule {rule!r} could not be compiled: {reason}"),
    # warnings
    "W201": (WARNING, "unknown key {key!r} in {where}{hint}; it is ignored"),
    "W202": (WARNING, "rule {rule!r} reads field {field!r}, which {type_name} ({number}) events do not carry"),
    "W203": (WARNING, "rule {rule!r} is disabled (enabled: false)"),
    "W204": (WARNING, "rule {rule!r} replaces the default rule of the same id"),
    "W205": (WARNING, "the file holds no rules"),
    "W206": (WARNING, "frequency rule {rule!r} groups by nothing: all events of every host count together"),
    "W207": (WARNING, "whitelist {rule!r} suppresses {pattern!r}, which matches no loaded rule"),
    # Sigma rules that load but cannot run on our events
    "S301": (SKIPPED, "Sigma rule {rule!r} ({title}) cannot be mapped: {reason}"),
}


def render(code: str, **params: object) -> tuple[str, str]:
    """(severity, message) for ``code`` with ``params`` filled in."""
    severity, template = MESSAGES[code]
    return severity, template.format(**params)
