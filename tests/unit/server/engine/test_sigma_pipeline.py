from __future__ import annotations

from elkeid import datatypes
from elkeid.server.engine._sigma_pipeline import CATEGORIES, UNMAPPABLE_FIELDS, elkeid_pipeline


def test_every_mapped_field_is_declared_for_its_data_type():
    for category, (number, mapping) in CATEGORIES.items():
        declared = set(datatypes.get(number).fields)
        assert set(mapping.values()) <= declared, (category, set(mapping.values()) - declared)


def test_unmappable_fields_are_not_mapped_anywhere():
    mapped = {f for _, mapping in CATEGORIES.values() for f in mapping}
    assert set(UNMAPPABLE_FIELDS) & mapped == {"DestinationHostname"}  # mapped for DNS queries only
    assert "DestinationHostname" not in CATEGORIES["network_connection"][1]


def test_each_load_gets_a_fresh_pipeline():
    assert elkeid_pipeline() is not elkeid_pipeline()
