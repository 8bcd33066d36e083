"""Pull one patient's data from a FHIR R4 server into a :class:`PatientRecord`.

Reads the server's CapabilityStatement (``<base>/metadata``), ``Patient/<id>``, and searches the
patient's Observation, MedicationAdministration, MedicationRequest, MedicationStatement,
Procedure, Condition and DiagnosticReport resources (``?patient=<id>&_count=N``), following each
searchset's ``next`` links, fetches Medication resources the medication resources reference, and
maps the lot with :func:`icaht.io.fhir.reader.bundle_records` (one collection Bundle in memory).

Searches follow what servers require and declare (:func:`planned_searches`): Observations are
searched per category (``laboratory``, ``vital-signs``: Epic refuses an Observation search
without a category or code; US Core servers support ``patient`` + ``category``); a type the
CapabilityStatement lists without a ``search-type`` interaction, or does not list, is not
searched, and the import report notes it; ``subject=Patient/<id>`` is used where ``patient`` is
not a declared search parameter. When the CapabilityStatement cannot be read, every search is
tried with ``patient`` (and noted).

Authorization: a bearer token as given, or SMART Backend Services (client credentials with a
signed JWT client assertion, RS384 or ES384, the token endpoint discovered from
``<base>/.well-known/smart-configuration``; a new token before the last one expires, or when the
server answers 401). The token is sent only to the FHIR base's origin
(a ``next`` link to another origin is refused) and never appears in messages or logs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from icaht.core.patient_record import PatientRecord
from icaht.errors import IcahtError, InputError, Problem
from icaht.io.fhir import codes
from icaht.io.fhir.reader import bundle_records
from icaht.io.fhir.report import ImportReport

#: The patient's resources searched, in this order.
SEARCHED_TYPES: tuple[str, ...] = (
    "Observation",
    "MedicationAdministration",
    "MedicationRequest",
    "MedicationStatement",
    "Procedure",
    "Condition",
    "DiagnosticReport",
)
#: Project default: entries asked per search page (``_count``); servers may return fewer.
PAGE_SIZE = 200
#: Project default: safety limit on pages followed per search (a server looping on ``next``).
MAX_PAGES = 10_000
#: Project default: seconds for one HTTP request.
TIMEOUT_SECONDS = 30.0
#: Default scope asked by SMART Backend Services.
BACKEND_SCOPE = "system/*.read"
#: Lifetime of a client assertion (the SMART specification allows at most five minutes).
ASSERTION_SECONDS = 300
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Project default: seconds a Backend Services token is taken to last when the token endpoint
#: gives no ``expires_in`` (the SMART specification recommends at most five minutes).
TOKEN_SECONDS = 300.0
#: Project default: a Backend Services token is renewed this many seconds before it expires.
TOKEN_MARGIN_SECONDS = 30.0
FHIR_JSON = "application/fhir+json"

#: Observation categories searched (FHIR observation-category codes; the ones icaht maps:
#: blood counts and chemistry, and vital signs such as temperature and weight).
OBSERVATION_CATEGORIES: tuple[str, ...] = ("laboratory", "vital-signs")
#: Observations icaht itself writes without a category (``icaht fhir export``), searched by code.
LOCAL_OBSERVATION_CODES: tuple[str, ...] = ("disease-status", "last-follow-up")

Progress = Callable[[str, int], None]


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


@dataclass(frozen=True, slots=True)
class BackendClient:
    """A SMART Backend Services client: its id and private key (PEM, RSA or EC P-384)."""

    client_id: str
    key_file: Path
    kid: str | None = None
    scope: str = BACKEND_SCOPE


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


# --------------------------------------------------------------------------------------------
# SMART discovery and Backend Services
# --------------------------------------------------------------------------------------------


def smart_configuration(client: httpx.Client, base: str) -> dict[str, Any]:
    """``<base>/.well-known/smart-configuration`` (SMART App Launch 2.0 discovery)."""
    data = get_json(client, base.rstrip("/") + "/.well-known/smart-configuration")
    if not isinstance(data, dict):
        raise PullError(f"{shown_url(base)}: the SMART configuration is not a JSON object")
    return data


def load_private_key(path: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        problem = Problem(str(path), f"cannot read the key file: {exc.strerror}")
        raise InputError([problem]) from None
    except (ValueError, TypeError):
        raise InputError([Problem(str(path), "not an unencrypted PEM private key")]) from None
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key
    raise InputError([Problem(str(path), "the key must be RSA (RS384) or EC P-384 (ES384)")])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key_thumbprint(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """The RFC 7638 JWK thumbprint of the key's public part (used as ``kid`` by default)."""
    public = key.public_key()
    members: dict[str, str]
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        members = {"e": _b64(e), "kty": "RSA", "n": _b64(n)}
    else:
        point = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        members = {
            "crv": "P-384" if public.curve.key_size == 384 else f"P-{public.curve.key_size}",
            "kty": "EC",
            "x": _b64(point.x.to_bytes(size, "big")),
            "y": _b64(point.y.to_bytes(size, "big")),
        }
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return _b64(hashlib.sha256(canonical).digest())


