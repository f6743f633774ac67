"""What happens to records once the agent center has decoded them.

The servicer hands each batch to the :class:`BatchWriter`, which stores batches
from every agent in shared transactions and then tells each servicer its batch
is durable, so it can send ``ack_seq`` (PROTOCOL.md). :func:`run_retention`
keeps the recent-event store within its retention and size cap.
"""

from ._batch import Batch, BatchWriter, Chain
from ._retention import prune_interval, run_retention
from ._streams import each_soon, receive_soon, send_soon
from .errors import PipelineError, StorageFailed

__all__ = [
    "Batch",
    "BatchWriter",
    "Chain",
    "PipelineError",
    "StorageFailed",
    "each_soon",
    "prune_interval",
    "receive_soon",
    "run_retention",
    "send_soon",
]
