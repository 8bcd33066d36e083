"""Users, roles and API tokens on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from icaht.store.tables import ApiToken, User
from icaht.store.users import (
    AccountError,
    authenticate,
    check_password,
    create_token,
    create_user,
    hash_password,
    revoke_token,
    user_for_token,
)

PASSWORD = "correct horse battery"


def test_passwords_are_salted_and_checked() -> None:
    a, b = hash_password(PASSWORD), hash_password(PASSWORD)
    assert a != b
    assert PASSWORD not in a
    assert check_password(PASSWORD, a)
    assert not check_password(PASSWORD + "x", a)


def test_users_authenticate_by_name_and_password(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        create_user(session, "ana", PASSWORD, "clinician")
    with Session(engine) as session:
        user = authenticate(session, "ana", PASSWORD)
        assert user is not None
        assert user.role == "clinician"
        assert authenticate(session, "ana", "wrong password!!") is None
        assert authenticate(session, "bob", PASSWORD) is None


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("c", PASSWORD, "nurse", "unknown role"),
        ("c", "short", "admin", "at least 12"),
        ("ana", PASSWORD, "admin", "exists"),
    ],
)
def test_bad_users_are_refused(
    engine: Engine, name: str, password: str, role: str, message: str
) -> None:
    with Session(engine) as session, session.begin():
        create_user(session, "ana", PASSWORD, "clinician")
    with pytest.raises(AccountError, match=message), Session(engine) as session:
        create_user(session, name, password, role)


def test_tokens_are_stored_hashed_expire_and_can_be_revoked(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        create_user(session, "etl", PASSWORD, "researcher")
        issued = create_token(session, "etl", "nightly export", days=30)
    with Session(engine) as session:
        stored = session.scalars(select(ApiToken)).one()
        assert issued.secret not in stored.token_hash
        user = user_for_token(session, issued.secret)
        assert user is not None
        assert user.username == "etl"
        assert user_for_token(session, issued.secret + "x") is None
    with Session(engine) as session, session.begin():
        token = session.get(ApiToken, issued.id)
        assert token is not None
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with Session(engine) as session:
        assert user_for_token(session, issued.secret) is None
    with Session(engine) as session, session.begin():
        fresh = create_token(session, "etl", "second", days=1)
        revoke_token(session, fresh.id)
    with Session(engine) as session:
        assert user_for_token(session, fresh.secret) is None


def test_a_disabled_user_has_no_access(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        create_user(session, "old", PASSWORD, "admin")
        issued = create_token(session, "old", "t", days=5)
        user = session.scalars(select(User)).one()
        user.disabled_at = datetime.now(UTC)
    with Session(engine) as session:
        assert user_for_token(session, issued.secret) is None
        assert authenticate(session, "old", PASSWORD) is None
