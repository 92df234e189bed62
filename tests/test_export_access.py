"""Export pages for a partnership manager (figures, not decisions), access to an export checked
again at every look (the owner's current role, organisation and filters; refusals logged), and
how long export files are kept."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.urls import reverse

from decisions.models import AuditEvent, Export, ExportStatus, Role, User
from decisions.reports import exports
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    settings.ISG_EXPORTS_DIR = tmp_path / "exports"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def long_exports(monkeypatch):
    monkeypatch.setattr(exports, "BACKGROUND_SECONDS", -1)


@pytest.fixture
def export(manager, made, long_exports) -> Export:
    """A finished background export of the manager's."""
    response = client_for(manager).post(reverse("report_export_start"), {"kind": "csv"})
    assert response.status_code == 302
    return Export.objects.get(owner=manager)


# ---- A partnership manager gets aggregates only --------------------------------------------


def test_a_partnership_managers_csv_is_the_figures_not_the_decisions(partnership_manager, made):
    response = client_for(partnership_manager).post(
        reverse("report_export_start"), {"kind": "csv", "organisation": "all"}
    )
    assert response["Content-Disposition"].startswith('attachment; filename="isg-report-figures-')
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {"Section", "Figure", "Value"} == set(rows[0])
    assert {"Summary", "Decisions", "fewer than 5"} <= set(
        next(r for r in rows if r["Section"] == "Summary").values()
    )
    assert not any(d.reference in body for d in made)


def test_the_partnership_export_button_says_it_gives_figures(partnership_manager):
    page = client_for(partnership_manager).get(reverse("reports")).content.decode()
    assert "Download figures (CSV)" in page
    assert "Download decisions (CSV)" not in page


# ---- Access to an export is checked again at each look ------------------------------------


def refusals(public_id) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="access.refused", object_id=str(public_id)))


def looks(user, export) -> list[int]:
    client = client_for(user)
    return [
        client.get(reverse(name, args=[export.public_id])).status_code
        for name in ("report_export", "report_export_download")
    ]


def test_an_owner_who_moved_organisation_gets_404_and_it_is_logged(manager, export, other_org):
    User.objects.filter(pk=manager.pk).update(organisation=other_org)
    manager.refresh_from_db()
    assert looks(manager, export) == [404, 404]
    assert [e.details["reason"] for e in refusals(export.public_id)] == [
        "organisation_changed",
        "organisation_changed",
    ]
    assert not AuditEvent.objects.filter(action="report.export_downloaded").exists()


def test_an_owner_who_is_no_longer_a_manager_is_refused_and_it_is_logged(manager, export):
    User.objects.filter(pk=manager.pk).update(role=Role.PRACTITIONER)
    manager.refresh_from_db()
    assert looks(manager, export) == [403, 403]  # refused by the page guard, before the export
    assert AuditEvent.objects.filter(action="access.refused", details__reason="role").count() == 2


def test_an_owner_whose_filters_no_longer_hold_gets_404(partnership_manager, made, long_exports):
    client = client_for(partnership_manager)
    client.post(reverse("report_export_start"), {"kind": "csv", "organisation": "all"})
    export = Export.objects.get(owner=partnership_manager)
    User.objects.filter(pk=partnership_manager.pk).update(partnership_wide=False)
    partnership_manager.refresh_from_db()
    assert looks(partnership_manager, export) == [404, 404]
    assert refusals(export.public_id)[0].details["reason"] == "filters_not_allowed"


def test_a_file_made_in_full_is_refused_to_an_owner_now_limited_to_aggregates(
    admin_user, made, long_exports
):
    client_for(admin_user).post(reverse("report_export_start"), {"kind": "csv"})
    export = Export.objects.get(owner=admin_user)
    assert looks(admin_user, export) == [200, 200]
    User.objects.filter(pk=admin_user.pk).update(role=Role.MANAGER, partnership_wide=True)
    admin_user.refresh_from_db()
    assert looks(admin_user, export) == [404, 404]
    assert refusals(export.public_id)[0].details["reason"] == "aggregate_only"


def test_an_unknown_export_is_logged_as_a_refusal(as_manager):
    unknown = uuid.uuid4()
    as_manager.get(reverse("report_export_download", args=[unknown]))
    assert refusals(unknown)[0].details["reason"] == "not_found"


def test_exports_made_in_an_earlier_organisation_are_not_listed(manager, export, other_org):
    User.objects.filter(pk=manager.pk).update(organisation=other_org)
    manager.refresh_from_db()
    page = client_for(manager).get(reverse("report_exports")).content.decode()
    assert str(export.public_id) not in page


def test_an_export_download_is_not_stored_by_caches(manager, export):
    response = client_for(manager).get(reverse("report_export_download", args=[export.public_id]))
    assert response["Cache-Control"] == "no-store"
    response.close()


# ---- Retention ------------------------------------------------------------------------------


def test_the_export_pages_say_how_long_files_are_kept(manager, export, made):
    client = client_for(manager)
    pages = {
        "reports": client.get(reverse("reports")),
        "list": client.get(reverse("report_exports")),
        "status": client.get(reverse("report_export", args=[export.public_id])),
    }
    assert "kept for 7 days, then deleted" in pages["reports"].content.decode()
    assert "deleted 7 days after it was prepared" in pages["list"].content.decode()
    assert "ISG deletes this file 7 days after it was prepared, on " in (
        pages["status"].content.decode()
    )


def test_a_deleted_export_says_so_and_cannot_be_downloaded(manager, export):
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.DELETED)
    client = client_for(manager)
    page = client.get(reverse("report_export", args=[export.public_id])).content.decode()
    assert "This export's file has been deleted" in page
    response = client.get(reverse("report_export_download", args=[export.public_id]))
    assert response["Location"] == reverse("report_export", args=[export.public_id])
