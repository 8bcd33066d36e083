"""Reading a CDS Hooks call's prefetch, and fetching what the client did not prefetch.

A CDS Hooks 2.0 call may leave prefetch keys out and name its FHIR server (``fhirServer``) with
an access token (``fhirAuthorization``); the service then reads those keys itself. The token is
the EHR's, so it goes only where the configuration says it may:

- ``fhirServer`` must lie under one of the calling client's FHIR bases (``ICAHT_CDS_CLIENTS``,
  ``fhir_servers``); an unsigned demo call may name a base listed in
  ``ICAHT_CDS_DEMO_FHIR_SERVERS`` or a server whose every address is public (never loopback,
  link-local, private or reserved: no cloud metadata service, no local file or admin port);
  only ``http`` and ``https`` URLs without credentials, query or fragment are FHIR bases;
- search pages are followed only on the ``fhirServer``'s origin and redirects never
  (:func:`icaht.io.fhir.pull.search_pages`, shared with ``icaht fhir pull``);
- errors name the URL (without its query) and the HTTP status, never what the server answered.

A first page that cannot be read makes the call fail (412: the data needed could not be read);
a later page that cannot be read (or a ``next`` link to another server, or more pages than
:data:`MAX_PAGES`) keeps what was read and adds a caveat, shown on a card of its own
(:func:`caveat_card`), so the cards never silently rest on part of the data.
"""

from __future__ import annotations

import ipaddress
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import HTTPException

from icaht.io.fhir import codes
from icaht.io.fhir.pull import (
    PullError,
    fhir_client,
    get_json,
    origin,
    page_resources,
    search_pages,
    shown_url,
)

#: Project default: search pages followed per prefetch query when fetching from the FHIR server.
MAX_PAGES = 20
#: Project default: seconds for one request to the FHIR server.
TIMEOUT_SECONDS = 20.0
#: The longest ``fhirServer`` accepted (characters).
MAX_URL_CHARS = 2048
CAVEAT_CODE = "data-incomplete"
_NAMESPACE = uuid.UUID("0b6f4f4e-5f2a-4c55-9d8c-0c5a3f3c9b21")


def fhir_base_problem(url: str) -> str | None:
    """Why ``url`` is not a FHIR base URL the service may call, or None when it is one."""
    if len(url) > MAX_URL_CHARS:
        return f"longer than {MAX_URL_CHARS} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https FHIR servers are called"
    if not parts.hostname:
        return "no host"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not accepted"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "a FHIR base has no query or fragment"
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "spaces or control characters"
    return None


def under_base(url: str, base: str) -> bool:
    """Whether ``url`` is ``base`` or lies below it (same origin, path below the base's)."""
    if fhir_base_problem(base) is not None or origin(url) != origin(base):
        return False
    path, root = urlsplit(url).path.rstrip("/") + "/", urlsplit(base).path.rstrip("/") + "/"
    return path.startswith(root)


def _public_address(host: str, port: int | None) -> bool:
    """Whether every address ``host`` resolves to is a public (global unicast) address."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found}
    return bool(addresses) and all(a.is_global and not a.is_multicast for a in addresses)


def check_target(fhir_server: str, bases: list[str], demo_call: bool) -> None:
    """Refuse (400) a ``fhirServer`` the call may not send its access token to: not under one
    of ``bases``, and, for an unsigned demo call, not on public addresses either."""
    if any(under_base(fhir_server, base) for base in bases):
        return
    if demo_call:
        parts = urlsplit(fhir_server)
        if _public_address(parts.hostname or "", origin(fhir_server)[2]):
            return
        raise HTTPException(
            400,
            "fhirServer is not on a public address (loopback, link-local and private "
            "addresses need ICAHT_CDS_DEMO_FHIR_SERVERS)",
        )
    raise HTTPException(400, "fhirServer is not a FHIR base configured for this CDS client")


@dataclass(slots=True)
class Fetched:
    """Resources read from the FHIR server, and why any of them may be missing."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)


def _split(query: str) -> tuple[str, dict[str, str]]:
    path, _, params = query.partition("?")
    return path, dict(parse_qsl(params, keep_blank_values=True))


def fetch_query(server: str, query: str, token: str | None, into: Fetched) -> None:
    """Read one prefetch query (``Patient/<id>`` or ``<Type>?<search>``) into ``into``."""
    path, params = _split(query)
    url = f"{server.rstrip('/')}/{path}"
    with fhir_client(token, TIMEOUT_SECONDS) as client:
        if "?" not in query:
            _read(client, url, path, into)
            return
        pages = 0
        try:
            for page in search_pages(client, url, params, MAX_PAGES):
                into.resources += page_resources(page)
                pages += 1
        except PullError as exc:
            if pages == 0:
                raise HTTPException(412, str(exc)) from None
            into.caveats.append(f"{path}: only {pages} page(s) read ({exc})")


def _read(client: Any, url: str, path: str, into: Fetched) -> None:
    """A read (``Patient/<id>``): a resource of that type; 404 means there is none."""
    try:
        found = get_json(client, url)
    except PullError as exc:
        if exc.status == 404:
            return
        raise HTTPException(412, str(exc)) from None
    kind = path.split("/", 1)[0]
    if not isinstance(found, dict) or found.get("resourceType") != kind:
        raise HTTPException(412, f"{shown_url(url)}: the FHIR server did not answer a {kind}")
    into.resources.append(found)


def caveat_card(caveats: list[str]) -> dict[str, Any]:
    """A warning card saying which patient data could not be read, shown before the others."""
    lines = "\n".join(f"- {c}" for c in caveats)
    return {
        "uuid": str(uuid.uuid5(_NAMESPACE, "\n".join(caveats))),
        "summary": "Patient data incomplete: some search pages could not be read",
        "indicator": "warning",
        "detail": "Some of the patient's data could not be read from the FHIR server, so the "
        "grades and recommendations may miss them. Review the chart before acting on them.\n\n"
        + lines,
        "source": {
            "label": "icaht",
            "topic": {
                "system": codes.ICAHT_CODES,
                "code": CAVEAT_CODE,
                "display": "Patient data incomplete",
            },
        },
    }
