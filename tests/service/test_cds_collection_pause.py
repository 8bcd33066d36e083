"""The cyclic garbage collector is paused while a CDS Hooks call is answered (issue 17: a
5,000-lab prefetch made full collections a third of a call's time) and resumed after it, also
when pauses overlap or the call fails."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.test_cds_hooks import HOOK_URL, call

from icaht.service import cds_hooks
from icaht.service.app import create_app
from icaht.service.collection_pause import collection_paused
from icaht.service.settings import ServiceSettings
from icaht.store.settings import StoreSettings


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The collector running before the test and after it, whatever the test did."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()
    else:
        gc.enable()


@pytest.mark.usefixtures("collector_on")
def test_overlapping_pauses_resume_when_the_last_ends() -> None:
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_failure_resumes_the_collector() -> None:
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_stopped_before_stays_stopped() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


@pytest.mark.usefixtures("collector_on")
def test_patient_view_is_answered_with_the_collector_paused(
    store: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    answer = cds_hooks.patient_answer

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return answer(*args, **kwargs)

    monkeypatch.setattr(cds_hooks, "patient_answer", spy)
    app = create_app(ServiceSettings(demo=True, assessment_cache_entries=0), store)
    with TestClient(app) as client:
        response = client.post(HOOK_URL, json=call("jain-case1", "p-gc"))
        assert response.status_code == 200, response.text
        assert seen == [False]
        assert gc.isenabled()
