"""Stored report filters checked again before a background export runs (filters_from_json):
the owner's access or the pack's choices may have changed since they asked."""

from __future__ import annotations

from datetime import date

import pytest

from decisions.reports.filters import ALL, InvalidFilters, ReportFilters, filters_from_json

pytestmark = pytest.mark.django_db

PERIOD = {"date_from": "2026-01-01", "date_to": "2026-03-31"}


def stored(**changes):
    base = {**PERIOD, "organisation": ALL, "purpose": "", "outcome": "", "lawful_reason": ""}
    return {**base, "direction": "", "status": "", **changes}


def test_the_filters_a_manager_stored_come_back_the_same(manager, org):
    filters = ReportFilters(date(2026, 1, 1), date(2026, 3, 31), org, outcome="do_not_share")
    assert filters_from_json(manager, filters.to_json()) == filters


@pytest.mark.parametrize(
    "changes",
    [
        {"date_from": "2026-02-30"},
        {"date_from": "not a date"},
        {"date_from": "2026-04-01"},  # after the end
        {"outcome": "share_regardless"},
        {"status": "draft"},  # drafts never count
    ],
)
def test_bad_stored_filters_are_refused(manager, org, changes):
    with pytest.raises(InvalidFilters):
        filters_from_json(manager, stored(organisation=org.slug, **changes))


def test_a_manager_cannot_cover_every_organisation(manager):
    with pytest.raises(InvalidFilters):
        filters_from_json(manager, stored())


def test_a_manager_who_moved_organisation_cannot_export_the_old_one(manager, org, other_org):
    manager.organisation = other_org
    manager.save()
    with pytest.raises(InvalidFilters):
        filters_from_json(manager, stored(organisation=org.slug))


def test_an_administrator_may_cover_every_organisation(admin_user):
    assert filters_from_json(admin_user, stored()).organisation is None
