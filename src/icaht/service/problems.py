"""Errors as RFC 9457 problem details (``application/problem+json``), in one place.

Failures of the machine rather than the request (the database locked past its busy timeout, a
full disk) are 503 with ``Retry-After``; text that is not Unicode (a lone surrogate) and JSON
nested too deeply are 400. Their details never quote the statement, its parameters or the
input: those may hold patient data."""

from __future__ import annotations

import errno
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from icaht.errors import IcahtError, InputError, ProfileError
from icaht.store.database import SchemaError
from icaht.store.lookup import NotFoundError

PROBLEM = "application/problem+json"


class ProblemDetail(BaseModel):
    """RFC 9457 problem details; ``errors`` lists field-level problems where there are any."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[Any] | None = None


#: Documented error responses of every API operation.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": title,
        "content": {PROBLEM: {"schema": ProblemDetail.model_json_schema()}},
    }
    for status, title in (
        (400, "Request cannot be done"),
        (401, "Not signed in"),
        (403, "Not allowed"),
        (404, "Not found"),
        (412, "Patient data needed from the FHIR server could not be read"),
        (413, "Request body too large"),
        (422, "Invalid request or input"),
        (503, "Service unavailable: database schema out of date, database busy or disk full"),
    )
}
#: Project default: seconds a client is asked to wait after the database was busy.
RETRY_BUSY_SECONDS = 5
#: Project default: seconds a client is asked to wait after the disk was full.
RETRY_FULL_SECONDS = 60
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_FULL_TEXTS = ("disk is full", "no space left", "disk i/o error", "could not extend file")


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def unavailable(full: bool) -> JSONResponse:
    """503 for a database that is busy, or a disk that is full, with ``Retry-After``."""
    if full:
        response = problem(
            503, "Storage full", "the server's storage is full; nothing was saved; try later"
        )
        response.headers["Retry-After"] = str(RETRY_FULL_SECONDS)
    else:
        response = problem(
            503, "Database busy", "the database is busy or unavailable; nothing was saved; retry"
        )
        response.headers["Retry-After"] = str(RETRY_BUSY_SECONDS)
    return response


def _storage_full(exc: BaseException) -> bool:
    """Whether an error (or the driver error it wraps) says the disk is full."""
    cause = getattr(exc, "orig", None) or exc
    if isinstance(cause, OSError) and cause.errno in _FULL_ERRNOS:
        return True
    if getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    return getattr(cause, "sqlstate", None) == "53100" or any(
        text in str(cause).lower() for text in _FULL_TEXTS
    )


def install(app: FastAPI) -> None:
    """Map icaht's errors, HTTP errors, request validation and the failures of the database,
    the disk and of text decoding to problem+json."""
    _install_machine(app)

    @app.exception_handler(NotFoundError)
    async def _missing(_: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, "Not found", "; ".join(str(p) for p in exc.problems))

    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        errors = [
            {
                "source": p.source,
                "row": p.row,
                "field": p.field,
                "value": None if p.value is None else str(p.value),
                "message": p.message,
            }
            for p in exc.problems
        ]
        return problem(
            422, "Invalid input", f"{len(errors)} problem(s); nothing was saved", errors=errors
        )

    @app.exception_handler(ProfileError)
    async def _profile(_: Request, exc: ProfileError) -> JSONResponse:
        return problem(400, "Invalid profile", str(exc), errors=exc.problems)

    @app.exception_handler(SchemaError)
    async def _schema(_: Request, exc: SchemaError) -> JSONResponse:
        return problem(503, "Database schema out of date", str(exc))

    @app.exception_handler(IcahtError)
    async def _icaht(_: Request, exc: IcahtError) -> JSONResponse:
        return problem(400, "Request cannot be done", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(part) for part in err["loc"]),
                "message": err["msg"],
                "value": None if err.get("input") is None else str(err.get("input"))[:200],
            }
            for err in exc.errors()
        ]
        return problem(422, "Invalid request", f"{len(errors)} problem(s)", errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        response = problem(exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail))
        if headers:
            response.headers.update(headers)
        return response


def _install_machine(app: FastAPI) -> None:
    """Handlers of failures that are not the request's fault, or not icaht's own errors."""

    @app.exception_handler(OperationalError)
    async def _database(_: Request, exc: OperationalError) -> JSONResponse:
        return unavailable(_storage_full(exc))

    @app.exception_handler(sqlite3.OperationalError)
    async def _sqlite(_: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        return unavailable(_storage_full(exc))

    @app.exception_handler(OSError)
    async def _os(_: Request, exc: OSError) -> JSONResponse:
        if exc.errno in _FULL_ERRNOS:
            return unavailable(True)
        raise exc

    @app.exception_handler(UnicodeError)
    async def _unicode(_: Request, __: UnicodeError) -> JSONResponse:
        return problem(
            400,
            "Invalid text",
            "the request holds text that is not valid Unicode (e.g. a lone surrogate escape)",
        )

    @app.exception_handler(RecursionError)
    async def _deep(_: Request, __: RecursionError) -> JSONResponse:
        return problem(400, "Invalid request", "the request body is nested too deeply")


_TITLES = {
    400: "Request cannot be done",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    412: "Patient data cannot be used",
    413: "Request body too large",
    422: "Invalid input",
}
