"""The dashboard's own queries (data versions of the list, decisions in the audit log, upload)
on both databases: the embedded SQLite and a real PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.service.dashboard.conftest import EXAMPLES, csrf_of

from icaht.io.records import read_records
from icaht.service.app import create_app
from icaht.service.settings import ServiceSettings
from icaht.store.database import make_engine, upgrade
from icaht.store.patients import import_records
from icaht.store.settings import StoreSettings


def test_list_decision_and_upload_on_each_database(database_url: str) -> None:
    store = StoreSettings(database_url=database_url)
    engine = make_engine(store.url())
    upgrade(engine)
    with Session(engine) as session, session.begin():
        import_records(session, read_records(EXAMPLES / "baur.json"), "baur")
    engine.dispose()
    with TestClient(create_app(ServiceSettings(demo=True), store)) as client:
        listed = client.get("/patients")
        assert "baur-2021" in listed.text
        page = client.get("/patient?id=baur-2021").text
        form = {"csrf_token": csrf_of(page), "id": "baur-2021", "as_of": "180"}
        rule = page.split('data-rule="', 1)[1].split('"', 1)[0]
        done = client.post("/patient/decision", data={**form, "rule_id": rule, "choice": "accept"})
        assert "Acknowledged by demo" in done.text
        upload = client.post(
            "/upload",
            data={"csrf_token": csrf_of(page), "target": "baur-2021"},
            files={"file": ("a.csv", b"day,analyte,value,unit\n181,anc,1.5,10^9/L\n", "text/csv")},
        )
        assert "Ready to import" in upload.text
        again = client.get("/patients")  # the row is recomputed only when the data change
        assert again.status_code == 200
