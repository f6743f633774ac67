"""5059 network interfaces: links and their addresses, from rtnetlink (pyroute2 ``IPRoute``).

``addrs`` is every address of the link as ``ip/prefixlen``, comma-joined;
``state`` is the kernel's operational state (UP, DOWN, UNKNOWN …).

Error handling: a netlink failure becomes :class:`SourceError`.
"""

from __future__ import annotations

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ._host import Host
from .errors import SourceError


def collect_interfaces(host: Host) -> list[dict[str, str]]:
    try:
        with IPRoute() as ipr:
            links = ipr.get_links()
            addrs = ipr.get_addr()
    except (NetlinkError, OSError) as exc:
        raise SourceError(f"rtnetlink query failed: {exc}") from exc
    by_index: dict[int, list[str]] = {}
    for a in addrs:
        ip = a.get_attr("IFA_ADDRESS") or a.get_attr("IFA_LOCAL")
        if ip:
            by_index.setdefault(a["index"], []).append(f"{ip}/{a['prefixlen']}")
    records = []
    for link in links:
        records.append({
            "name": link.get_attr("IFLA_IFNAME") or "", "hardware_addr": link.get_attr("IFLA_ADDRESS") or "",
            "addrs": ",".join(by_index.get(link["index"], [])), "mtu": str(link.get_attr("IFLA_MTU") or 0),
            "index": str(link["index"]), "state": link.get_attr("IFLA_OPERSTATE") or "",
        })  # fmt: skip
    return records
