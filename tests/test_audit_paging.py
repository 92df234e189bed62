"""Audit-log pages read a window of months around their cursor first (PostgreSQL's monthly
partitions: decisions.audit.queries). Whatever the windows and the hints in the links, every
page is exactly the page that reading the whole table gives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from decisions.audit import AuditAction, record_event
from decisions.audit.partitions import ensure_partitions
from decisions.audit.queries import _micros, event_page
from decisions.models import AuditEvent
from tests.conftest import clock

pytestmark = pytest.mark.django_db
SIZE = 7


@pytest.fixture
def spread(org, practitioner):
    """Events in four months far apart, and today: 23 each, so pages straddle the months."""
    for month in (date(2024, 1, 1), date(2024, 6, 1), date(2026, 3, 1)):
        ensure_partitions(0, today=month)
    moments = [
        datetime(2024, 1, 20, tzinfo=UTC),
        datetime(2024, 6, 3, tzinfo=UTC),
        datetime(2026, 3, 9, tzinfo=UTC),
        None,
    ]
    for moment in moments:
        for i in range(23):
            if moment is None:
                record_event(AuditAction.AUDIT_VIEWED, actor=practitioner)
            else:
                with clock(moment + timedelta(minutes=i)):
                    record_event(AuditAction.AUDIT_VIEWED, actor=practitioner)
    return AuditEvent.objects.filter(organisation=org).order_by("-sequence")


def walk_back(events, hints=True, tamper=None):
    page = event_page(events, size=SIZE)
    seen = [e.sequence for e in page.events]
    cursors = [page]
    while page.older:
        at = page.older_at if hints else None
        if tamper is not None and at is not None:
            at = tamper(at)
        page = event_page(events, before=page.older, at=at, size=SIZE)
        seen += [e.sequence for e in page.events]
        cursors.append(page)
    return seen, cursors


def test_paging_back_through_months_gives_every_event_once_in_order(spread):
    expected = list(spread.values_list("sequence", flat=True))
    assert len(expected) >= 92
    seen, _ = walk_back(spread)
    assert seen == expected


@pytest.mark.parametrize(
    "tamper",
    [
        lambda at: at + 10**15,  # years later
        lambda at: at - 10**15,  # years earlier
        lambda at: 0,  # the epoch
    ],
)
def test_a_wrong_time_hint_still_gives_the_right_pages(spread, tamper):
    expected = list(spread.values_list("sequence", flat=True))
    seen, _ = walk_back(spread, tamper=tamper)
    assert seen == expected


def test_paging_forward_again_gives_the_same_pages(spread):
    _, pages = walk_back(spread)
    for previous, page in zip(pages, pages[1:], strict=False):
        assert page.newer is not None
        for at in (page.newer_at, None, page.newer_at + 10**12 if page.newer_at else None):
            back = event_page(spread, after=page.newer, at=at, size=SIZE)
            assert [e.sequence for e in back.events] == [e.sequence for e in previous.events]


def test_the_links_carry_the_time_hint(spread, lead):
    import re

    from django.urls import reverse

    from tests.conftest import client_for

    client = client_for(lead)
    page = client.get(reverse("review_audit")).content.decode()
    found = re.search(r"before=(\d+)&amp;at=(\d+)", page)
    assert found
    before, at = int(found[1]), int(found[2])
    assert at == _micros(AuditEvent.objects.get(sequence=before).created_at)
    older = client.get(f"{reverse('review_audit')}?before={before}&at={at}")
    assert older.status_code == 200
    assert re.search(r"after=\d+&amp;at=\d+", older.content.decode())


@pytest.mark.parametrize("at", ["253402300799000000", "999999999999999999", "0", "-5", "x"])
def test_a_tampered_time_hint_is_ignored_never_an_error(spread, lead, at):
    from django.urls import reverse

    from tests.conftest import client_for

    client = client_for(lead)
    first = event_page(spread, size=SIZE)
    for cursor in (f"after={first.older}", f"before={first.older}"):
        response = client.get(f"{reverse('review_audit')}?{cursor}&at={at}")
        assert response.status_code == 200
