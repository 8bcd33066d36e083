"""Routes whose JSON bodies are parsed with orjson.

A CDS Hooks call carries the patient's prefetch: hundreds of FHIR resources, about 300 KB for a
synthetic patient's year. The standard library parser took 1.3 ms of such a body and orjson
0.7 ms (``benchmarks/fhir_exchange.py``), on the event loop's thread, where it holds up every
other connection of the process. FastAPI reads a JSON body through ``Request.json``; the route
class below hands the endpoint a request whose ``json`` uses orjson, so the body is still
declared, validated and documented by FastAPI. orjson refuses what JSON forbids (``NaN``,
``Infinity``), which the standard library accepts; its errors are ``json.JSONDecodeError``, so
FastAPI reports them as before (422, ``json_invalid``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class OrjsonRequest(Request):
    """A request whose JSON body is parsed with orjson (once, like Starlette's)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class OrjsonRoute(APIRoute):
    """An API route that parses its JSON body with orjson (``APIRouter(route_class=...)``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(OrjsonRequest(request.scope, request.receive))

        return route
