"""The reports pages and export views: who may use them, bad input, and what they return."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.forms.reports import financial_year_start
from decisions.models import AuditEvent, Export, ExportStatus, Role
from decisions.reports import exports
from tests.conftest import client_for
from tests.factories import UserFactory, answered_decision

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    settings.ISG_EXPORTS_DIR = tmp_path / "exports"
    settings.TASKS = IMMEDIATE


@pytest.fixture
def long_exports(monkeypatch):
    monkeypatch.setattr(exports, "BACKGROUND_SECONDS", -1)


@pytest.fixture
def export(manager, made, long_exports) -> Export:
    """A finished background export of the manager's."""
    response = client_for(manager).post(reverse("report_export_start"), {"kind": "csv"})
    assert response.status_code == 302
    return Export.objects.get(owner=manager)


def dates(start, end) -> dict[str, str]:
    return {
        "date_from_0": str(start.day),
        "date_from_1": str(start.month),
        "date_from_2": str(start.year),
        "date_to_0": str(end.day),
        "date_to_1": str(end.month),
        "date_to_2": str(end.year),
    }


def today():
    return timezone.localdate()


def error_summary(response) -> str:
    page = response.content.decode()
    match = re.search(r'<div class="govuk-error-summary".*?</ul>', page, re.S)
    assert match, "no error summary on the page"
    return match.group(0)


# ---- Who may see the reports ------------------------------------------------------------

REPORT_GETS = ["reports", "report_exports"]


@pytest.mark.parametrize("name", REPORT_GETS)
def test_signed_out_visitors_are_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", REPORT_GETS)
@pytest.mark.parametrize("role", ["practitioner", "lead"])
def test_practitioners_and_leads_are_refused(request, name, role):
    user = request.getfixturevalue(role)
    assert client_for(user).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("role", ["practitioner", "lead"])
def test_practitioners_and_leads_cannot_start_an_export(request, role):
    user = request.getfixturevalue(role)
    response = client_for(user).post(reverse("report_export_start"), {"kind": "csv"})
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["report_export", "report_export_download"])
@pytest.mark.parametrize("role", ["practitioner", "lead"])
def test_practitioners_and_leads_cannot_open_an_export(request, role, name, export):
    user = request.getfixturevalue(role)
    url = reverse(name, args=[export.public_id])
    assert client_for(user).get(url).status_code == 403


def test_a_manager_cannot_export_another_organisations_decisions(as_manager, other_org):
    response = as_manager.post(
        reverse("report_export_start"), {"kind": "csv", "organisation": other_org.slug}
    )
    assert response.status_code == 400
    assert "Select an organisation you can report on" in error_summary(response)
    assert not AuditEvent.objects.filter(action="report.exported").exists()


def test_a_signed_out_visitor_cannot_download_an_export(client, export):
    response = client.get(reverse("report_export_download", args=[export.public_id]))
    assert response["Location"].startswith(reverse("login"))


def test_a_manager_without_an_organisation_is_refused(org):
    loose = UserFactory(organisation=None, role=Role.MANAGER, email="loose@example.org")
    assert client_for(loose).get(reverse("reports")).status_code == 403


@pytest.mark.parametrize("role", ["manager", "admin_user"])
def test_managers_and_admins_see_the_reports_page(request, role):
    user = request.getfixturevalue(role)
    assert client_for(user).get(reverse("reports")).status_code == 200


def test_a_manager_lands_on_the_reports_page(as_manager):
    assert as_manager.get(reverse("home"))["Location"] == reverse("reports")


def test_a_manager_sees_their_organisations_decisions(as_manager, made):
    page = as_manager.get(reverse("reports")).content.decode()
    assert re.search(r'id="total-decisions">\s*2\s*<', page)


def test_a_manager_of_another_organisation_does_not_count_them(other_manager, made):
    page = client_for(other_manager).get(reverse("reports")).content.decode()
    assert re.search(r'id="total-decisions">\s*0\s*<', page)


def test_a_manager_choosing_another_organisation_gets_a_clear_message(as_manager, other_org):
    response = as_manager.get(reverse("reports"), {"organisation": other_org.slug})
    assert response.status_code == 400
    assert "Select an organisation you can report on" in error_summary(response)


def test_a_partnership_manager_may_choose_another_organisation(partnership_manager, other_org):
    data = {"organisation": other_org.slug, **dates(today() - timedelta(days=30), today())}
    response = client_for(partnership_manager).get(reverse("reports"), data)
    assert response.status_code == 200


