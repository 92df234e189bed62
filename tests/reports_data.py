"""Decisions for the report tests: a factory that writes submitted decisions directly (with
chosen answers, dates and sign-off), and a fixed set whose figures are worked out by hand.

The wizard's own route answers (tests.factories.ROUTES) are the starting point, so the
answers have the shape the wizard saves; only the values reports count are changed.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import factory

from decisions import report_summaries
from decisions.models import Approval, Decision, DecisionRecord, GuidancePack, ReviewAction, Status
from decisions.reports.filters import ReportFilters
from decisions.snapshot import build_snapshot
from tests.factories import ROUTES, OrganisationFactory, UserFactory

REQUEST_DETAILS = {
    "requester_org": "Leicestershire Police",
    "requester_role": "Detective constable",
    "requester_legal_basis": "ca1989_s47",
    "requester_legal_basis_other": "",
}
# A legal duty among the lawful reasons leads to the legal duty page instead of weighing up
# proportionality (the outcome is then share_legal_duty, of kind share_without_consent).
LEGAL_DUTIES = ("legal_obligation", "statutory_duty")
LEGAL_DUTY = {"duty_which": "ca1989_s47", "duty_other": "", "duty_response": "comply"}


def report_answers(
    outcome: str,
    *,
    direction: str = "proactive",
    purposes: tuple[str, ...] = ("s47_child_protection",),
    lawful: tuple[str, ...] = (),
    gdpr: str = "",
    recipient: str = "Children's social care",
    case_reference: str = "CASE-123",
) -> dict:
    answers = {step: copy.deepcopy(values) for step, values in ROUTES[outcome]}
    answers["context"]["direction"] = direction
    if direction == "request":
        answers["request_details"] = dict(REQUEST_DETAILS)
        if outcome == "do_not_share":
            answers["not_sharing_reasons"]["requester_response"] = "Refused; reasons given."
    answers["context"]["case_reference"] = case_reference
    answers["purpose"]["purpose_categories"] = list(purposes)
    if "other" in purposes:
        answers["purpose"]["purpose_other"] = "Another purpose."
    if lawful:
        answers["lawful_reason"] = {"lawful_reason": list(lawful)}
        if set(lawful) & set(LEGAL_DUTIES):
            answers.pop("proportionality", None)
            answers["legal_duty"] = dict(LEGAL_DUTY)
    if gdpr:
        answers["data_protection_basis"]["gdpr_article6"] = gdpr
    if "recipient" in answers:
        answers["recipient"]["recipient_org"] = recipient
    return answers


class ReportDecisionFactory(factory.django.DjangoModelFactory):
    """A submitted decision written straight to the database, with its first record."""

    class Meta:
        model = Decision
        skip_postgeneration_save = True

    class Params:
        direction = "proactive"
        purposes = ("s47_child_protection",)
        lawful = ()
        gdpr = ""
        recipient = "Children's social care"

    reference = factory.Sequence(lambda n: f"ISG-2026-{n + 1:06d}")
    version = 1
    organisation = factory.SubFactory(OrganisationFactory)
    created_by = factory.SubFactory(
        UserFactory, organisation=factory.SelfAttribute("..organisation")
    )
    pack = factory.LazyFunction(lambda: GuidancePack.objects.get(is_current=True))
    status = Status.SUBMITTED
    outcome = "can_share"
    case_reference = "CASE-123"
    subject_initials = "AB"
    needs_approval = factory.LazyAttribute(
        lambda o: (
            o.outcome == "share_without_consent"
            or (o.outcome == "do_not_share" and o.direction == "request")
        )
    )
    answers = factory.LazyAttribute(
        lambda o: report_answers(
            o.outcome,
            direction=o.direction,
            purposes=tuple(o.purposes),
            lawful=tuple(o.lawful),
            gdpr=o.gdpr,
            recipient=o.recipient,
            case_reference=o.case_reference,
        )
    )
    submitted_at = datetime(2026, 8, 3, 10, 0, tzinfo=UTC)

    @factory.post_generation
    def first_round(obj: Decision, create: bool, extracted: datetime | None, **kwargs) -> None:
        """Its first submission (at `first_round` if given, else at submitted_at)."""
        if create and obj.submitted_at is not None:
            submission_round(obj, extracted or obj.submitted_at)
            report_summaries.refresh(obj)  # as decision_submit does


def submission_round(decision: Decision, at: datetime) -> DecisionRecord:
    pack = decision.pack.pack
    return DecisionRecord.objects.create(
        decision=decision,
        round=decision.records.count() + 1,
        pack_id=decision.pack.pack_id,
        pack_version=decision.pack.version,
        pack_edition=decision.pack.edition,
        pack_digest=decision.pack.digest,
        answers=decision.answers,
        snapshot=build_snapshot(pack, decision.answers),
        outcome=decision.outcome,
        outcome_title=decision.outcome,
        outcome_summary="",
        reasons=[],
        needs_approval=decision.needs_approval,
        submitted_by=decision.created_by,
        submitted_at=at,
    )


def review(decision: Decision, action: str, at: datetime, by) -> Approval:
    """Approve or return the decision's latest round."""
    approval = Approval.objects.create(
        decision=decision, record=decision.latest_record(), action=action, by=by, at=at
    )
    report_summaries.refresh(decision)  # as signoff does
    return approval


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- The fixed set ---------------------------------------------------------------------
#
# Organisation A (the `org` fixture), 1 August to 31 October 2026 (UK time). Numbers are the
# decision numbers used in the hand-worked figures in tests/test_reports.py.
#
#  #  month outcome                 direction purposes        lawful / Art 6          status
#  1  Aug   share_with_consent      proactive s47             - / public_task         submitted
#  2  Aug   share_with_consent      proactive s47, early_help - / public_task         submitted
#  3  Aug   share_without_consent   proactive s47             pi_child / public_task  approved 4 h
#  4  Aug   do_not_share            request   crime           -                       approved 24 h
#  5  Aug   can_share               proactive early_help      - / not_personal_data   submitted
#  14 Aug   can_share (31 Jul 23:30 UTC = 1 Aug 00:30 BST)    - / not_personal_data   submitted
#  6  Sep   share_without_consent   request   s47, crime      pi_child+legal / legal  returned,
#                                                                                     then 1 h
#  7  Sep   share_without_consent   proactive cse             pi_child / public_task  awaiting
#  8  Sep   do_not_share            request   s17             -                       returned
#  9  Sep   share_with_consent      proactive s17             - / public_task         superseded
#  10 Sep   share_with_consent      proactive s17             - / public_task         submitted
#                                                             (version 2 of 9)
#  11 Oct   share_without_consent   proactive prevent         pi_crime / public_task  approved 48 h
#  12 Oct   do_not_share            proactive other           -                       submitted
#  13 Oct   share_without_consent   request   s47             legal / legal           approved 2 h
#
# Every sharing route records an Article 6 basis; 6 and 13 give a legal duty, so they go by the
# legal duty page (outcome share_legal_duty, of kind share_without_consent).
#
# Not counted: a draft; a decision of organisation B; one submitted 1 November 00:30 UK time;
# one submitted 31 July 23:30 UK time.

