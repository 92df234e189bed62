"""The reports page's charts at their own addresses (decisions.views.reports.chart): who may
fetch them, what a fetch draws and keeps, and the drawings themselves (no text cut off)."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse
from matplotlib.backends.backend_agg import FigureCanvasAgg
from pypdf import PdfReader

from decisions.models import Role
from decisions.reports import charts, documents
from decisions.reports.figures import Month, Rate
from decisions.reports.filters import ReportFilters
from decisions.reports.suppression import Figure
from tests.conftest import client_for
from tests.factories import UserFactory, answered_decision

pytestmark = pytest.mark.django_db

CHART_SRC = re.compile(r'<img class="isg-chart" src="([^"]+)" alt="([^"]+)" width="(\d+)"')
NAMES = ["outcomes", "months", "rates", "lawful_reasons", "gdpr_bases", "purposes"]


@pytest.fixture
def draws(monkeypatch):
    """The titles of the charts drawn, in order."""
    drawn: list[str] = []
    real = charts.draw
    monkeypatch.setattr(charts, "draw", lambda plot: drawn.append(plot.name) or real(plot))
    return drawn


def chart_sources(client) -> dict[str, str]:
    """Each chart's image address on the reports page, by chart name."""
    page = client.get(reverse("reports")).content.decode()
    sources = [html.unescape(src) for src, _, _ in CHART_SRC.findall(page)]
    return {urlsplit(src).path.split("/")[3]: src for src in sources}


def tampered(src: str) -> str:
    """The address with the last character of its digest changed."""
    path, query = src.split("?", 1)
    digest = path.rsplit("/", 1)[1].removesuffix(".svg")
    changed = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    return f"{path.replace(digest, changed)}?{query}"


# ---- The page ---------------------------------------------------------------------------


def test_the_page_shows_each_chart_as_an_image_at_its_own_address(as_manager, made):
    page = as_manager.get(reverse("reports")).content.decode()
    found = CHART_SRC.findall(page)
    assert len(found) == 6
    for src, alt, width in found:
        assert re.match(r"/reports/charts/[a-z_]+/[0-9a-f]{64}\.svg\?date_from_0=", src)
        assert alt.endswith("The numbers are in the table next to it.")
        assert width == "614"
    assert "data:image" not in page


def test_the_page_draws_no_chart(as_manager, made, draws):
    assert as_manager.get(reverse("reports")).status_code == 200
    assert draws == []


def test_a_chart_address_carries_only_the_filters_and_the_digest(as_manager, made, manager):
    for src in chart_sources(as_manager).values():
        query = urlsplit(src).query
        assert manager.email not in src and "CASE-" not in src
        names = {pair.split("=")[0] for pair in query.split("&")}
        assert names == {
            *(f"date_{end}_{part}" for end in ("from", "to") for part in range(3)),
            *("organisation", "purpose", "outcome", "lawful_reason", "direction", "status"),
        }


# ---- The image --------------------------------------------------------------------------


