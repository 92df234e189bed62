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


SUBJECT = {
    "case_reference": "CASE-123",
    "initials": "AB",
    "subject_type": "child",
    "age_band": "12_15",
}
CONTEXT = [
    ("context", {"direction": "proactive"}),
    ("subject", SUBJECT),
    ("concern", {"concern_level": "significant_harm"}),
    (
        "purpose",
        {
            "purpose_categories": ["s47_child_protection"],
            "purpose_description": "Bruising seen at school; need to inform the MASH.",
        },
    ),
]
HOW = [
    (
        "what_to_share",
        {
            "data_categories": ["names", "health"],
            "special_category": "yes",
            "fact_and_opinion": "Observed bruising recorded as fact; concern as opinion.",
        },
    ),
    (
        "recipient",
        {"recipient_org": "Children's social care", "recipient_role": "MASH social worker"},
    ),
    ("method", {"method": "secure_email", "method_security": "Sent via secure email."}),
    ("share_date", {"share_date": "2026-11-20"}),
    ("informed", {"informed": "told"}),
    ("third_parties", {"third_parties": "no", "third_parties_protection": ""}),
    ("withheld", {"withheld": ""}),
]
RECORD = [
    ("advice", {"advice_from": "dsl", "advice_given": "Share today."}),
    ("follow_up", {"follow_up_actions": "Check referral received.", "review_date": ""}),
]
NOT_SHARING = [("not_sharing_reasons", {"not_sharing_reasons": "No legitimate purpose."})]

# Answers (step, values), in order, that reach each of the four outcomes.
ROUTES: dict[str, list[tuple[str, dict]]] = {
    "do_not_share": CONTEXT
    + [("purpose_legitimate", {"purpose_legitimate": "no"})]
    + NOT_SHARING
    + RECORD,
    "can_share": CONTEXT
    + [
        ("purpose_legitimate", {"purpose_legitimate": "yes"}),
        ("identifiable", {"identifiable": "no"}),
    ]
    + HOW
    + RECORD,
    "share_with_consent": CONTEXT
    + [
        ("purpose_legitimate", {"purpose_legitimate": "yes"}),
        ("identifiable", {"identifiable": "yes"}),
        ("confidential", {"confidential": "yes"}),
        ("consent", {"consent": "given"}),
        (
            "consent_given_by",
            {"consent_given_by": "parental_responsibility", "consent_informed": "yes"},
        ),
    ]
    + HOW
    + RECORD,
    "share_without_consent": CONTEXT
    + [
        ("purpose_legitimate", {"purpose_legitimate": "yes"}),
        ("identifiable", {"identifiable": "yes"}),
        ("confidential", {"confidential": "yes"}),
        ("consent", {"consent": "not_sought"}),
        ("consent_not_sought_reason", {"consent_not_sought_reason": "child_risk"}),
        ("lawful_reason", {"lawful_reason": ["public_interest_child"]}),
        (
            "data_protection_basis",
            {"gdpr_article6": "public_task", "special_category_condition": "safeguarding"},
        ),
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


def as_post(values: dict) -> dict:
    """Form-post data for a step's values (dates split into day, month, year)."""
    data: dict = {}
    for name, value in values.items():
        if name in ("share_date", "review_date"):
            if value:
                year, month, day = value.split("-")
                data.update({f"{name}_0": day, f"{name}_1": month, f"{name}_2": year})
            else:
                data.update({f"{name}_0": "", f"{name}_1": "", f"{name}_2": ""})
        else:
            data[name] = value
    return data
