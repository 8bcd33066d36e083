"""Service settings (environment, prefix ``ICAHT_``). Outside demo mode the server refuses to
start with the default secret."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from icaht.errors import IcahtError

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

    def check(self) -> None:
        """Refuse unsafe settings outside demo mode."""
        if not self.demo and self.secret_key == DEFAULT_SECRET:
            raise IcahtError(
                "ICAHT_SECRET_KEY is the default: set a secret (or ICAHT_DEMO=1 for a demo)"
            )
