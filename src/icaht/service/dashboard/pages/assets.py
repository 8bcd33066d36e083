"""Assets served by the dashboard besides its static folder: plotly.js from the installed
package."""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)


@cache
def _plotly_js() -> tuple[bytes, bytes, str]:
    """plotly.min.js from the installed plotly package: plain, gzipped, and its ETag."""
    data = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return data, gzip.compress(data, compresslevel=6), hashlib.sha256(data).hexdigest()[:16]


@router.get("/static/vendor/plotly.min.js")
def plotly_js(request: Request) -> Response:
    plain, packed, etag = _plotly_js()
    headers = {
        "Cache-Control": "public, max-age=86400",
        "ETag": f'"{etag}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/javascript", headers=headers)
    return Response(plain, media_type="application/javascript", headers=headers)