def test_a_partnership_report_of_all_organisations_hides_small_counts(partnership_manager, made):
    page = client_for(partnership_manager).get(reverse("reports")).content.decode()
    assert re.search(r'id="total-decisions">\s*fewer than 5\s*<', page)
    assert "CASE-123" not in page


# ---- Other people's exports -------------------------------------------------------------


def test_another_organisations_manager_gets_404_for_an_export(export, other_manager):
    for name in ("report_export", "report_export_download"):
        response = client_for(other_manager).get(reverse(name, args=[export.public_id]))
        assert response.status_code == 404


def test_a_colleague_manager_gets_404_for_someone_elses_export(export, org):
    colleague = UserFactory(organisation=org, role=Role.MANAGER, email="mgr2@example.org")
    url = reverse("report_export_download", args=[export.public_id])
    assert client_for(colleague).get(url).status_code == 404


def test_an_admin_gets_404_for_a_managers_export(export, admin_user):
    url = reverse("report_export_download", args=[export.public_id])
    assert client_for(admin_user).get(url).status_code == 404


def test_an_unknown_export_id_gets_404(as_manager):
    assert as_manager.get(reverse("report_export", args=[uuid.uuid4()])).status_code == 404


def test_another_persons_exports_are_not_listed(export, org):
    colleague = UserFactory(organisation=org, role=Role.MANAGER, email="mgr2@example.org")
    page = client_for(colleague).get(reverse("report_exports")).content.decode()
    assert str(export.public_id) not in page


# ---- Bad input --------------------------------------------------------------------------


def test_an_end_date_before_the_start_date_is_explained(as_manager):
    response = as_manager.get(reverse("reports"), dates(today(), today() - timedelta(days=5)))
    assert response.status_code == 400
    assert "End date must be the same as or after the start date" in error_summary(response)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date_from_0": "31", "date_from_1": "2"}, "Start date must be a real date"),
        ({"date_from_2": "1900"}, "Start date must be on or after 1 January 2000"),
        ({"date_to_2": "2999"}, "End date must be today or in the past"),
        ({"date_from_0": "x"}, "Enter a valid date"),
        ({"date_from_0": "99999999999999999999"}, "Start date must be a real date"),
        ({"date_from_0": ""}, "Enter the day of the month"),
    ],
)
def test_impossible_dates_are_explained_not_a_500(as_manager, data, message):
    good = dates(today() - timedelta(days=30), today())
    response = as_manager.get(reverse("reports"), {**good, **data})
    assert response.status_code == 400
    assert message in error_summary(response)


def test_a_range_over_ten_years_is_refused(as_manager):
    start = today().replace(year=today().year - 11)
    response = as_manager.get(reverse("reports"), dates(start, today()))
    assert "A report can cover up to 10 years" in error_summary(response)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("outcome", "Choose outcome from the list"),
        ("purpose", "Choose purpose from the list"),
        ("status", "Choose status from the list"),
        ("direction", "Choose direction from the list"),
        ("lawful_reason", "Choose lawful reason to share without consent from the list"),
    ],
)
def test_an_unknown_filter_value_is_explained(as_manager, name, message):
    response = as_manager.get(reverse("reports"), {name: "<script>x</script>"})
    assert response.status_code == 400
    assert message in error_summary(response)


def test_drafts_cannot_be_chosen_as_a_status(as_manager):
    response = as_manager.get(reverse("reports"), {"status": "draft"})
    assert response.status_code == 400


def test_an_unknown_export_kind_is_explained(as_manager):
    response = as_manager.post(reverse("report_export_start"), {"kind": "xlsx"})
    assert response.status_code == 400
    assert "Choose what to export" in error_summary(response)


def test_an_export_with_bad_dates_is_explained(as_manager):
    data = {"kind": "csv", **dates(today(), today() - timedelta(days=1))}
    response = as_manager.post(reverse("report_export_start"), data)
    assert response.status_code == 400
    assert "End date must be the same as or after the start date" in error_summary(response)


def test_a_partnership_records_export_of_all_organisations_is_explained(partnership_manager):
    response = client_for(partnership_manager).post(
        reverse("report_export_start"), {"kind": "records", "organisation": "all"}
    )
    assert response.status_code == 400
    assert "can only be exported for your own organisation" in error_summary(response)


def test_the_export_address_only_takes_posts(as_manager):
    assert as_manager.get(reverse("report_export_start")).status_code == 405


# ---- The page ---------------------------------------------------------------------------


def test_the_page_says_what_is_counted(as_manager):
    assert "Drafts are not counted" in as_manager.get(reverse("reports")).content.decode()


