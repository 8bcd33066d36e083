"""The admin's user management: disable, enable, change a role (audited; applies to the
user's next request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import HTTPException, Response
from pydantic import BaseModel

from icaht.service.api.deps import Admin, Db, Username, api_router
from icaht.service.auth import audited
from icaht.store.users import Role, UnknownUserError, set_disabled, set_role

router = api_router()
_T = TypeVar("_T")


class RoleChange(BaseModel):
    role: Role


def _known_user(change: Callable[[], _T]) -> _T:
    """A change of a user; 404 when there is no such user."""
    try:
        return change()
    except UnknownUserError:
        raise HTTPException(404, "no such user") from None


@router.post("/users/{username}/disable", status_code=204)
def disable_user(username: Username, who: Admin, db: Db) -> Response:
    """Disable a user (admin only, audited): their tokens and browser sessions stop working."""
    changed = _known_user(lambda: set_disabled(db, username, disabled=True))
    audited(db, who, "user-disable", detail={"user": username, "changed": changed})
    return Response(status_code=204)


@router.post("/users/{username}/enable", status_code=204)
def enable_user(username: Username, who: Admin, db: Db) -> Response:
    """Enable a disabled user again (admin only, audited)."""
    changed = _known_user(lambda: set_disabled(db, username, disabled=False))
    audited(db, who, "user-enable", detail={"user": username, "changed": changed})
    return Response(status_code=204)


@router.put("/users/{username}/role", status_code=204)
def change_role(username: Username, body: RoleChange, who: Admin, db: Db) -> Response:
    """Change a user's role (admin only, audited); it applies to the user's next request."""
    old = _known_user(lambda: set_role(db, username, body.role))
    audited(db, who, "user-role", detail={"user": username, "old": old, "new": body.role})
    return Response(status_code=204)
