"""What happens to records once the agent center has decoded them.

The servicer hands each batch to the :class:`BatchWriter`, which stores batches
from every agent in shared transactions and then tells each servicer its batch
is durable, so it can send ``ack_seq`` (PROTOCOL.md).
"""

from ._batch import Batch, BatchWriter

__all__ = ["Batch", "BatchWriter"]