def test_charts_are_images_with_a_table_of_their_numbers(as_manager, made):
    page = as_manager.get(reverse("reports")).content.decode()
    assert len(re.findall(r'<img class="isg-chart" src="/reports/charts/', page)) == 6
    assert '<caption class="govuk-table__caption govuk-table__caption--s">Decisions by outcome' in (
        page
    )


def test_the_page_has_no_inline_styles_or_scripts_for_the_csp(as_manager, made):
    response = as_manager.get(reverse("reports"))
    page = response.content.decode()
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert not re.search(r"\sstyle\s*=", page)
    assert "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)


def test_every_filter_has_a_label(as_manager):
    page = as_manager.get(reverse("reports")).content.decode()
    for name in ("organisation", "purpose", "outcome", "lawful_reason", "direction", "status"):
        assert f'<label for="id_{name}" class="govuk-label">' in page


# ---- Exports through the views ----------------------------------------------------------


def test_the_csv_download_streams_a_csv_attachment(as_manager, made):
    response = as_manager.post(reverse("report_export_start"), {"kind": "csv"})
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="isg-decisions-')
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted(r["Reference"] for r in rows) == sorted(d.reference for d in made)


def test_the_csv_download_uses_the_filters_sent(as_manager, made):
    response = as_manager.post(
        reverse("report_export_start"), {"kind": "csv", "outcome": "do_not_share"}
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert [r["Reference"] for r in csv.DictReader(io.StringIO(body))] == [made[1].reference]


def test_the_pdf_download_is_a_pdf(as_manager, made):
    response = as_manager.post(reverse("report_export_start"), {"kind": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_the_records_download_is_a_zip(as_manager, made):
    response = as_manager.post(reverse("report_export_start"), {"kind": "records"})
    assert response["Content-Type"] == "application/zip"
    assert b"".join(response.streaming_content).startswith(b"PK")


def test_a_download_is_recorded_with_its_filters(as_manager, manager, made):
    as_manager.post(reverse("report_export_start"), {"kind": "pdf"})
    event = AuditEvent.objects.get(action="report.exported")
    assert event.actor == manager
    assert event.details["kind"] == "pdf"
    assert event.details["filters"]["organisation"] == manager.organisation.slug


def test_a_long_export_sends_the_manager_to_its_status_page(export):
    assert export.status == ExportStatus.READY


def test_the_status_page_of_a_ready_export_links_to_its_download(manager, export):
    page = client_for(manager).get(reverse("report_export", args=[export.public_id]))
    assert reverse("report_export_download", args=[export.public_id]) in page.content.decode()


def test_the_status_page_of_a_waiting_export_offers_to_check_again(manager, export):
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.QUEUED)
    page = client_for(manager).get(reverse("report_export", args=[export.public_id]))
    assert "Check again" in page.content.decode()


def test_the_owner_downloads_a_ready_export(manager, export, made):
    response = client_for(manager).get(reverse("report_export_download", args=[export.public_id]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(body)))) == 2


def test_downloading_a_background_export_is_recorded(manager, export):
    client_for(manager).get(reverse("report_export_download", args=[export.public_id]))
    event = AuditEvent.objects.get(action="report.export_downloaded")
    assert event.object_id == str(export.public_id)
    assert event.details["filters"] == export.filters


def test_an_export_that_is_not_ready_cannot_be_downloaded_yet(manager, export):
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING)
    response = client_for(manager).get(reverse("report_export_download", args=[export.public_id]))
    assert response["Location"] == reverse("report_export", args=[export.public_id])


def test_export_addresses_carry_only_an_opaque_id(export):
    url = reverse("report_export_download", args=[export.public_id])
    assert url == f"/reports/exports/{export.public_id}/download/"


def test_the_exports_list_shows_the_owners_exports(manager, export):
    page = client_for(manager).get(reverse("report_exports")).content.decode()
    assert reverse("report_export", args=[export.public_id]) in page


def test_the_report_filter_form_puts_no_csrf_token_in_the_address_bar(manager):
    from tests.conftest import client_for

    page = client_for(manager).get("/reports/").content.decode()
    form = page[page.index("<main") : page.index("</main>")]
    assert "csrfmiddlewaretoken" not in form.split('method="get"', 1)[-1].split("</form>")[0]


# ---- The summary ------------------------------------------------------------------------


