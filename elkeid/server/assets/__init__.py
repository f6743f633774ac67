"""The server's asset inventory: snapshots assembled and applied per agent and type, the change
feed, derived change records for the rule engine, searches, and version ordering.

Layering: ``_versions`` (dpkg / rpm / PEP 440 ordering) and ``_policy`` (per type:
key, label, what counts as a change) <- ``_snapshot`` (the rules a snapshot is
applied by) and ``_assembler`` (records -> snapshots, bounded) <- ``_inventory``
(the service) ; ``_filters`` reads search filters for the API.
"""

from ._assembler import Assembler
from ._filters import OPS, Comparison, Filters, parse_filters
from ._inventory import AssetInventory
from ._policy import POLICIES, Policy, policy_for
from ._snapshot import Snapshot, derived_fields, plan_snapshot
from ._versions import SCHEMES, VersionSyntax, rpm_evr_compare, rpmvercmp, scheme_for, version_compare
from .errors import AssetError, FilterError

__all__ = ["OPS", "POLICIES", "SCHEMES", "AssetError", "AssetInventory", "Assembler", "Comparison", "FilterError",
           "Filters", "Policy", "Snapshot", "VersionSyntax", "derived_fields", "parse_filters", "plan_snapshot",
           "policy_for", "rpm_evr_compare", "rpmvercmp", "scheme_for", "version_compare"]  # fmt: skip
