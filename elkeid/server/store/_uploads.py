"""Files agents upload over FileExt, each tied to the task token that asked for it."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update

from ._models import Upload
from .errors import Conflict, NotFound, UploadRefused

#: How long an expected upload waits for its file by default.
EXPECT_TTL = 24 * 3600.0


def _upload_dict(u: Upload) -> dict[str, Any]:
    return {"token": u.token, "agent_id": u.agent_id, "status": u.status, "max_bytes": u.max_bytes,
            "expected_at": u.expected_at, "expires_at": u.expires_at, "size": u.size, "sha256": u.sha256,
            "path": u.path, "stored_at": u.stored_at}  # fmt: skip


class UploadsMixin:
    """Store methods over the ``uploads`` table."""

    def expect_upload(self, token: str, agent_id: str, max_bytes: int, ttl: float = EXPECT_TTL) -> None:
        """Allow ``agent_id`` to upload one file of at most ``max_bytes`` under ``token``.

        The task code calls this when it sends a 1050 (upload a file) task.

        Raises:
            Conflict: ``token`` is already used for an upload.
            ValueError: ``max_bytes`` is not positive or the token is empty / too long.
        """
        if not token or len(token) > 128:
            raise ValueError("an upload token must be 1..128 characters")
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        now = time.time()
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            if s.get(Upload, token) is not None:
                raise Conflict(f"upload token {token!r} is already in use")
            s.add(Upload(token=token, agent_id=agent_id, status="expected", max_bytes=max_bytes, expected_at=now,
                         expires_at=now + ttl))  # fmt: skip

    def claim_upload(self, token: str, agent_id: str) -> int:
        """Start receiving the file for ``token`` from ``agent_id``; returns its byte limit.

        Marks the upload ``receiving`` so a second concurrent stream is refused.

        Raises:
            UploadRefused: the token is unknown, not this agent's, expired, or already used.
        """
        now = time.time()
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            res = s.execute(
                update(Upload)
                .where(Upload.token == token, Upload.agent_id == agent_id, Upload.status == "expected",
                       Upload.expires_at >= now)
                .values(status="receiving")
            )  # fmt: skip
            if res.rowcount == 1:
                return s.get(Upload, token).max_bytes
            row = s.get(Upload, token)
            if row is None or row.agent_id != agent_id:
                raise UploadRefused(f"upload token {token[:64]!r} is not a pending upload of agent {agent_id}")
            if row.expires_at < now and row.status == "expected":
                raise UploadRefused(f"upload token {token[:64]!r} expired; create the task again")
            raise UploadRefused(f"upload token {token[:64]!r} is already {row.status}; each token takes one file")

    def finish_upload(self, token: str, *, size: int, sha256: str, path: str) -> None:
        """Record the stored file of a claimed upload. Raises: NotFound."""
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            row = s.get(Upload, token)
            if row is None:
                raise NotFound(f"no upload with token {token[:64]!r}")
            row.status, row.size, row.sha256, row.path, row.stored_at = "stored", size, sha256, path, time.time()

    def release_upload(self, token: str) -> None:
        """A claimed upload failed midway: let the agent try again with the same token."""
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            s.execute(update(Upload).where(Upload.token == token, Upload.status == "receiving").values(status="expected"))

    def get_upload(self, token: str) -> dict[str, Any]:
        """Raises: NotFound."""
        with self.session() as s:  # type: ignore[attr-defined]
            row = s.get(Upload, token)
            if row is None:
                raise NotFound(f"no upload with token {token[:64]!r}")
            return _upload_dict(row)
