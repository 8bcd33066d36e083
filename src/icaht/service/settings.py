"""Service settings (environment, prefix ``ICAHT_``). Outside demo mode the server refuses to
start with the default secret."""

from __future__ import annotations

from fastapi import Request
from pydantic_settings import BaseSettings, SettingsConfigDict

from icaht.errors import IcahtError
from icaht.knowledge.profile import Profile

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
