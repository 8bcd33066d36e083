"""The FastAPI application: settings checked and the database schema required at startup."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

from icaht import __version__
from icaht.knowledge.profile import load_profile
from icaht.service import problems
from icaht.service.api import router
from icaht.service.body_limit import BodyLimit
from icaht.service.cds_auth import JwksClients
from icaht.service.cds_cors import CdsCors
from icaht.service.cds_hooks import router as cds_router
from icaht.service.dashboard import install as install_dashboard
from icaht.service.settings import ServiceSettings
from icaht.service.signin_limits import SignInLimiter
from icaht.service.smart import router as smart_router
from icaht.service.versioned_cache import VersionedCache
from icaht.store.database import make_engine, require_current
from icaht.store.settings import StoreSettings


def create_app(
    settings: ServiceSettings | None = None, store: StoreSettings | None = None
) -> FastAPI:
    """The application for the configured database (refuses unsafe settings or an old schema)."""
    service = settings or ServiceSettings()
    service.check()
    engine = make_engine((store or StoreSettings()).url())
    require_current(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # What exists at start-up (modules, the app, the profile) lives as long as the process;
        # frozen, the garbage collector stops walking it on every full collection (which made
        # one request in twenty take 60-110 ms instead of 5).
        gc.freeze()
        yield
        engine.dispose()

    app = FastAPI(
        title="icaht",
        version=__version__,
        description="Cytopenias after CAR T-cell therapy. Decision support only, not a medical "
        "device.",
        lifespan=lifespan,
    )
    app.state.settings = service
    app.state.profile = load_profile(service.profile)  # an invalid profile stops the start
    app.state.engine = engine
    app.state.sessions = sessionmaker(engine)
    app.state.assessments = VersionedCache[Any](service.assessment_cache_entries)
    app.state.summaries = VersionedCache[Any](service.assessment_cache_entries)
    app.state.jwks = JwksClients()
    app.state.signin_limits = SignInLimiter(service)
    problems.install(app)
    app.add_middleware(BodyLimit, settings=service)
    app.add_middleware(CdsCors, origins=service.cds_cors_origins)  # outermost: on every answer
    app.include_router(router)
    app.include_router(cds_router)
    app.include_router(smart_router)
    install_dashboard(app)  # pages at /, static files, browser sessions
    return app
