"""The pySigma processing pipeline from Sigma's Linux log sources to our events.

It runs on each parsed Sigma rule before conversion and:

1. refuses log sources we do not collect (only product ``linux`` with the
   categories in :data:`CATEGORIES`);
2. drops ``Initiated: 'true'`` on ``network_connection`` (every connect event is outbound);
3. sends ``network_connection`` rules that match a ``DestinationHostname`` but
   no address or port to DNS query events: a connect event carries no host
   name, the query that resolved it does;
4. records the data_type of the category in the pipeline state (``data_type``);
5. renames Sigma's fields to ours (:data:`CATEGORIES`, documented in docs/sigma.md);
6. refuses any field that our events of that data_type do not carry, saying why.

A refusal raises pySigma's ``SigmaTransformationError``; the converter lists
the rule as not mappable with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigma.exceptions import SigmaTransformationError
from sigma.processing.conditions import LogsourceCondition, RuleProcessingCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    ChangeLogsourceTransformation,
    FieldMappingTransformation,
    PreprocessingTransformation,
    SetStateTransformation,
)
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaBool, SigmaFieldReference, SigmaString

from elkeid import datatypes

from ._model import EVENT_KEYS

_PROCESS = {"Image": "exe", "CommandLine": "argv", "ParentImage": "p_exe", "ParentCommandLine": "ppid_argv",
            "User": "username", "ProcessId": "pid", "ParentProcessId": "ppid"}  # fmt: skip

#: Sigma category (product linux) -> (our data_type, Sigma field -> our field).
CATEGORIES: dict[str, tuple[int, dict[str, str]]] = {
    "process_creation": (datatypes.EXECVE, {**_PROCESS, "CurrentDirectory": "run_path"}),
    "network_connection": (datatypes.CONNECT, {**_PROCESS, "DestinationIp": "dip", "DestinationPort": "dport",
                                               "SourceIp": "sip", "SourcePort": "sport"}),  # fmt: skip
    "file_event": (datatypes.CREATE_FILE, {**_PROCESS, "TargetFilename": "file_path"}),
    "file_rename": (datatypes.RENAME, {**_PROCESS, "SourceFilename": "old_name", "TargetFilename": "new_name"}),
    "dns_query": (datatypes.DNS_QUERY, {**_PROCESS, "QueryName": "query", "DestinationHostname": "query"}),
}

#: Why a Sigma field cannot be mapped, for the fields whose reason is worth more than "not carried".
UNMAPPABLE_FIELDS: dict[str, str] = {
    "LogonId": "Sysmon's LogonId (the login session) is not carried; our sessionid is the audit session id, "
               "a different number",
    "Hashes": "file hashes are not carried (exe_hash is Elkeid's xxHash64 of size and first 32 KiB, not MD5/SHA)",
    "OriginalFileName": "PE version information; Linux executables have none",
    "Product": "PE version information; Linux executables have none",
    "Company": "PE version information; Linux executables have none",
    "Description": "PE version information; Linux executables have none",
    "IntegrityLevel": "a Windows concept with no Linux equivalent",
    "Initiated": "connect events (42) are outbound connections; inbound ones are accept events (43)",
    "DestinationHostname": "connect events carry no host name (rules matching only the host name are checked "
                           "against DNS queries instead)",
    "Protocol": "connect events do not say tcp or udp",
}


@dataclass
class UnsupportedLogsource(PreprocessingTransformation):
    """Refuse rules for log sources we do not collect."""

    def apply(self, rule: SigmaRule) -> None:  # type: ignore[override]
        ls = rule.logsource
        parts = [f"{k} {v}" for k, v in (("product", ls.product), ("category", ls.category),
                                         ("service", ls.service)) if v]  # fmt: skip
        raise SigmaTransformationError(
            f"log source {', '.join(parts) or '(none)'} is not collected; supported: product linux with category "
            + ", ".join(CATEGORIES)
        )


@dataclass
class DropInitiatedTrue(PreprocessingTransformation):
    """Drop ``Initiated: 'true'`` items: every connect event is initiated by the host."""

    def apply(self, rule: SigmaRule) -> None:  # type: ignore[override]
        super().apply(rule)
        for detection in rule.detection.detections.values():
            self._walk(detection)

    def _walk(self, detection: SigmaDetection) -> None:
        keep = []
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                self._walk(item)
            elif item.field == "Initiated" and item.value and all(_is_true(v) for v in item.value):
                continue
            keep.append(item)
        if keep:  # an emptied detection would silently vanish from the condition: leave it to be refused
            detection.detection_items = keep


@dataclass
class RefuseUncarriedFields(DetectionItemTransformation):
    """Refuse detection items on fields our events of the rule's data_type do not carry."""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        data_type = self._pipeline.state.get("data_type") if self._pipeline is not None else None
        dt = datatypes.get(data_type) if data_type is not None else None
        carried = set(dt.fields if dt else ()) | set(EVENT_KEYS)
        names = [detection_item.field] + [v.field for v in detection_item.value if isinstance(v, SigmaFieldReference)]
        for name in names:
            if name is None:
                raise SigmaTransformationError(
                    "keyword detections (values without a field) are not supported; name the field, e.g. CommandLine"
                )
            if name not in carried:
                reason = UNMAPPABLE_FIELDS.get(name) or (
                    f"it has no counterpart in {dt.name if dt else '?'} ({data_type}) events"
                )
                raise SigmaTransformationError(f"field {name}: {reason}")


