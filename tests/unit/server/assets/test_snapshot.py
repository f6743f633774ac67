"""The rules a snapshot is applied by, without a database: what is inserted, touched, removed, reported."""

from __future__ import annotations

from elkeid import datatypes
from elkeid.server.assets import POLICIES, Snapshot, derived_fields, plan_snapshot
from elkeid.server.assets._snapshot import differing
from elkeid.server.store import StoredAsset

KMOD, VOLUME = POLICIES[datatypes.ASSET_KMOD], POLICIES[datatypes.ASSET_VOLUME]


def snap(mode: str, records: list[dict], dt: int = datatypes.ASSET_KMOD) -> Snapshot:
    status = {"replace": "complete", "merge": "partial", "keep": "failed"}[mode]
    return Snapshot("a", dt, "seq", status, mode, 100.0, len(records), records=records, received=len(records))


def stored(policy, *items: dict) -> dict[str, StoredAsset]:
    return {policy.key_hash(f): StoredAsset(i, f, 1.0) for i, f in enumerate(items, 1)}


def test_replace_inserts_updates_touches_and_deletes_and_reports_after_the_baseline():
    old = stored(KMOD, {"name": "ext4", "size": "1"}, {"name": "gone", "size": "1"}, {"name": "same", "size": "1"})
    records = [{"name": "ext4", "size": "2"}, {"name": "same", "size": "1"}, {"name": "rootkit", "size": "9"}]
    plan = plan_snapshot(KMOD, snap("replace", records), old, {"baseline_at": 50.0})
    assert [r["fields"]["name"] for r in plan.insert] == ["rootkit"]
    assert [u["id"] for u in plan.update] == [1] and plan.delete == [2] and plan.touch_all
    assert [(c["change"], c["key"]) for c in plan.changes] == [
        ("added", {"name": "rootkit"}), ("changed", {"name": "ext4"}), ("removed", {"name": "gone"})]
    added = derived_fields(KMOD, plan.changes[0], "seq")
    assert added == {"name": "rootkit", "size": "9", "package_seq": "seq", "change": "added"}
    assert derived_fields(KMOD, plan.changes[1], "seq")["previous_size"] == "1"
    assert derived_fields(KMOD, plan.changes[2], "seq")["change"] == "removed"


def test_without_a_baseline_nothing_is_reported_and_replace_sets_it():
    plan = plan_snapshot(KMOD, snap("replace", [{"name": "ext4"}]), {}, None)
    assert plan.changes == [] and plan.snapshot["baseline_at"] == 100.0
    plan = plan_snapshot(KMOD, snap("merge", [{"name": "ext4"}]), {}, None)
    assert plan.changes == [] and plan.snapshot["baseline_at"] is None


def test_merge_never_deletes_and_keep_changes_nothing():
    old = stored(KMOD, {"name": "ext4"})
    plan = plan_snapshot(KMOD, snap("merge", [{"name": "xfs"}]), old, {"baseline_at": 1.0})
    assert plan.delete == [] and not plan.touch_all and len(plan.insert) == 1
    plan = plan_snapshot(KMOD, snap("keep", []), old, {"baseline_at": 1.0})
    assert (plan.insert, plan.update, plan.delete, plan.touch, plan.changes) == ([], [], [], [], [])
    assert plan.snapshot["status"] == "failed"


def test_volatile_fields_update_the_item_silently_and_unfed_types_never_report():
    old = stored(KMOD, {"name": "ext4", "refcount": "1", "used_by": "a"})
    plan = plan_snapshot(KMOD, snap("replace", [{"name": "ext4", "refcount": "7", "used_by": "b"}]), old,
                         {"baseline_at": 1.0})  # fmt: skip
    assert len(plan.update) == 1 and plan.changes == []
    old = stored(VOLUME, {"mount_point": "/", "used": "1"})
    plan = plan_snapshot(VOLUME, snap("replace", [{"mount_point": "/srv"}], datatypes.ASSET_VOLUME), old,
                         {"baseline_at": 1.0})  # fmt: skip
    assert plan.changes == [] and plan.delete == [1]


def test_differing_lists_declared_fields_first_then_extra_ones():
    before, after = {"state": "Live", "name": "x", "zz": "1"}, {"state": "Live (OE)", "name": "x", "zz": "2"}
    assert differing(KMOD, before, after) == ["state", "zz"]
