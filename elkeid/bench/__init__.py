"""Load generators that measure a running server (``elkeid bench ...``); see docs/benchmarks.md.

Only the command's entry points are here: the generators themselves
(``_loadgen``, ``_identities``) are imported when a benchmark runs, so
registering the subcommand costs every other ``elkeid`` command nothing.
"""

from ._cli import add_parser, run

__all__ = ["add_parser", "run"]