@dataclass
class HostNameOnly(RuleProcessingCondition):
    """A Linux network_connection rule that names a DestinationHostname and no address or port."""

    def match(self, rule: SigmaRule) -> bool:  # type: ignore[override]
        if not isinstance(rule, SigmaRule) or rule.logsource.product != "linux" \
                or rule.logsource.category != "network_connection":  # fmt: skip
            return False
        fields = {item.field for detection in rule.detection.detections.values() for item in _items(detection)}
        return "DestinationHostname" in fields and not fields & {"DestinationIp", "DestinationPort", "SourceIp",
                                                                 "SourcePort"}  # fmt: skip


def _items(detection: SigmaDetection) -> list[SigmaDetectionItem]:
    out = []
    for item in detection.detection_items:
        out.extend(_items(item) if isinstance(item, SigmaDetection) else [item])
    return out


def _is_true(value: object) -> bool:
    if isinstance(value, SigmaBool):
        return bool(value.boolean)
    return isinstance(value, SigmaString) and not value.contains_special() and str(value).lower() == "true"


def elkeid_pipeline() -> ProcessingPipeline:
    """A fresh pipeline (pySigma pipelines keep per-rule state: use one per load, not across threads)."""

    def linux(category: str) -> LogsourceCondition:  # a condition belongs to one item: make one each time
        return LogsourceCondition(category=category, product="linux")

    items = [
        ProcessingItem(UnsupportedLogsource(), identifier="elkeid_unsupported_logsource",
                       rule_conditions=[linux(c) for c in CATEGORIES], rule_condition_linking=any,
                       rule_condition_negation=True),
        ProcessingItem(DropInitiatedTrue(), identifier="elkeid_drop_initiated",
                       rule_conditions=[linux("network_connection")]),
        ProcessingItem(ChangeLogsourceTransformation(category="dns_query", product="linux"),
                       identifier="elkeid_hostname_to_dns", rule_conditions=[HostNameOnly()]),
    ]
    for category, (data_type, mapping) in CATEGORIES.items():
        items.append(ProcessingItem(SetStateTransformation("data_type", data_type),
                                    identifier=f"elkeid_{category}_data_type", rule_conditions=[linux(category)]))
        items.append(ProcessingItem(FieldMappingTransformation(dict(mapping)),
                                    identifier=f"elkeid_{category}_fields", rule_conditions=[linux(category)]))
    items.append(ProcessingItem(RefuseUncarriedFields(), identifier="elkeid_refuse_uncarried_fields"))
    return ProcessingPipeline(name="Elkeid in Python: Sigma (Linux) to Elkeid events", priority=20, items=items)