def client_assertion(
    client_id: str,
    token_url: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    kid: str | None = None,
) -> str:
    """A signed JWT client assertion (RS384 for RSA keys, ES384 for EC keys)."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size != 384:
        raise IcahtError("an EC key for ES384 must be on the P-384 curve")
    algorithm = "RS384" if isinstance(key, rsa.RSAPrivateKey) else "ES384"
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": now + ASSERTION_SECONDS,
        "iat": now,
        "jti": secrets.token_urlsafe(24),
    }
    headers = {"kid": kid or key_thumbprint(key), "typ": "JWT"}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def backend_token(client: httpx.Client, base: str, backend: BackendClient) -> tuple[str, float]:
    """An access token by SMART Backend Services (token endpoint from discovery), and the
    seconds it lasts (``expires_in``; :data:`TOKEN_SECONDS` when the answer does not say)."""
    key = load_private_key(backend.key_file)
    config = smart_configuration(client, base)
    token_url = config.get("token_endpoint")
    if not isinstance(token_url, str) or not token_url:
        raise PullError(f"{shown_url(base)}: the SMART configuration names no token_endpoint")
    form = {
        "grant_type": "client_credentials",
        "scope": backend.scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(backend.client_id, token_url, key, backend.kid),
    }
    try:
        response = client.post(token_url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise PullError(f"cannot reach the token endpoint {shown_url(token_url)}: {exc}") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200 or not isinstance(data, dict):
        error = data.get("error") if isinstance(data, dict) else None
        raise PullError(
            f"the token endpoint {shown_url(token_url)} refused the client "
            f"({response.status_code}{', ' + str(error) if error else ''})"
        )
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise PullError(f"the token endpoint {shown_url(token_url)} returned no access_token")
    lasts = data.get("expires_in")
    if isinstance(lasts, bool) or not isinstance(lasts, int | float) or lasts <= 0:
        return token, TOKEN_SECONDS
    return token, float(lasts)


class BackendAuth(httpx.Auth):
    """SMART Backend Services on every request of a pull. Backend Services has no refresh
    token: a client asks for a new access token when its token expires. This one asks again
    when less than :data:`TOKEN_MARGIN_SECONDS` (at most half) of the token's ``expires_in``
    remain, and once
    more when the FHIR server answers 401 (a token revoked or expired early), then repeats the
    request. Tokens are asked with a client of their own (no FHIR authorization)."""

    def __init__(self, token_client: httpx.Client, base: str, backend: BackendClient) -> None:
        self._client = token_client
        self._base = base
        self._backend = backend
        self._token = ""
        self._renew_at = 0.0

    def _renewed(self) -> str:
        self._token, lasts = backend_token(self._client, self._base, self._backend)
        self._renew_at = time.monotonic() + lasts - min(TOKEN_MARGIN_SECONDS, lasts / 2)
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._token if time.monotonic() < self._renew_at else self._renewed()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self._renewed()}"
            yield request


# --------------------------------------------------------------------------------------------
# Reading the patient's resources
# --------------------------------------------------------------------------------------------


def _next_link(page: dict[str, Any]) -> str | None:
    for link in page.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def page_resources(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``match`` and ``include`` resources of a search page (entries that are not objects
    with a resource object are skipped, and so are OperationOutcomes: :func:`page_outcomes`)."""
    out: list[dict[str, Any]] = []
    for entry in page.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        search = entry.get("search") if isinstance(entry, dict) else None
        mode = search.get("mode") if isinstance(search, dict) else None
        kept = mode in (None, "match", "include") and not is_outcome(resource)
        if isinstance(resource, dict) and kept:
            out.append(resource)
    return out


