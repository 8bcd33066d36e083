"""Errors as RFC 9457 problem details (``application/problem+json``), in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from icaht.errors import IcahtError, InputError, ProfileError
from icaht.store.database import SchemaError
from icaht.store.patients import NotFoundError

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
        (422, "Invalid request or input"),
        (503, "Database schema out of date"),
    )
}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    """Map icaht's errors, HTTP errors and request validation to problem+json."""

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


_TITLES = {401: "Not signed in", 403: "Not allowed", 404: "Not found", 405: "Method not allowed"}
