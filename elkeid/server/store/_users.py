"""Store mixin: managing console and API users (the admin's Users API).

Every change that lowers what a user may do (disable, role change, new
password, delete) also ends that user's API sessions. No change may leave the
server without an enabled admin: such a change raises :class:`Conflict`.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, func, select

from ._models import ApiToken, User
from .errors import Conflict, NotFound


def _user_dict(u: User) -> dict[str, Any]:
    return {"username": u.username, "role": u.role, "disabled": bool(u.disabled), "created_at": u.created_at,
            "updated_at": u.updated_at}  # fmt: skip


class UserAdmin:
    def list_users(self) -> list[dict[str, Any]]:
        with self.session() as s:
            return [_user_dict(u) for u in s.scalars(select(User).order_by(User.username))]

    def user_info(self, username: str) -> dict[str, Any]:
        """Raises: NotFound."""
        with self.session() as s:
            u = s.get(User, username)
            if u is None:
                raise NotFound(f"no user named {username!r}")
            return _user_dict(u)

    def update_user(self, username: str, *, role: str | None = None, disabled: bool | None = None,
                    password_hash: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Change a user's role, disabled flag or password.

        Raises:
            NotFound: no such user.
            Conflict: the change would leave no enabled admin.
            ValueError: unknown role.
        """
        from ._store import ROLES

        if role is not None and role not in ROLES:
            raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        with self.session() as s, s.begin():
            u = s.get(User, username, with_for_update=True)
            if u is None:
                raise NotFound(f"no user named {username!r}")
            was_admin = u.role == "admin" and not u.disabled
            end_sessions = password_hash is not None
            if role is not None and role != u.role:
                u.role, end_sessions = role, True
            if disabled is not None and disabled != u.disabled:
                u.disabled, end_sessions = disabled, end_sessions or disabled
            if password_hash is not None:
                u.password_hash = password_hash
            if was_admin and not (u.role == "admin" and not u.disabled):
                self._keep_an_admin(s, username)
            u.updated_at = time.time()
            if end_sessions:
                s.execute(delete(ApiToken).where(ApiToken.username == username))
            return _user_dict(u)

    def delete_user(self, username: str) -> None:
        """Raises: NotFound; Conflict if this is the last enabled admin."""
        with self.session() as s, s.begin():
            u = s.get(User, username, with_for_update=True)
            if u is None:
                raise NotFound(f"no user named {username!r}")
            if u.role == "admin" and not u.disabled:
                self._keep_an_admin(s, username)
            s.execute(delete(ApiToken).where(ApiToken.username == username))
            s.delete(u)

    @staticmethod
    def _keep_an_admin(s, leaving: str) -> None:
        others = s.scalar(
            select(func.count()).select_from(User)
            .where(User.role == "admin", User.disabled.is_(False), User.username != leaving)
        )  # fmt: skip
        if not others:
            raise Conflict(f"{leaving!r} is the last enabled admin; make another admin first")
