"""Field declarations shared by several routes (names, tags, ids, agent filters)."""

from __future__ import annotations

from dataclasses import replace

from elkeid.server.store import ROLES

from ._spec import Field
from ._validate import AGENT_ID_RE

USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}"
USERNAME = Field("username", "string", required=True, pattern=USERNAME_PATTERN,
                 hint="letters, digits and . _ @ -, at most 64, starting with a letter or digit")  # fmt: skip
PASSWORD = Field("password", "string", required=True, max_len=1024, description="at least 8 characters")
ROLE = Field("role", "string", choices=ROLES, description="admin > analyst > viewer")

TAG_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,63}"
TAG = Field("tag", "string", pattern=TAG_PATTERN,
            hint="letters, digits and . _ : / = + -, at most 64, starting with a letter or digit")  # fmt: skip
TAGS = Field("tags", "array", items=TAG, max_len=100)

AGENT_ID = Field("agent_id", "string", pattern=AGENT_ID_RE.pattern.strip("^$"),
                 hint="letters, digits and . _ : -, at most 128")  # fmt: skip
#: Values of heartbeat fields (platform, platform_family, arch) and versions.
_WORD = dict(pattern=r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}", hint="letters, digits and . _ + ~ -, at most 64")
PLATFORM_FIELDS = (
    Field("platform", "string", description="e.g. debian, ubuntu, centos (from the last heartbeat)", **_WORD),
    Field("platform_family", "string", description="e.g. debian, rhel (from the last heartbeat)", **_WORD),
    Field("arch", "string", description="e.g. x86_64, aarch64 (from the last heartbeat)", **_WORD),
)

#: The agent filter, shared by the agent list (query string) and task targets (JSON).
AGENT_FILTER = (
    Field("online", "boolean", description="online now, or offline"),
    Field("status", "string", choices=("enrolled", "revoked")),
    Field("hostname", "string", max_len=255, description="case-insensitive substring of the host name"),
    Field("ip", "string", pattern=r"[0-9A-Fa-f.:]{1,45}", hint="digits, hex letters, dots and colons",
          description="substring of any of the agent's addresses"),
    Field("tag", "array", items=TAG, max_len=100, description="has every one of these tags"),
    *PLATFORM_FIELDS,
    Field("version", "string", description="agent version", **_WORD),
    Field("id", "array", items=replace(AGENT_ID, name="id"), max_len=1000, description="one of these agent ids"),
)  # fmt: skip
