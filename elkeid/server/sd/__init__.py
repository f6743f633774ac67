"""Service discovery: the /registry API, stored in the database, and this server's own announcements.

Several servers on one PostgreSQL see one registry; an instance unheard of for
45 s is unhealthy (left out of answers), for 105 s evicted.
"""

from ._announce import AC_SERVICE, MANAGER_SERVICE, REGISTER_EVERY, announce, own_instances
from ._api import bp
from ._credential import CLUSTER_TOKEN_FILE, credential_matches, load_or_create_cluster_token

__all__ = [
    "AC_SERVICE",
    "CLUSTER_TOKEN_FILE",
    "MANAGER_SERVICE",
    "REGISTER_EVERY",
    "announce",
    "bp",
    "credential_matches",
    "load_or_create_cluster_token",
    "own_instances",
]