def test_the_summary_rows_add_up_to_the_total_with_you_can_share(as_manager, practitioner):
    answered_decision(practitioner, "can_share", submit=True)
    answered_decision(practitioner, "share_with_consent", submit=True)
    page = as_manager.get(reverse("reports")).content.decode()
    summary = page[
        page.index('<h2 class="govuk-heading-l">Summary</h2>') : page.index(">Export</h2>")
    ]
    assert "You can share" in summary
    counts = {
        key: int(re.sub(r"<[^>]+>", "", value).split()[0])
        for key, value in re.findall(r'id="summary-([a-z_]+)">(.*?)</dd>', summary, re.S)
    }
    assert counts == {
        "share_with_consent": 1,
        "share_without_consent": 0,
        "can_share": 1,
        "do_not_share": 0,
    }
    assert re.search(r'id="total-decisions">\s*2\s*<', summary)


def test_sign_off_is_worded_as_by_a_safeguarding_lead(as_manager, made):
    page = as_manager.get(reverse("reports")).content.decode()
    assert "Decisions signed off by a safeguarding lead" in page
    assert "supervisor" not in page.lower()
    assert "approved by a manager" not in page.lower()


# ---- Period presets ---------------------------------------------------------------------


def preset_links(page: str) -> dict[str, str]:
    found = re.findall(r'<a class="govuk-link" href="(/reports/\?[^"]+)"[^>]*>([^<]+)</a>', page)
    return {label: html.unescape(href) for href, label in found}


def test_the_page_offers_period_presets_beside_the_dates(as_manager):
    page = as_manager.get(reverse("reports")).content.decode()
    links = preset_links(page)
    assert list(links) == ["This quarter", "Last quarter", "Last 12 months", "This financial year"]
    # Beside the dates: after the end date's inputs, before the other filters.
    assert (
        page.index("id_date_to") < page.index("Or choose a period") < page.index("id_organisation")
    )


def test_a_preset_link_fills_the_dates_and_keeps_the_other_filters(as_manager, manager):
    data = {"outcome": "can_share", "organisation": manager.organisation.slug}
    links = preset_links(as_manager.get(reverse("reports"), data).content.decode())
    sent = {k: v[0] for k, v in parse_qs(urlsplit(links["This financial year"]).query).items()}
    start = financial_year_start(today())
    assert sent == {
        "organisation": manager.organisation.slug,
        "outcome": "can_share",
        "date_from_0": str(start.day),
        "date_from_1": str(start.month),
        "date_from_2": str(start.year),
        "date_to_0": str(today().day),
        "date_to_1": str(today().month),
        "date_to_2": str(today().year),
    }


def test_every_preset_link_shows_a_report(as_manager, made):
    for label, href in preset_links(as_manager.get(reverse("reports")).content.decode()).items():
        response = as_manager.get(href)
        assert response.status_code == 200, label
        assert re.search(r'id="total-decisions">', response.content.decode())


def test_the_preset_being_shown_is_marked(as_manager):
    start = financial_year_start(today())
    page = as_manager.get(reverse("reports"), dates(start, today())).content.decode()
    marked = re.findall(r'href="/reports/\?[^"]+" aria-current="true">([^<]+)<', page)
    assert "This financial year" in marked


def test_presets_keep_only_valid_filters_when_the_form_has_errors(as_manager):
    response = as_manager.get(reverse("reports"), {"outcome": "<script>x</script>"})
    assert response.status_code == 400
    for href in preset_links(response.content.decode()).values():
        assert "script" not in href and "outcome" not in href


# ---- The background export's page -------------------------------------------------------


def test_a_waiting_export_page_refreshes_itself_without_script(manager, export):
    for status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        Export.objects.filter(pk=export.pk).update(status=status)
        response = client_for(manager).get(reverse("report_export", args=[export.public_id]))
        page = response.content.decode()
        head = page[: page.index("</head>")]
        assert '<meta http-equiv="refresh" content="5">' in head
        assert "refreshes itself every 5 seconds" in page
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)
        # The CSP limits scripts and styles; a meta refresh is neither, so it still applies.
        assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("status", [ExportStatus.READY, ExportStatus.FAILED])
def test_a_finished_export_page_stops_refreshing_and_says_so(manager, export, status):
    Export.objects.filter(pk=export.pk).update(status=status)
    page = client_for(manager).get(reverse("report_export", args=[export.public_id]))
    text = page.content.decode()
    assert 'http-equiv="refresh"' not in text
    assert "this page no longer refreshes itself" in text


def test_the_reader_can_stop_a_waiting_page_refreshing(manager, export):
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.QUEUED)
    url = reverse("report_export", args=[export.public_id])
    page = client_for(manager).get(url).content.decode()
    assert f'href="{url}?refresh=off"' in page
    stopped = client_for(manager).get(url, {"refresh": "off"}).content.decode()
    assert 'http-equiv="refresh"' not in stopped
    assert "This page does not refresh itself" in stopped and "Check again" in stopped
