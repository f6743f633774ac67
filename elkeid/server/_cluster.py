"""Several servers on one database: the checks that make them one cluster.

Servers sharing a PostgreSQL database (DESIGN.md) must share one CA: an agent
pins the CA it enrolled with and is sent by service discovery to whichever
server is least loaded, so every server's certificate, and every agent
certificate any of them issued, must chain to the same CA. The database
records the CA fingerprint of the first server that used it; a server with
another CA refuses to start, saying which files to copy.
"""

from __future__ import annotations

import logging

from elkeid.pki import PKIError
from elkeid.server.store import Store

log = logging.getLogger(__name__)

#: The settings key holding the SHA-256 fingerprint of the cluster's CA.
CA_SETTING = "cluster.ca_sha256"
#: Files of ``pki/`` a joining server needs from an existing one (the rest it makes itself).
SHARED_PKI_FILES = ("ca.crt", "ca.key", "signing.key", "cluster.token")


def check_cluster_ca(store: Store, fingerprint: str, pki_dir, *, adopt: bool = False) -> None:
    """Record ``fingerprint`` as the database's CA on first use; refuse a different one.

    Raises:
        PKIError: the database belongs to servers with another CA (and ``adopt`` is false).
    """
    recorded = store.get_setting(CA_SETTING)
    if recorded == fingerprint:
        return
    if recorded is None or adopt:
        if recorded is not None:
            log.warning("adopting CA %s for this database in place of %s (--adopt-ca): agents enrolled under "
                        "the old CA must re-enroll", fingerprint, recorded)  # fmt: skip
        store.set_setting(CA_SETTING, fingerprint)
        return
    raise PKIError(
        f"this database is used by servers whose CA has SHA-256 {recorded}, but {pki_dir} holds a CA with "
        f"SHA-256 {fingerprint}; agents of that cluster could not trust this server. To join the cluster, stop "
        f"this server, copy {', '.join(SHARED_PKI_FILES)} from an existing server's pki/ directory into "
        f"{pki_dir} (its server certificate is then re-issued under that CA), and start again. To make "
        "this CA the database's CA instead (every enrolled agent must then re-enroll), start once with --adopt-ca."
    )