def test_a_chart_is_an_svg_image(as_manager, made):
    response = as_manager.get(chart_sources(as_manager)["outcomes"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "Share with consent" in svg and "<script" not in svg


def test_every_chart_of_the_page_is_served(as_manager, made):
    sources = chart_sources(as_manager)
    assert sorted(sources) == sorted(NAMES)
    for src in sources.values():
        assert as_manager.get(src).status_code == 200


def test_a_chart_may_be_kept_by_the_browser_only(as_manager, made):
    response = as_manager.get(chart_sources(as_manager)["months"])
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert "Pragma" not in response


def test_the_page_itself_is_still_not_stored(as_manager, made):
    assert as_manager.get(reverse("reports"))["Cache-Control"] == "no-store"


def test_a_chart_has_a_policy_of_its_own_with_no_script(as_manager, made):
    policy = as_manager.get(chart_sources(as_manager)["rates"])["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy


def test_a_chart_is_drawn_once_for_its_numbers(as_manager, made, manager, draws):
    src = chart_sources(as_manager)["outcomes"]
    as_manager.get(src)
    as_manager.get(src)
    colleague = UserFactory(organisation=manager.organisation, role=Role.MANAGER)
    assert client_for(colleague).get(chart_sources(client_for(colleague))["outcomes"]).content
    assert draws == ["outcomes"]


# ---- Who may fetch a chart ----------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(client, as_manager, made):
    response = client.get(chart_sources(as_manager)["outcomes"])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["practitioner", "lead"])
def test_practitioners_and_leads_are_refused(request, role, as_manager, made):
    src = chart_sources(as_manager)["outcomes"]
    assert client_for(request.getfixturevalue(role)).get(src).status_code == 403


def test_another_organisations_manager_gets_404(as_manager, made, other_manager):
    src = chart_sources(as_manager)["outcomes"]
    assert client_for(other_manager).get(src).status_code == 404


def test_another_organisations_digest_with_ones_own_filters_is_404(as_manager, made, other_manager):
    theirs = chart_sources(as_manager)["outcomes"]
    own = chart_sources(client_for(other_manager))["outcomes"]
    forged = own.split("?")[0].rsplit("/", 1)[0] + "/" + theirs.split("?")[0].rsplit("/", 1)[1]
    forged += "?" + own.split("?")[1]
    assert client_for(other_manager).get(forged).status_code == 404


def test_a_tampered_digest_is_404(as_manager, made):
    assert as_manager.get(tampered(chart_sources(as_manager)["purposes"])).status_code == 404


def test_a_chart_the_report_does_not_have_is_404(as_manager, made):
    src = chart_sources(as_manager)["purposes"].replace("/purposes/", "/recipients/")
    assert as_manager.get(src).status_code == 404


@pytest.mark.parametrize(
    "bad",
    ["date_from_1=13", "date_from_2=99999999999999999999", "date_from_0=%C2%B3",
     "organisation=%00", "outcome=nonsense"],
)  # fmt: skip
def test_filters_that_are_not_valid_are_404_never_500(as_manager, made, bad):
    name = bad.split("=")[0]
    path, query = chart_sources(as_manager)["months"].split("?")
    kept = "&".join(pair for pair in query.split("&") if not pair.startswith(f"{name}="))
    assert as_manager.get(f"{path}?{kept}&{bad}").status_code == 404


def test_a_chart_is_still_served_after_its_figures_change(as_manager, made, practitioner):
    before = chart_sources(as_manager)["outcomes"]
    answered_decision(practitioner, "share_with_consent", submit=True)
    assert as_manager.get(before).status_code == 200  # the page's note of what it showed
    assert chart_sources(as_manager)["outcomes"] != before


def test_without_the_pages_note_the_figures_are_counted_again(as_manager, made, practitioner):
    src = chart_sources(as_manager)["outcomes"]
    cache.clear()
    assert as_manager.get(src).status_code == 200
    answered_decision(practitioner, "share_with_consent", submit=True)
    cache.clear()
    assert as_manager.get(src).status_code == 404  # no longer this user's figures


def test_a_partnership_managers_charts_of_every_organisation_are_served(
    partnership_manager, made, other_org
):
    client = client_for(partnership_manager)
    for src in chart_sources(client).values():
        assert "organisation=all" in src
        assert client.get(src).status_code == 200


def test_the_chart_address_takes_gets_only(as_manager, made):
    assert as_manager.post(chart_sources(as_manager)["outcomes"]).status_code == 405


# ---- The PDF report keeps its charts --------------------------------------------------------


def test_the_pdf_report_still_has_its_charts(manager, made):
    today = date.today()
    filters = ReportFilters(date_from=today.replace(day=1), date_to=today,
                            organisation=manager.organisation)  # fmt: skip
    pdf = documents.report_pdf(manager, filters)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "% of the month's decisions" in text  # the rate chart's axis, drawn as vectors
    assert text.count("Decisions") >= 5  # each count chart's axis, besides the tables


# ---- The drawings -------------------------------------------------------------------------

LONG = "Sharing to prevent a serious risk to the health or life of a very young child"


def months(n: int, total: int = 80_000) -> list[Month]:
    def rate(count: int) -> Rate:
        return Rate(count, total)

    return [
        Month(date(2024 + i // 12, i % 12 + 1, 1), Figure("m", total + i),
              rate(total // 4), rate(total // 4), rate(total // 4), rate(total // 4))
        for i in range(n)
    ]  # fmt: skip


PLOTS = {
    "short bars": charts.bars_plot("o", "Outcomes", [Figure("Yes", 3), Figure("No", 0)]),
    "long labels, big numbers": charts.bars_plot(
        "p", "Purposes", [Figure(LONG, 1_250_000), Figure("Other", 999_999), Figure("X", 1)]
    ),
    "hidden counts": charts.bars_plot(
        "l", "Lawful", [Figure("Small", 2, hidden="small"), Figure("Next", 7, hidden="secondary")]
    ),
    "no decisions": charts.bars_plot("g", "Basis", [Figure("Public task", 0)]),
    "one month": charts.months_plot(months(1)),
    "six months": charts.months_plot(months(6, 5)),
    "two years": charts.months_plot(months(25, 2_500_000)),
    "rates, one month": charts.rates_plot(months(1)),
    "rates, two years": charts.rates_plot(months(25)),
}


@pytest.mark.parametrize("plot", PLOTS.values(), ids=PLOTS.keys())
def test_no_text_of_a_chart_is_cut_off(plot):
    figure = charts.figure_for(plot)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    drawn = figure.axes[0].get_tightbbox(renderer)  # tick labels, axis labels, notes, legend
    assert drawn.x0 >= 0 and drawn.y0 >= 0
    assert drawn.x1 <= figure.bbox.x1 and drawn.y1 <= figure.bbox.y1


@pytest.mark.parametrize(
    "plot",
    [PLOTS["no decisions"], charts.Plot("months", "months", "By month", (("Jan", 0.0),) * 3)],
    ids=["bars", "months"],
)
def test_with_no_decisions_the_count_axis_still_starts_at_0(plot):
    figure = charts.figure_for(plot)
    axes = figure.axes[0]
    low, high = axes.get_xlim() if plot.kind == "bars" else axes.get_ylim()
    assert (low, high) == (0, 1)


@pytest.mark.parametrize("plot", PLOTS.values(), ids=PLOTS.keys())
def test_the_pages_image_size_is_the_charts_own(plot):
    svg = charts.draw(plot)
    width, height = (float(re.search(rf'{side}="([\d.]+)pt"', svg).group(1)) for side in
                     ("width", "height"))  # fmt: skip
    assert plot.pixels == (round(width * 96 / 72), round(height * 96 / 72))


def test_a_digest_changes_with_any_number_or_label():
    rows = [Figure("Yes", 3), Figure("No", 4)]
    digest = charts.bars_plot("o", "Outcomes", rows).digest
    assert charts.bars_plot("o", "Outcomes", rows).digest == digest
    assert charts.bars_plot("o", "Outcomes", [rows[0], Figure("No", 5)]).digest != digest
    assert charts.bars_plot("o", "Outcomes", [rows[0], Figure("Nope", 4)]).digest != digest
    hidden = [rows[0], Figure("No", 4, hidden="small")]
    assert charts.bars_plot("o", "Outcomes", hidden).digest != digest
