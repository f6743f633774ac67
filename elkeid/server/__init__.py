"""``elkeid server``: agent center, service discovery, manager, rule engine and console in one process."""

from .app import ServerContext, ensure_admin, open_store, run_server

__all__ = ["ServerContext", "ensure_admin", "open_store", "run_server"]
