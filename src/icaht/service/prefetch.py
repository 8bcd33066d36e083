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

What a call's data lack is said, never silently left out: each gap is a caveat, shown on the
summary card (:func:`with_caveats`; on a card of its own, :func:`caveat_card`, when there is no
summary card, e.g. no infusion was found):

- a prefetch key whose value is ``null`` means the client has no such data (CDS Hooks 2.0),
  so nothing is fetched for it; a key left out, or holding an OperationOutcome (the client
  could not prefetch it), is read from the FHIR server when the call names one, else said;
- the warnings and errors of OperationOutcomes in the prefetch (a key's value, or an entry of a
  Bundle) and in the search pages read are reported (severity, code and, for what the client
  sent, the issue's text);
- a search the FHIR server does not support or allow (it answers 400, 403, 404, 405 or 501, or
  an OperationOutcome in place of a Bundle) is left out with a caveat;
- a later page that cannot be read (or a ``next`` link to another server, or more pages than
  :data:`MAX_PAGES`) keeps what was read;
- Medications the resources reference (``medicationReference``) that are not in the data are
  read from the FHIR server; those that cannot be read are said.

A first search page that cannot be read otherwise (401, a server error, not FHIR) makes the call
fail (412: the data needed could not be read).
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
from icaht.io.fhir.cards import SUMMARY_CODE, summary_with_caveats
from icaht.io.fhir.pull import (
    medication_references,
    page_outcomes,
    page_resources,
    read_medications,
    search_pages,
)
from icaht.io.fhir.server import PullError, fhir_client, get_json, is_outcome, origin, shown_url

#: Project default: search pages followed per prefetch query when fetching from the FHIR server.
MAX_PAGES = 20
#: Project default: seconds for one request to the FHIR server.
TIMEOUT_SECONDS = 20.0
#: The longest ``fhirServer`` accepted (characters).
MAX_URL_CHARS = 2048
CAVEAT_CODE = "data-incomplete"
#: OperationOutcome severities reported on the summary card (``information`` is not: it names
#: no gap in the data).
REPORTED_SEVERITIES: tuple[str, ...] = ("fatal", "error", "warning")
#: Project default: characters of an OperationOutcome issue's text quoted on the summary card.
OUTCOME_TEXT_CHARS = 200
#: Answers of a first search page that mean the server does not support or allow that search:
#: the search is left out with a caveat (other failures are a 412).
UNSUPPORTED_STATUSES: frozenset[int] = frozenset({400, 403, 404, 405, 501})
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
    """A call's resources (the prefetch's first, then those read from the FHIR server), and why
    any of them may be missing. ``from_client``: how many came in the call's prefetch;
    ``from_server``: whether any was read from the FHIR server."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    from_client: int = 0
    from_server: bool = False


_CODE = frozenset("abcdefghijklmnopqrstuvwxyz-")


def outcome_caveats(where: str, outcome: dict[str, Any], quote: bool) -> list[str]:
    """A caveat per warning or error of an OperationOutcome: its severity and code, and with
    ``quote`` its text (``details.text``, else ``diagnostics``; at most
    :data:`OUTCOME_TEXT_CHARS` characters). What a FHIR server answered is not quoted."""
    issues = outcome.get("issue")
    found = []
    for issue in issues if isinstance(issues, list) else []:
        severity = issue.get("severity") if isinstance(issue, dict) else None
        if severity not in REPORTED_SEVERITIES:
            continue
        code = issue.get("code")
        code = code if isinstance(code, str) and code and set(code) <= _CODE else "unknown"
        details = issue.get("details")
        text = details.get("text") if isinstance(details, dict) else None
        text = text if isinstance(text, str) and text.strip() else issue.get("diagnostics")
        said = f": {text.strip()[:OUTCOME_TEXT_CHARS]}" if quote and isinstance(text, str) else ""
        found.append(f"{where}: the EHR reported {severity} ({code}){said}")
    return found


def read_prefetch(key: str, value: Any, into: Fetched) -> None:
    """The resources of one prefetch value (a resource, or a Bundle of entries) into ``into``,
    with the OperationOutcomes' caveats; 422 for an entry that is not an object holding a
    resource object."""
    if not isinstance(value, dict):
        raise HTTPException(422, f"prefetch {key!r} is not a FHIR resource or Bundle")
    if is_outcome(value):
        into.caveats += outcome_caveats(f"prefetch {key}", value, quote=True)
        return
    if value.get("resourceType") != "Bundle":
        into.resources.append(value)
        return
    entries = value.get("entry") or []
    if not isinstance(entries, list):
        raise HTTPException(422, f"prefetch {key!r}: Bundle.entry is not a list")
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise HTTPException(
                422, f"prefetch {key!r}: Bundle.entry[{index}] holds no resource object"
            )
        if is_outcome(resource):
            into.caveats += outcome_caveats(f"prefetch {key}", resource, quote=True)
        else:
            into.resources.append(resource)


def _split(query: str) -> tuple[str, dict[str, str]]:
    path, _, params = query.partition("?")
    return path, dict(parse_qsl(params, keep_blank_values=True))


def _unsupported(exc: PullError) -> str | None:
    """Why a first search page's failure means the server does not support or allow the
    search (HTTP status, or an OperationOutcome in place of a Bundle); None otherwise."""
    if exc.status in UNSUPPORTED_STATUSES:
        return f"it answered {exc.status}"
    if exc.status is None and exc.outcome is not None:
        return "it answered an OperationOutcome, not a Bundle"
    return None


def fetch_query(server: str, query: str, token: str | None, into: Fetched) -> None:
    """Read one prefetch query (``Patient/<id>`` or ``<Type>?<search>``) into ``into``."""
    path, params = _split(query)
    url = f"{server.rstrip('/')}/{path}"
    into.from_server = True
    with fhir_client(token, TIMEOUT_SECONDS) as client:
        if "?" not in query:
            _read(client, url, path, into)
            return
        pages = 0
        try:
            for page in search_pages(client, url, params, MAX_PAGES):
                into.resources += page_resources(page)
                for outcome in page_outcomes(page):
                    into.caveats += outcome_caveats(f"{path} search", outcome, quote=False)
                pages += 1
        except PullError as exc:
            why = _unsupported(exc) if pages == 0 else None
            if why is not None:
                into.caveats.append(
                    f"{path}: not read, the FHIR server does not support or allow this search "
                    f"({why})"
                )
                if exc.outcome is not None:
                    into.caveats += outcome_caveats(f"{path} search", exc.outcome, quote=False)
                return
            if pages == 0:
                raise HTTPException(412, str(exc)) from None
            into.caveats.append(f"{path}: only {pages} page(s) read ({exc})")


def fetch_medications(server: str, token: str | None, into: Fetched) -> None:
    """Read the Medications the resources reference and do not hold (``medicationReference``);
    those that cannot be read are said (the mapping then reads the reference's display)."""
    references = medication_references(into.resources)
    if not references:
        return
    into.from_server = True
    with fhir_client(token, TIMEOUT_SECONDS) as client:
        try:
            into.resources += read_medications(client, server.rstrip("/"), references)
        except PullError as exc:
            into.caveats.append(
                f"Medication: {len(references)} referenced medication(s) not read ({exc})"
            )


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


def with_caveats(cards: list[dict[str, Any]], caveats: list[str]) -> list[dict[str, Any]]:
    """The cards with the caveats on the summary card (a copy; the cards may be cached), or
    before them on a card of their own when there is no summary card."""
    if not caveats:
        return cards
    for index, found in enumerate(cards):
        if found["source"]["topic"]["code"] == SUMMARY_CODE:
            amended = summary_with_caveats(found, caveats)
            return [*cards[:index], amended, *cards[index + 1 :]]
    return [caveat_card(caveats), *cards]


def caveat_card(caveats: list[str]) -> dict[str, Any]:
    """A warning card saying which patient data could not be read, shown before the others."""
    lines = "\n".join(f"- {c}" for c in caveats)
    return {
        "uuid": str(uuid.uuid5(_NAMESPACE, "\n".join(caveats))),
        "summary": "Patient data incomplete: some of it could not be read",
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
