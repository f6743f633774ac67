"""Asset inventory errors.

    AssetError
    └── FilterError     a field filter names an unknown field or operator, or a value its field cannot take
"""


class AssetError(Exception):
    """Root of every asset inventory error."""


class FilterError(AssetError, ValueError):
    """A field filter of an inventory search is not valid; the message says which and why."""
