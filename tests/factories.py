"""factory_boy factories, and answer sets that reach each outcome of the packs."""

from __future__ import annotations

import factory
from django.utils.text import slugify

from decisions import services
from decisions.models import Organisation, OrganisationKind, Role, User


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Test Agency {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name)[:80])
    kind = OrganisationKind.LOCAL_AUTHORITY


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Test User {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.PRACTITIONER
    password = factory.django.Password("correct horse battery staple")


# The steps every route starts with: a proactive share about a child of 12 to 15 at risk of
# significant harm, with no immediate risk, for a legitimate purpose.
CONTEXT = [
    ("context", {"case_reference": "CASE-123", "initials": "AB", "direction": "proactive"}),
    (
        "subject",
        {
            "subject_type": "child",
            "age_band": "12_15",
            "concern_level": "significant_harm",
            "immediate_risk": "no",
        },
    ),
    (
        "purpose",
        {
            "purpose_categories": ["s47_child_protection"],
            "purpose_other": "",
            "purpose_description": "Bruising seen at school; need to inform the MASH.",
            "purpose_legitimate": "yes",
        },
    ),
]
INFORMATION = (
    "information",
    {"identifiable": "yes", "confidential": "yes", "informant": "own_work"},
)
HOW = [
    (
        "what_to_share",
        {
            "data_categories": ["names", "health"],
            "data_other": "",
            "fact_and_opinion": "Observed bruising recorded as fact; concern as opinion.",
            "withheld": "",
        },
    ),
    (
        "data_protection_basis",
        {
            "gdpr_article6": "public_task",
            "special_category_condition": "safeguarding",
            "special_condition_other": "",
        },
    ),
    (
        "recipient",
        {
            "recipient_org": "Children's social care",
            "recipient_role": "MASH social worker",
            "method": "secure_email",
            "method_other": "",
            "method_security": "Sent via secure email.",
            "share_date": "2026-11-20",
        },
    ),
    (
        "informed",
        {
            "informed": "told",
            "not_informed_reason": "",
            "third_parties": "no",
            "third_parties_protection": "",
        },
    ),
]
RECORD = [
    (
        "record",
        {
            "advice_from": "dsl",
            "advice_given": "Share today.",
            "follow_up_actions": "Check referral received.",
            "review_date": "",
        },
    ),
]
# Why not, for a proactive decision below significant harm: the page then asks neither the
# requester's response nor a lead's advice (those fields are hidden, so absent).
NOT_SHARING = [("not_sharing_reasons", {"not_sharing_reasons": "No legitimate purpose."})]


def with_values(route: list[tuple[str, dict]], step_id: str, **changes) -> list[tuple[str, dict]]:
    """A copy of `route` with some of one step's answers changed."""
    assert step_id in dict(route), step_id
    return [(s, {**v, **changes} if s == step_id else dict(v)) for s, v in route]


# Answers (step, values), in order, that reach each of the four outcome kinds; each step gets
# exactly its visible fields. "do_not_share" is at child in need, so (being proactive) it needs
# no sign-off: a refusal at significant harm would need it before it takes effect.
ROUTES: dict[str, list[tuple[str, dict]]] = {
    "do_not_share": with_values(
        with_values(CONTEXT, "subject", concern_level="child_in_need"),
        "purpose",
        purpose_legitimate="no",
    )
    + NOT_SHARING
    + RECORD,
    "can_share": CONTEXT
    + [("information", {"identifiable": "no", "confidential": "", "informant": ""})]
    + with_values(
        with_values(HOW, "what_to_share", data_categories=["family", "health"]),
        "data_protection_basis",
        gdpr_article6="not_personal_data",
    )
    + RECORD,
    "share_with_consent": CONTEXT
    + [
        INFORMATION,
        ("consent", {"consent": "given"}),
        (
            "consent_given",
            {
                "consent_given_by": "the_person",
                "consent_informed": "yes",
                "consent_how": "signed",
                "consent_date": "2026-11-19",
                "consent_limits": "",
            },
        ),
        (
            "competence",
            {
                "competent": "yes",
                "competence_assessed": "Explained in her own words what will be shared and why.",
            },
        ),
    ]
    + HOW
    + RECORD,
    "share_without_consent": CONTEXT
    + [
        INFORMATION,
        ("consent", {"consent": "not_sought"}),
        ("consent_not_sought_reason", {"consent_not_sought_reason": "child_risk"}),
        ("lawful_reason", {"lawful_reason": ["public_interest_child"]}),
        (
            "proportionality",
            {
                "risk_level": "high",
                "risk_imminent": "yes",
                "safer_if_shared": "much_safer",
                "relationship_damage": "some",
                "share_now": "now",
                "weighing_up": "Risk outweighs harm.",
                "is_proportionate": "yes",
            },
        ),
    ]
    + HOW
    + RECORD,
}


def route_values(outcome: str, step_id: str) -> dict:
    """A copy of the answers ROUTES[outcome] gives to one step."""
    return dict(dict(ROUTES[outcome])[step_id])


def answered_decision(user, outcome: str, *, submit: bool = False):
    """A decision whose answers reach `outcome`, made through the services like the wizard."""
    decision = services.decision_start(user=user)
    for step_id, values in ROUTES[outcome]:
        services.decision_answer(decision=decision, user=user, step_id=step_id, values=values)
    decision.refresh_from_db()
    if submit:
        services.decision_submit(decision=decision, user=user)
        decision.refresh_from_db()
    return decision


# The date fields of the packs (consent_given, recipient, record): posted as three boxes.
DATE_FIELDS = ("consent_date", "share_date", "review_date")


def as_post(values: dict) -> dict:
    """Form-post data for a step's values (dates split into day, month, year)."""
    data: dict = {}
    for name, value in values.items():
        if name in DATE_FIELDS:
            if value:
                year, month, day = value.split("-")
                data.update({f"{name}_0": day, f"{name}_1": month, f"{name}_2": year})
            else:
                data.update({f"{name}_0": "", f"{name}_1": "", f"{name}_2": ""})
        else:
            data[name] = value
    return data
