"""Service settings (environment, prefix ``ICAHT_``). Outside demo mode the server refuses to
start with the default secret, a short or repetitive secret, or CDS clients without
``ICAHT_PUBLIC_URL`` (the audience of their tokens is never taken from a request's Host header).

A request names a profile by name only (``?profile=``): a shipped one or one an admin registered
in ``ICAHT_PROFILES``; the service never reads a file path a caller gives."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from icaht.errors import IcahtError, ProfileError
from icaht.knowledge.profile import Profile, load_profile, load_shipped_profile, shipped_profiles

DEFAULT_SECRET = "demo-secret-change-me"
#: Project default: the shortest ``ICAHT_SECRET_KEY`` accepted outside demo mode
#: (``secrets.token_urlsafe(32)`` gives 43 characters).
MIN_SECRET_CHARS = 32
#: Project default: the least estimated entropy of ``ICAHT_SECRET_KEY`` outside demo mode
#: (bits: the Shannon entropy of its characters times its length, which underestimates a
#: random secret: 32 random hex digits, 128 bits, score about 110).
MIN_SECRET_BITS = 96
MIB = 1024 * 1024


class CdsClient(BaseModel):
    """A trusted CDS client: where its signing keys are (JWKS URL) and the FHIR bases its calls
    may name as ``fhirServer`` (the prefetch-fetch sends the call's access token only there)."""

    model_config = ConfigDict(extra="forbid")
    jwks: str = Field(min_length=1)
    fhir_servers: list[str] = []


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICAHT_", extra="ignore")
    demo: bool = False
    secret_key: str = DEFAULT_SECRET
    profile: str = "seed-2023"
    #: Project default: assessments kept per server process (keyed by patient data version).
    assessment_cache_entries: int = 4096
    #: CDS Hooks clients trusted (``ICAHT_CDS_CLIENTS``, a JSON object): issuer -> JWKS URL, or
    #: issuer -> ``{"jwks": URL, "fhir_servers": [FHIR base, ...]}``. A call's ``fhirServer``
    #: must lie under one of its client's FHIR bases (none listed: nothing is fetched).
    cds_clients: dict[str, str | CdsClient] = {}
    #: Demo mode only: FHIR bases an unsigned call may name as ``fhirServer`` even on a loopback,
    #: link-local or private address (other unsigned calls may name only public addresses).
    cds_demo_fhir_servers: list[str] = []
    #: Browser origins that may call the CDS Hooks endpoints (``ICAHT_CDS_CORS_ORIGINS``, JSON
    #: list; ``["*"]``: any; ``[]``: none). Default: the public CDS Hooks sandbox
    #: (``service.cds_cors``).
    cds_cors_origins: list[str] = ["https://sandbox.cds-hooks.org"]
    #: The service's public base URL (the CDS JWT audience is built from it; required outside
    #: demo mode when CDS clients are configured).
    public_url: str | None = None
    #: Project default: the largest request body of the REST API and dashboard forms (413 above).
    max_body_bytes: int = Field(default=8 * MIB, ge=1024)
    #: Project default: the largest CDS Hooks call (a prefetch resource is about 600 bytes: a
    #: prefetch of 5,000 labs is about 3 MB).
    max_cds_body_bytes: int = Field(default=8 * MIB, ge=1024)
    #: Project default: the largest dashboard upload form (a 5 MB file, form-encoded).
    max_upload_body_bytes: int = Field(default=20 * MIB, ge=1024)
    #: Project default: seconds a worker process may take to answer uvicorn's health ping
    #: before uvicorn kills it (uvicorn's own default is 5).
    worker_healthcheck_seconds: int = Field(default=20, ge=1)
    #: Project default: failed sign-ins of one user name within the window before it is locked.
    signin_account_failures: int = Field(default=10, ge=1)
    #: Project default: failed sign-ins from one address within the window before it is locked.
    signin_address_failures: int = Field(default=30, ge=1)
    #: Project default: the window in which failed sign-ins are counted, in seconds.
    signin_window_seconds: int = Field(default=900, ge=1)
    #: Project default: how long a locked user name or address is refused, in seconds.
    signin_lockout_seconds: int = Field(default=900, ge=1)
    #: SMART App Launch (README, EHR integration): client id registered at the EHR; unset = off.
    smart_client_id: str | None = None
    #: The callback URL registered at the EHR (``https://<host>/smart/callback``).
    smart_redirect_url: str | None = None
    smart_scopes: str = "launch launch/patient openid fhirUser patient/*.read"
    #: FHIR base URLs trusted as launch issuers (``ICAHT_SMART_ISSUERS``, JSON list), plus the
    #: default FHIR base of a standalone launch (``ICAHT_SMART_FHIR_BASE``).
    smart_issuers: list[str] = []
    smart_fhir_base: str | None = None
    #: Confidential client: a PEM private key (private_key_jwt, RS384/ES384) or a client secret
    #: (client_secret_basic); neither = public client (PKCE only).
    smart_key_file: str | None = None
    smart_client_secret: str | None = None
    #: Profiles an admin registered for ``?profile=``: name -> TOML file on the server
    #: (``ICAHT_PROFILES`` as a JSON object); shipped profiles need no registration.
    profiles: dict[str, str] = {}
    #: Addresses of reverse proxies whose ``X-Forwarded-For`` is trusted (``ICAHT_TRUSTED_PROXIES``,
    #: JSON list of IPs or networks). Project default: none, the peer address is recorded.
    trusted_proxies: list[str] = []

    def check(self) -> None:
        """Refuse unsafe settings outside demo mode."""
        if self.demo:
            return
        if self.secret_key == DEFAULT_SECRET:
            raise IcahtError(
                "ICAHT_SECRET_KEY is the default: set a secret (or ICAHT_DEMO=1 for a demo)"
            )
        if len(self.secret_key) < MIN_SECRET_CHARS or secret_bits(self.secret_key) < (
            MIN_SECRET_BITS
        ):
            raise IcahtError(
                f"ICAHT_SECRET_KEY is too weak: use at least {MIN_SECRET_CHARS} random "
                "characters, e.g. "
                '`python -c "import secrets; print(secrets.token_urlsafe(32))"`'
            )
        if self.cds_clients and not self.public_url:
            raise IcahtError(
                "ICAHT_CDS_CLIENTS is set but ICAHT_PUBLIC_URL is not: the audience of the "
                "clients' tokens must be this service's public URL (never a request's Host)"
            )

    def cds_client(self, issuer: str) -> CdsClient | None:
        """The configured client of an issuer (a bare JWKS URL lists no FHIR bases)."""
        found = self.cds_clients.get(issuer)
        return CdsClient(jwks=found) if isinstance(found, str) else found


def secret_bits(secret: str) -> float:
    """An estimate of a secret's entropy in bits: the Shannon entropy of its character
    frequencies times its length (a repeated or one-letter secret scores low)."""
    counts = Counter(secret)
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return per_char * len(secret)


def profile_in_force(request: Request) -> Profile:
    """The profile the server runs with (``ICAHT_PROFILE``), parsed once at start-up."""
    profile: Profile = request.app.state.profile
    return profile


def profile_names(request: Request) -> list[str]:
    """The profiles a request may name: shipped and admin-registered."""
    settings: ServiceSettings = request.app.state.settings
    return sorted({*shipped_profiles(), *settings.profiles})


def named_profile(request: Request, name: str) -> Profile:
    """A shipped or admin-registered profile by name (never a path a caller gives);
    :class:`ProfileError` naming the choices otherwise."""
    settings: ServiceSettings = request.app.state.settings
    if name in settings.profiles:
        return load_profile(settings.profiles[name])
    if name in shipped_profiles():
        return load_shipped_profile(name)
    choices = ", ".join(profile_names(request))
    raise ProfileError(name[:64], [f"no such profile; available: {choices}"])


def proxy_options(settings: ServiceSettings) -> dict[str, Any]:
    """uvicorn's options for ``X-Forwarded-For``: honoured only from the configured proxies."""
    proxies = settings.trusted_proxies
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or []}