def page_outcomes(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The OperationOutcomes of a search page (``search.mode`` ``outcome``, or any entry holding
    one): the server's warnings about the search, e.g. results it left out."""
    entries = page.get("entry") or []
    found = [e.get("resource") for e in entries if isinstance(e, dict)]
    return [r for r in found if isinstance(r, dict) and is_outcome(r)]


def search_pages(
    client: httpx.Client,
    url: str,
    params: dict[str, str] | None = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[dict[str, Any]]:
    """The Bundle pages of a search at ``url``, following ``next`` links on the same origin
    only (the client's access token is never sent to another server). Raises
    :class:`PullError` for a page that cannot be read or is not a Bundle, a ``next`` link to
    another origin, and more than ``max_pages`` pages; messages never quote what was read."""
    first = url
    query: dict[str, str] | None = params
    kind = urlsplit(url).path.rstrip("/").rsplit("/", maxsplit=1)[-1]
    for _ in range(max_pages):
        page = get_json(client, url, query)
        if is_outcome(page):
            raise PullError(
                f"{shown_url(url)}: the search returned an OperationOutcome, not a Bundle",
                outcome=page,
            )
        if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
            raise PullError(f"{shown_url(url)}: the search did not return a Bundle")
        yield page
        found, query = _next_link(page), None
        if found is None:
            return
        if origin(found) != origin(first):
            raise PullError(
                f"{kind} search: the next link leads to another server ({shown_url(found)}); "
                "refused so the access token is not sent there"
            )
        url = found
    raise PullError(f"{kind} search: more than {max_pages} pages; stopped")


def search_all(
    client: httpx.Client,
    base: str,
    kind: str,
    params: dict[str, str],
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Every ``match`` resource of a search, following ``next`` links on the base's origin."""
    out: list[dict[str, Any]] = []
    for page in search_pages(client, f"{base.rstrip('/')}/{kind}", params):
        out += page_resources(page)
        if progress is not None:
            progress(kind, len(out))
    return out


def medication_references(resources: list[dict[str, Any]]) -> list[str]:
    """The ``Medication/<id>`` references of ``resources`` (``medicationReference``) that no
    resource of ``resources`` is, in order, once each."""
    present = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}
    found: list[str] = []
    for resource in resources:
        reference = resource.get("medicationReference")
        ref = reference.get("reference") if isinstance(reference, dict) else None
        wanted = isinstance(ref, str) and ref.startswith("Medication/") and ref not in present
        if wanted and ref not in found:
            found.append(str(ref))
    return found


def read_medications(client: httpx.Client, root: str, references: list[str]) -> list[Any]:
    """The Medication resources of ``references`` read from the server at ``root`` (answers
    that are not a Medication are left out; the mapping then reads the reference's display)."""
    found = [get_json(client, f"{root}/{ref}") for ref in references]
    return [m for m in found if isinstance(m, dict) and m.get("resourceType") == "Medication"]


@dataclass(frozen=True, slots=True)
class Search:
    """One search of a patient's resources: the type and its parameters (without ``_count``)."""

    kind: str
    params: dict[str, str]


def _server_resources(capability: object) -> dict[str, dict[str, Any]] | None:
    """The ``rest[mode=server].resource`` entries of a CapabilityStatement by type; None when
    it is not one."""
    if not isinstance(capability, dict) or capability.get("resourceType") != (
        "CapabilityStatement"
    ):
        return None
    found: dict[str, dict[str, Any]] = {}
    for rest in capability.get("rest") or []:
        if isinstance(rest, dict) and rest.get("mode", "server") == "server":
            for item in rest.get("resource") or []:
                if isinstance(item, dict) and isinstance(item.get("type"), str):
                    found[item["type"]] = item
    return found


def _names(items: object, key: str) -> set[str] | None:
    """The ``key`` values of a list of objects; None when the list is not given."""
    if not isinstance(items, list):
        return None
    return {str(i.get(key)) for i in items if isinstance(i, dict) and i.get(key)}


def planned_searches(capability: object, patient_id: str) -> tuple[list[Search], list[str]]:
    """The searches of the patient's resources the server supports (module docstring), and a
    note for each type not searched or searched otherwise."""
    declared = _server_resources(capability)
    searches: list[Search] = []
    notes: list[str] = []
    if declared is None:
        notes.append("the server's CapabilityStatement was not read: every search was tried")
    for kind in SEARCHED_TYPES:
        entry = {} if declared is None else declared.get(kind)
        if entry is None:
            notes.append(f"{kind}: not searched (not in the server's CapabilityStatement)")
            continue
        interactions = _names(entry.get("interaction"), "code")
        if interactions is not None and "search-type" not in interactions:
            notes.append(f"{kind}: not searched (the server declares no search)")
            continue
        params = _names(entry.get("searchParam"), "name")
        base = (
            {"subject": f"Patient/{patient_id}"}
            if params is not None and "patient" not in params and "subject" in params
            else {"patient": patient_id}
        )
        if kind == "Observation" and (params is None or "category" in params):
            searches += [Search(kind, base | {"category": c}) for c in OBSERVATION_CATEGORIES]
            if params is None or "code" in params:
                local = ",".join(f"{codes.ICAHT_CODES}|{c}" for c in LOCAL_OBSERVATION_CODES)
                searches.append(Search(kind, base | {"code": local}))
            continue
        if kind == "Observation":
            notes.append("Observation: searched without category (not a declared parameter)")
        searches.append(Search(kind, base))
    return searches, notes


def capability_statement(client: httpx.Client, root: str) -> object:
    """The server's CapabilityStatement (``<base>/metadata``), or None when it cannot be read
    (then every search is tried)."""
    try:
        return get_json(client, f"{root}/metadata")
    except PullError as exc:
        if exc.status == 401:
            raise
        return None


def pull_bundle(
    client: httpx.Client,
    base: str,
    patient_id: str,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The patient's resources as one collection Bundle (``fullUrl`` = absolute URL), with the
    searches the server supports (:func:`planned_searches`; their notes go to ``notes``)."""
    root = base.rstrip("/")
    capability = capability_statement(client, root)
    patient = get_json(client, f"{root}/Patient/{patient_id}")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise PullError(f"{shown_url(root)}/Patient/…: not a Patient resource")
    resources: list[dict[str, Any]] = [patient]
    found_id = str(patient.get("id") or patient_id)
    searches, said = planned_searches(capability, found_id)
    if notes is not None:
        notes += said
    for search in searches:
        params = search.params | {"_count": str(page_size)}
        resources += search_all(client, root, search.kind, params, progress)
    resources += read_medications(client, root, medication_references(resources))
    by_url: dict[str, dict[str, Any]] = {}  # once each (an Observation of two categories)
    for index, r in enumerate(resources):
        rid = r.get("id")
        by_url.setdefault(f"{root}/{r.get('resourceType')}/{rid}" if rid else f"#{index}", r)
    entries = [
        {"resource": r} if url.startswith("#") else {"fullUrl": url, "resource": r}
        for url, r in by_url.items()
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def fhir_client(token: str | None = None, timeout: float = TIMEOUT_SECONDS) -> httpx.Client:
    """An HTTP client asking for FHIR JSON, with the bearer token when given."""
    headers = {"Accept": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(headers=headers, timeout=timeout, follow_redirects=False)


def pull_patient(
    base: str,
    patient_id: str,
    *,
    token: str | None = None,
    backend: BackendClient | None = None,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
    id_system: str | None = None,
) -> tuple[PatientRecord, ImportReport]:
    """Read one patient from a FHIR R4 server and map it into a record with the import report.

    Authorization: ``token`` (bearer), else ``backend`` (SMART Backend Services), else none.
    Raises :class:`PullError` when the server cannot be read and :class:`InputError` when the
    resources are invalid or map to an invalid record."""
    if not patient_id or "/" in patient_id or "?" in patient_id:
        raise InputError([Problem(base, "not a FHIR id", field="patient", value=patient_id)])
    notes: list[str] = []
    with fhir_client(token) as client, fhir_client() as token_client:
        if token is None and backend is not None:
            client.auth = BackendAuth(token_client, base, backend)
        data = pull_bundle(client, base, patient_id, page_size, progress, notes)
    source = f"{shown_url(base.rstrip('/'))}/Patient/{patient_id}"
    records, report = bundle_records(data, source, id_system)
    for note in notes:
        report.note(note)
    if len(records) != 1:
        raise PullError(f"{source}: expected one patient, mapped {len(records)}")
    return records[0], report
