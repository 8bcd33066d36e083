"""Reading JSON from a FHIR server over HTTP: one GET answered 200 with JSON, or a
:class:`PullError` that says what went wrong without quoting what was read. URLs are shown
without their query (search parameters may name a patient); an access token is bound to the
origin of the FHIR base."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from icaht.errors import IcahtError

#: Project default: seconds for one HTTP request.
TIMEOUT_SECONDS = 30.0


FHIR_JSON = "application/fhir+json"


class PullError(IcahtError):
    """The FHIR server could not be read (network, HTTP status, not FHIR); ``status`` is the
    HTTP status the server answered, when it answered one; ``outcome`` the OperationOutcome it
    answered instead of what was asked, if any (never quoted in the message)."""

    def __init__(
        self, message: str, status: int | None = None, outcome: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome


def origin(url: str) -> tuple[str, str, int | None]:
    """A URL's origin (scheme, host, port; RFC 6454), the unit the access token is bound to."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def shown_url(url: str) -> str:
    """A URL for messages: without its query (search parameters may name a patient)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def is_outcome(value: object) -> bool:
    """Whether a parsed JSON value is an OperationOutcome resource."""
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def _error_outcome(response: httpx.Response) -> dict[str, Any] | None:
    """The OperationOutcome of an error answer (FHIR servers explain errors with one), if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if is_outcome(body) else None


def get_json(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> Any:
    """The JSON a FHIR server answers to a GET (200 only; redirects are not followed)."""
    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise PullError(f"cannot reach the FHIR server at {shown_url(url)}: {exc}") from None
    status = response.status_code
    if status == 401:
        raise PullError(f"the FHIR server refused the credentials (401) at {shown_url(url)}", 401)
    if status == 403:
        raise PullError(
            f"the FHIR server forbade the request (403) at {shown_url(url)}",
            403,
            _error_outcome(response),
        )
    if status >= 400:
        raise PullError(
            f"the FHIR server answered {status} at {shown_url(url)}",
            status,
            _error_outcome(response) if status < 500 else None,
        )
    if status != 200:
        raise PullError(f"the FHIR server answered {status}, not 200, at {shown_url(url)}", status)
    try:
        return response.json()
    except ValueError:
        raise PullError(f"the FHIR server did not answer JSON at {shown_url(url)}") from None


def fhir_client(token: str | None = None, timeout: float = TIMEOUT_SECONDS) -> httpx.Client:
    """An HTTP client asking for FHIR JSON, with the bearer token when given."""
    headers = {"Accept": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(headers=headers, timeout=timeout, follow_redirects=False)
