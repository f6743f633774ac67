"""Built-in plugins (run as ``elkeid plugin NAME``) and the pipe protocol they speak.

``REGISTRY`` maps a plugin name to the ``module:function`` that runs it; the
function takes no arguments and returns an exit status.
"""

from ._pipe import MAX_FRAME, FrameError, encode_frame, read_frame
from ._sdk import PluginClient

REGISTRY: dict[str, str] = {
    "collector": "elkeid.agent.plugins.collector:main",
    "journal_watcher": "elkeid.agent.plugins.journal_watcher:main",
    "driver": "elkeid.agent.plugins.driver:main",
}

__all__ = ["MAX_FRAME", "REGISTRY", "FrameError", "PluginClient", "encode_frame", "read_frame"]
