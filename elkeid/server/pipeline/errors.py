"""Pipeline errors.

    PipelineError
    └── StorageFailed   a batch could not be stored; it is not acknowledged
"""


class PipelineError(Exception):
    """Root of every pipeline error."""


class StorageFailed(PipelineError):
    """A batch could not be stored (the database refused it or is unreachable)."""
