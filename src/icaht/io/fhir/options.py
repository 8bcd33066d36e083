"""Site settings of a FHIR import: the site's time zone (``ICAHT_TIMEZONE``) and the profile's
FHIR settings (hs-CRP, the lymphodepletion window)."""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icaht.errors import InputError, Problem
from icaht.knowledge.profile import Profile, load_profile
from icaht.knowledge.profile.inputs import FhirImportSettings

#: Environment variable naming the site's IANA time zone (default UTC).
TIMEZONE_ENV = "ICAHT_TIMEZONE"


def site_timezone() -> tzinfo:
    """The site's time zone from ``ICAHT_TIMEZONE`` (an IANA name such as America/Chicago);
    UTC when unset. An unknown name is an error: days would be counted wrongly."""
    name = os.environ.get(TIMEZONE_ENV, "").strip()
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problem = Problem(TIMEZONE_ENV, "not an IANA time zone name", value=name)
        raise InputError([problem]) from None


def site_today() -> date:
    """Today's date at the site (``ICAHT_TIMEZONE``): the default as-of day of a live EHR call
    (docs/architecture.md "As-of"); a call at 21:00 in Chicago is still that day there."""
    return datetime.now(site_timezone()).date()


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How instants become days (the site's zone) and the profile's FHIR settings."""

    zone: tzinfo = UTC
    settings: FhirImportSettings = field(default_factory=FhirImportSettings)

    @classmethod
    def for_site(cls, profile: Profile | None = None) -> ImportOptions:
        """The site's zone and the settings of ``profile`` (default: the default profile)."""
        chosen = profile if profile is not None else load_profile()
        return cls(site_timezone(), chosen.fhir)


_ZONE: ContextVar[tzinfo] = ContextVar("icaht_fhir_zone", default=UTC)


def local(moment: date | datetime) -> date | datetime:
    """An instant with a zone as the wall-clock time of the site's zone (naive), so that its
    day is the site's local day; dates and naive times are kept as written."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(_ZONE.get()).replace(tzinfo=None)
    return moment


def use_zone(zone: tzinfo) -> None:
    """Set the zone :func:`local` converts to (for the mapping of the current context)."""
    _ZONE.set(zone)