PERIOD = ReportFilters(date_from=date(2026, 8, 1), date_to=date(2026, 10, 31))


def fixed_set(org, other_org, practitioner, lead) -> dict[int, Decision]:
    def make(**kwargs) -> Decision:
        kwargs.setdefault("organisation", org)
        kwargs.setdefault("created_by", practitioner)
        return ReportDecisionFactory(**kwargs)

    police, csc = "Leicestershire Police", "Children's social care"
    d = {
        1: make(outcome="share_with_consent", submitted_at=utc(2026, 8, 3, 10)),
        2: make(
            outcome="share_with_consent",
            purposes=("s47_child_protection", "early_help"),
            recipient="children's social care ",
            submitted_at=utc(2026, 8, 10, 10),
        ),
        3: make(
            outcome="share_without_consent",
            lawful=("public_interest_child",),
            gdpr="public_task",
            recipient=police,
            status=Status.APPROVED,
            submitted_at=utc(2026, 8, 12, 9),
        ),
        4: make(
            outcome="do_not_share",
            direction="request",
            purposes=("crime",),
            status=Status.APPROVED,
            submitted_at=utc(2026, 8, 20, 9),
        ),
        5: make(
            outcome="can_share",
            purposes=("early_help",),
            recipient="School",
            submitted_at=utc(2026, 8, 25, 9),
        ),
        14: make(
            outcome="can_share",
            purposes=("early_help",),
            recipient="School",
            submitted_at=utc(2026, 7, 31, 23, 30),
        ),
        6: make(
            outcome="share_without_consent",
            direction="request",
            purposes=("s47_child_protection", "crime"),
            lawful=("public_interest_child", "legal_obligation"),
            gdpr="legal_obligation",
            recipient=police,
            status=Status.APPROVED,
            submitted_at=utc(2026, 9, 2, 10),
            first_round=utc(2026, 9, 1, 10),
        ),
        7: make(
            outcome="share_without_consent",
            purposes=("cse",),
            lawful=("public_interest_child",),
            gdpr="public_task",
            recipient=csc,
            status=Status.AWAITING_APPROVAL,
            submitted_at=utc(2026, 9, 15, 10),
        ),
        8: make(
            outcome="do_not_share",
            direction="request",
            purposes=("s17_child_in_need",),
            status=Status.RETURNED,
            submitted_at=utc(2026, 9, 20, 10),
        ),
        9: make(
            outcome="share_with_consent",
            purposes=("s17_child_in_need",),
            recipient="Health visitor team",
            status=Status.SUPERSEDED,
            submitted_at=utc(2026, 9, 25, 10),
        ),
        11: make(
            outcome="share_without_consent",
            purposes=("prevent",),
            lawful=("public_interest_crime",),
            gdpr="public_task",
            recipient=police,
            status=Status.APPROVED,
            submitted_at=utc(2026, 10, 5, 8),
        ),
        12: make(outcome="do_not_share", purposes=("other",), submitted_at=utc(2026, 10, 10, 9)),
        13: make(
            outcome="share_without_consent",
            direction="request",
            lawful=("legal_obligation",),
            gdpr="legal_obligation",
            recipient=police,
            status=Status.APPROVED,
            submitted_at=utc(2026, 10, 30, 12),
        ),
    }
    d[10] = make(
        outcome="share_with_consent",
        purposes=("s17_child_in_need",),
        recipient="Health visitor team",
        reference=d[9].reference,
        version=2,
        amends=d[9],
        submitted_at=utc(2026, 9, 28, 10),
    )
    review(d[3], ReviewAction.APPROVED, utc(2026, 8, 12, 13), lead)
    review(d[4], ReviewAction.APPROVED, utc(2026, 8, 21, 9), lead)
    review(d[6], ReviewAction.RETURNED, utc(2026, 9, 1, 12), lead)
    submission_round(d[6], utc(2026, 9, 2, 10))
    review(d[6], ReviewAction.APPROVED, utc(2026, 9, 2, 11), lead)
    review(d[8], ReviewAction.RETURNED, utc(2026, 9, 22, 10), lead)
    review(d[11], ReviewAction.APPROVED, utc(2026, 10, 7, 8), lead)
    review(d[13], ReviewAction.APPROVED, utc(2026, 10, 30, 14), lead)
    # Not counted.
    make(outcome="can_share", status=Status.DRAFT, submitted_at=None)
    make(outcome="can_share", submitted_at=utc(2026, 11, 1, 0, 30))
    make(outcome="can_share", submitted_at=utc(2026, 7, 31, 22, 30))
    outsider = UserFactory(organisation=other_org, email="b-practitioner@example.org")
    make(
        organisation=other_org,
        created_by=outsider,
        outcome="share_with_consent",
        submitted_at=utc(2026, 9, 5, 10),
    )
    return d
