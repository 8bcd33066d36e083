"""Service settings (environment, prefix ``ICAHT_``). Outside demo mode the server refuses to
start with the default secret.

A request names a profile by name only (``?profile=``): a shipped one or one an admin registered
in ``ICAHT_PROFILES``; the service never reads a file path a caller gives."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic_settings import BaseSettings, SettingsConfigDict

from icaht.errors import IcahtError, ProfileError
from icaht.knowledge.profile import Profile, load_profile, load_shipped_profile, shipped_profiles

DEFAULT_SECRET = "demo-secret-change-me"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICAHT_", extra="ignore")
    demo: bool = False
    secret_key: str = DEFAULT_SECRET
    profile: str = "seed-2023"
    #: Project default: assessments kept per server process (keyed by patient data version).
    assessment_cache_entries: int = 4096
    #: CDS Hooks clients trusted: issuer -> JWKS URL (``ICAHT_CDS_CLIENTS`` as a JSON object).
    cds_clients: dict[str, str] = {}
    #: The service's public base URL when behind a proxy (the JWT audience is built from it).
    public_url: str | None = None
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
        if not self.demo and self.secret_key == DEFAULT_SECRET:
            raise IcahtError(
                "ICAHT_SECRET_KEY is the default: set a secret (or ICAHT_DEMO=1 for a demo)"
            )


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
