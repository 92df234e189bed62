"""The routing, case by case, as the guidance sources say it must be, in every edition.

Each case is written from a source in shared/guidance/ (file + section, as the source names
its sections) and is walked page by page the way the wizard does it: each page gets its
suggested answers (prefill), the case's answers, and must be accepted by step_errors. A
second table holds answers the pages must refuse (contradictions, invalid consent).
docs/guidance-rules.md lists the rules these cases exercise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from decisions.guidance import engine
from decisions.guidance.engine import Pack
from decisions.guidance.schema import read_pack_file

GUIDANCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "guidance"
EDITIONS = sorted(GUIDANCE_DIR.glob("*.json"))

BATHNES = "bathnes-multi-agency-information-sharing-guidance-2018.txt"
CALDERDALE = "calderdale-information-sharing-guidance-2017.txt"
LLR = "llr-information-sharing-agreement-2017.txt"
LSCP = "lscp-protocol-sharing-information-2024.txt"
RULES_2008 = "sharing-information-about-children-2008-golden-rules.txt"

# Sources, as file + the section as the source names it.
LLR_WHOSE = f"{LLR} Appendix A: Whose consent should be sought?"
LLR_MUST_SHARE = (
    f"{LLR} Appendix A: Is there a clear and legitimate purpose for sharing information?"
)
LSCP_GDPR = (
    f"{LSCP} The General Data Protection Regulations (GDPR) and the Data Protection Act 2018"
)
LLR_IDENTIFIED = f"{LLR} Appendix A: Does the information enable a living person to be identified?"
BATHNES_PUBLIC_INTEREST = f"{BATHNES} Section 13, FAQ: What is meant by public interest?"
BATHNES_CANNOT_CONSENT = (
    f"{BATHNES} Section 13, FAQ: What if a child or young person cannot give informed consent?"
)
BATHNES_REASON = (
    f"{BATHNES} Section 13, FAQ: Is there a legitimate reason to share without consent?"
)
BATHNES_PURPOSE = (
    f"{BATHNES} Section 13, FAQ: Is there a legitimate purpose for sharing the information?"
)
BATHNES_PARENTS = (
    f"{BATHNES} Section 13, FAQ: What role do parents or carers play "
    "when information is shared about their children and young people?"
)
BATHNES_RECORD = f"{BATHNES} Section 13, FAQ: How should you record information sharing decisions?"
BATHNES_MCA = (
    f"{BATHNES} Section 13, FAQ: How do you seek consent / share information "
    "without consent as the adult lacks mental capacity to give it?"
)
BATHNES_URGENT = (
    f"{BATHNES} Section 13, FAQ: Are there any obligations "
    "for information sharing that must be met?"
)
LLR_OWED = f"{LLR} Appendix A: Who do you owe confidentiality to?"
BATHNES_CHILD = f"{BATHNES} Appendix 1: Can a child give consent?"
LLR_NOT_SOUGHT = f"{LLR} Appendix A: When consent should not be sought"
LLR_HAVE_CONSENT = f"{LLR} Appendix A: Do you have consent to share?"
LLR_EARLY_HELP = f"{LLR} Appendix B: Early Help/Support"

TEXT = "Example answer"
DATE = "2024-05-01"

# The answers each page gets unless the case says otherwise: a proactive referral about a
# child in need under 12, with a legitimate purpose, confidential information about them
# and informed, signed consent from a parent.
BASE: dict[str, dict[str, Any]] = {
    "context": {"case_reference": "CASE-1", "initials": "AB", "direction": "proactive"},
    "request_details": {
        "requester_org": "Children's social care",
        "requester_role": "Social worker",
        "requester_legal_basis": "ca1989_s17",
    },
    "request_public": {"requester_connection": "neighbour_friend", "requester_request": TEXT},
    "subject": {
        "subject_type": "child",
        "age_band": "under_12",
        "concern_level": "child_in_need",
        "immediate_risk": "no",
    },
    "urgent": {"urgent_reason": "life_at_risk", "already_shared": "shared"},
    "purpose": {"purpose_categories": ["s17_child_in_need"], "purpose_legitimate": "yes"},
    "information": {"identifiable": "yes", "confidential": "yes", "informant": "subject_or_family"},
    "consent": {"consent": "given"},
    "consent_given": {
        "consent_given_by": "parent",
        "consent_informed": "yes",
        "consent_how": "signed",
    },
    "consent_refused": {"refused_by": "parent"},
    "competence": {"competent": "yes"},
    "young_person_view": {"young_person_view": "agrees_competent"},
    "consent_not_sought_reason": {"consent_not_sought_reason": "child_risk"},
    "consent_unobtainable_reason": {"consent_unobtainable_reason": "cannot_contact"},
    "lawful_reason": {"lawful_reason": ["public_interest_child"]},
    "legal_duty": {"duty_which": "court_order", "duty_response": "comply"},
    "gateway": {"gateway": "cda1998_s115"},
    "proportionality": {"is_proportionate": "yes"},
    "what_to_share": {"data_categories": ["names", "family"], "withheld": ""},
    "data_protection_basis": {
        "gdpr_article6": "public_task",
        "special_category_condition": "not_special",
    },
    "recipient": {"method": "secure_email"},
    "informed": {"informed": "told", "third_parties": "no"},
    "not_sharing_reasons": {"lead_advice_from": "dsl"},
    "record": {"advice_from": "none", "follow_up_actions": "", "review_date": ""},
}


@cache
def load(path: Path) -> Pack:
    return read_pack_file(path)[1]


def default(f: engine.Field) -> Any:
    """A valid answer for a field the case does not care about."""
    if f.kind == "checkboxes":
        return [next(c.value for c in f.choices if not c.exclusive)]
    if f.choices:
        return next(c.value for c in f.choices if c.value != engine.NOT_SURE)
    if f.kind == "date":
        return DATE
    return TEXT


def page_values(
    pack: Pack, step_id: str, answers: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """What the practitioner submits: the case's answer, else the page's suggestion, else
    BASE, else a default."""
    suggested = engine.prefill(pack, step_id, answers)
    values = {}
    for f in engine.visible_fields(pack, step_id, answers):
        for source in (changes.get(step_id, {}), suggested, BASE.get(step_id, {})):
            if f.name in source:
                values[f.name] = source[f.name]
                break
        else:
            values[f.name] = default(f)
    return values


def decide(
    pack: Pack, changes: Mapping[str, Mapping[str, Any]], stop_at: str | None = None
) -> tuple[dict[str, dict], engine.Walk]:
    """Answer page by page, as the wizard does, until the end (or until `stop_at` is next)."""
    answers: dict[str, dict] = {}
    for _ in range(len(pack.steps) + 1):
        result = engine.walk(pack, answers)
        if result.complete or result.next_step == stop_at:
            return answers, result
        step_id = result.next_step
        values = page_values(pack, step_id, answers, changes)
        errors = engine.step_errors(pack, step_id, values, answers)
        assert not errors, f"page {step_id!r} refused {values}: {errors}"
        answers[step_id] = values
    raise AssertionError("the walk did not end")


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # file + section that requires the routing
    changes: dict[str, dict[str, Any]]
    outcome: str  # outcome id
    sign_off: str = "none"
    through: tuple[str, ...] = ()  # steps that must be on the path
    reason: str = ""  # a fragment of one reason line
    prompt: str = ""  # a fragment of one outcome prompt
    values: dict[str, Any] = field(default_factory=dict)  # settled answers the record keeps


def subject(**values: str) -> dict[str, dict[str, Any]]:
    return {"subject": {**BASE["subject"], **values}}


SIG = subject(concern_level="significant_harm")
ADULT = subject(subject_type="parent_carer", age_band="adult")
TEEN = subject(age_band="12_15")
REFUSED = {"consent": {"consent": "refused"}}
NONE = {"lawful_reason": {"lawful_reason": ["none"]}}
REQUEST = {"context": {"direction": "request"}}
PUBLIC = {"context": {"direction": "request_public"}}
URGENT = subject(concern_level="significant_harm", immediate_risk="yes")
REFER = "refer it to children's social care"

CASES = [
    # -- The straight flowchart (bathnes section 11; LLR ISA Appendix A) -----------------
    Case(
        "no legitimate purpose: do not share",
        f"{BATHNES} Section 11, question 1",
        {"purpose": {"purpose_legitimate": "no"}},
        "do_not_share",
        reason="no clear and legitimate purpose",
    ),
    Case(
        "anonymised information can be shared",
        LLR_IDENTIFIED,
        {"information": {"identifiable": "no"}, "what_to_share": {"data_categories": ["family"]}},
        "can_share",
        reason="does not identify anyone",
        values={"gdpr_article6": "not_personal_data"},
    ),
    Case(
        "information that is not confidential can be shared",
        f"{LSCP} Section 4",
        {"information": {"identifiable": "yes", "confidential": "no", "informant": "other_source"}},
        "can_share",
        reason="not confidential",
    ),
    Case(
        "a parent consents for a child under 12",
        LLR_WHOSE,
        {},
        "share_with_consent",
        reason="Informed consent",
        values={"consent_given_by": "parent", "gdpr_article6": "public_task"},
    ),
    Case(
        "an adult consents for themselves",
        LLR_WHOSE,
        {**ADULT, "consent_given": {"consent_given_by": "the_person"}},
        "share_with_consent",
        through=("consent_given",),
    ),
    Case(
        "a young person of 16 or 17 is presumed able to consent",
        LLR_WHOSE,
        {**subject(age_band="16_17"), "consent_given": {"consent_given_by": "the_person"}},
        "share_with_consent",
    ),
    Case(
        "consent that was not informed is not valid",
        LLR_HAVE_CONSENT,
        {"consent_given": {"consent_informed": "no"}},
        "share_without_consent",
        "before",
        through=("lawful_reason", "proportionality"),
        reason="not informed",
    ),
    Case(
        "consent refused, public interest in protecting a child",
        f"{LSCP} Section 4",
        REFUSED,
        "share_without_consent",
        "before",
        through=("consent_refused",),
        reason="public interest will normally justify",
        values={"refused_by": "parent"},
    ),
    Case(
        "not sought: asking would put a child at risk",
        f"{CALDERDALE} Section 4",
        {"consent": {"consent": "not_sought"}},
        "share_without_consent",
        "before",
        reason="increased risk of significant harm",
    ),
    Case(
        "not sought: asking would put an adult at risk",
        LLR_NOT_SOUGHT,
        {
            "consent": {"consent": "not_sought"},
            "consent_not_sought_reason": {"consent_not_sought_reason": "adult_risk"},
            "lawful_reason": {"lawful_reason": ["public_interest_adult"]},
        },
        "share_without_consent",
        "before",
        reason="adult at risk of serious harm",
    ),
    Case(
        "not sought: asking would prejudice a serious crime enquiry",
        f"{LLR} Section 5",
        {
            "consent": {"consent": "not_sought"},
            "consent_not_sought_reason": {"consent_not_sought_reason": "serious_crime"},
            "lawful_reason": {"lawful_reason": ["public_interest_crime"]},
        },
        "share_without_consent",
        "before",
        reason="serious crime",
    ),
    Case(
        "not sought: asking would delay enquiries into significant harm",
        f"{CALDERDALE} Section 4",
        {
            "consent": {"consent": "not_sought"},
            "consent_not_sought_reason": {"consent_not_sought_reason": "delay"},
        },
        "share_without_consent",
        "before",
        reason="unjustified delay",
    ),
    Case(
        "cannot be contacted, vital interests",
        f"{BATHNES} Section 11, question 5",
        {
            "consent": {"consent": "cannot_obtain"},
            "lawful_reason": {"lawful_reason": ["vital_interests"]},
        },
        "share_without_consent",
        "before",
        reason="vital interests",
        values={"gdpr_article6": "vital_interests"},
    ),
    Case(
        "refused and no other lawful reason: do not share",
        f"{BATHNES} Section 11, question 5",
        {**REFUSED, **NONE},
        "do_not_share",
        reason="no other lawful reason",
    ),
    Case(
        "a lawful reason but not proportionate: do not share",
        BATHNES_PUBLIC_INTEREST,
        {**REFUSED, "proportionality": {"is_proportionate": "no"}},
        "do_not_share",
        reason="not be a proportionate response",
    ),
    # -- 1. Significant harm never ends in a silent "do not share" ----------------------
    Case(
        "significant harm, no purpose: lead's advice, sign-off, referral prompt",
        f"{CALDERDALE} Section 4",
        {**SIG, "purpose": {"purpose_legitimate": "no"}},
        "do_not_share",
        "before",
        reason="needs a lead's advice",
        prompt=REFER,
        values={"lead_advice_from": "dsl"},
    ),
    Case(
        "significant harm, consent refused, none of these",
        f"{LSCP} Section 4",
        {**SIG, **REFUSED, **NONE},
        "do_not_share",
        "before",
        prompt=REFER,
        values={"lead_advice_from": "dsl"},
    ),
    Case(
        "significant harm, not proportionate",
        f"{CALDERDALE} Section 4",
        {**SIG, **REFUSED, "proportionality": {"is_proportionate": "no"}},
        "do_not_share",
        "before",
        prompt=REFER,
    ),
    Case(
        "an adult at risk of serious harm, not shared",
        f"{LLR} Appendix B: Adults at risk",
        {
            **subject(
                subject_type="parent_carer", age_band="adult", concern_level="adult_serious_harm"
            ),
            **REFUSED,
            "consent_refused": {"refused_by": "the_person"},
            **NONE,
        },
        "do_not_share",
        "before",
        prompt="adult social care",
    ),
    # -- 2. Emergencies: share now, record afterwards ----------------------------------
    Case(
        "someone's life is at risk: share now, reviewed afterwards",
        BATHNES_URGENT,
        URGENT,
        "share_now",
        "after",
        through=("urgent",),
        reason="share without delay",
        prompt="confirm it in writing",
        values={"gdpr_article6": "vital_interests"},
    ),
    Case(
        "a child at immediate risk of significant harm: share now",
        f"{LSCP} Section 4",
        {**URGENT, "urgent": {"urgent_reason": "child_significant_harm"}},
        "share_now",
        "after",
        prompt="contact the police or children's social care",
    ),
    Case(
        "on reflection it can wait: the usual questions",
        f"{BATHNES} Section 10: Timely",
        {**URGENT, "urgent": {"urgent_reason": "can_wait"}},
        "share_with_consent",
        through=("urgent", "purpose", "consent"),
    ),
    # -- 3. Who may consent ---------------------------------------------------------------
    Case(
        "a competent young person of 12 to 15 consents",
        BATHNES_CHILD,
        {**TEEN, "consent_given": {"consent_given_by": "the_person"}},
        "share_with_consent",
        through=("competence",),
        reason="judged able to understand and decide",
    ),
    Case(
        "a young person of 12 to 15 not able to decide cannot consent",
        BATHNES_CANNOT_CONSENT,
        {
            **TEEN,
            "consent_given": {"consent_given_by": "the_person"},
            "competence": {"competent": "no"},
            **NONE,
        },
        "do_not_share",
        through=("competence", "lawful_reason"),
        reason="no valid consent",
    ),
    Case(
        "a parent consents but a competent young person refuses: a refusal",
        LLR_WHOSE,
        {**TEEN, "young_person_view": {"young_person_view": "refuses_competent"}, **NONE},
        "do_not_share",
        through=("young_person_view",),
        reason="their refusal stands",
    ),
    Case(
        "a competent young person's refusal can be overridden only by a lawful reason",
        f"{RULES_2008} Sharing Information without Consent",
        {**TEEN, "young_person_view": {"young_person_view": "refuses_competent"}},
        "share_without_consent",
        "before",
        through=("young_person_view", "proportionality"),
    ),
    Case(
        "a parent refuses but a competent young person consents",
        BATHNES_PARENTS,
        {**TEEN, **REFUSED},
        "share_with_consent",
        through=("consent_refused", "young_person_view"),
        prompt="Involve a senior colleague",
    ),
    Case(
        "a parent consents for a young person not able to decide",
        LLR_WHOSE,
        {**TEEN, "young_person_view": {"young_person_view": "not_competent"}},
        "share_with_consent",
    ),
    Case(
        "a competent young person of 12 to 15 refuses",
        LLR_WHOSE,
        {**TEEN, **REFUSED, "consent_refused": {"refused_by": "the_person"}, **NONE},
        "do_not_share",
        through=("competence",),
        reason="refusal stands",
        values={"refused_by": "the_person"},
    ),
    # -- 4. Adults who lack capacity: best interests ------------------------------------
    Case(
        "an adult who lacks capacity: best interests",
        f"{LLR} Section 7",
        {
            **ADULT,
            "consent": {"consent": "cannot_obtain"},
            "consent_unobtainable_reason": {
                "consent_unobtainable_reason": "lacks_capacity",
                "capacity_assessed_by": "GP",
            },
            "lawful_reason": {"lawful_reason": ["best_interests"]},
        },
        "share_without_consent",
        "before",
        reason="best interests",
        values={"capacity_assessed_by": "GP"},
    ),
    # -- 5. A legal duty or court order must be complied with ---------------------------
    Case(
        "a court order: must share, how much is limited",
        LLR_MUST_SHARE,
        {
            **REQUEST,
            "request_details": {"requester_legal_basis": "court_order"},
            "consent": {"consent": "not_sought"},
            "consent_not_sought_reason": {"consent_not_sought_reason": "legal_duty"},
            "lawful_reason": {"lawful_reason": ["legal_obligation"]},
        },
        "share_legal_duty",
        "before",
        through=("legal_duty",),
        prompt="not whether",
        values={"duty_which": "court_order", "gdpr_article6": "legal_obligation"},
    ),
    Case(
        "a section 47 enquiry: a statutory duty",
        f"{LLR} Appendix B: Section 47 Child Protection",
        {
            **REQUEST,
            "request_details": {"requester_legal_basis": "ca1989_s47"},
            **REFUSED,
            "lawful_reason": {"lawful_reason": ["statutory_duty"]},
        },
        "share_legal_duty",
        "before",
        values={"duty_which": "ca1989_s47"},
    ),
    Case(
        "not complying with a duty: legal advice and sign-off",
        LLR_MUST_SHARE,
        {
            **REFUSED,
            "lawful_reason": {"lawful_reason": ["legal_obligation"]},
            "legal_duty": {"duty_response": "legal_advice"},
        },
        "seek_legal_advice",
        "before",
        prompt="Get legal advice now",
    ),
    # -- 7. The lawful basis is recorded on every sharing route -------------------------
    Case(
        "health information shared under the safeguarding condition",
        LSCP_GDPR,
        {**REFUSED, "what_to_share": {"data_categories": ["health"]}},
        "share_without_consent",
        "before",
        values={"special_category_condition": "safeguarding", "gdpr_article6": "public_task"},
    ),
    # -- 8. Not sure: advice, then the question again -----------------------------------
    Case(
        "not sure of the purpose: advice, then yes",
        f"{BATHNES} Section 11",
        {
            "purpose": {"purpose_legitimate": "not_sure"},
            "purpose_recheck": {"purpose_legitimate_after_advice": "yes"},
        },
        "share_with_consent",
        through=("advice_purpose", "purpose_recheck"),
        reason="sought advice",
        values={"purpose_legitimate": "yes"},
    ),
    Case(
        "not sure if it identifies anyone: advice, then no",
        f"{BATHNES} Section 11",
        {
            "information": {"identifiable": "not_sure"},
            "identifiable_recheck": {"identifiable_after_advice": "no"},
            "what_to_share": {"data_categories": ["family"]},
        },
        "can_share",
        through=("advice_identifiable",),
        values={"identifiable": "no"},
    ),
    Case(
        "not sure if confidential: advice, then not",
        f"{CALDERDALE} Section 4",
        {
            "information": {"confidential": "not_sure"},
            "confidential_recheck": {"confidential_after_advice": "no"},
        },
        "can_share",
        through=("advice_confidential",),
    ),
    Case(
        "not sure about consent: advice, then given",
        f"{RULES_2008} The importance of proportionality",
        {"consent": {"consent": "not_sure"}, "consent_recheck": {"consent_after_advice": "given"}},
        "share_with_consent",
        through=("advice_consent", "consent_recheck", "consent_given"),
        values={"consent": "given"},
    ),
    Case(
        "not sure of a lawful reason: advice, then public interest",
        BATHNES_PUBLIC_INTEREST,
        {
            **REFUSED,
            "lawful_reason": {"lawful_reason": ["not_sure"]},
            "lawful_recheck": {"lawful_reason_after_advice": ["public_interest_child"]},
        },
        "share_without_consent",
        "before",
        through=("advice_lawful",),
        values={"lawful_reason": ["public_interest_child"]},
    ),
    Case(
        "not sure it is proportionate: advice, then not",
        f"{RULES_2008} The importance of proportionality",
        {
            **REFUSED,
            "proportionality": {"is_proportionate": "not_sure"},
            "proportionality_recheck": {"is_proportionate_after_advice": "no"},
        },
        "do_not_share",
        through=("advice_proportionality",),
        reason="Having taken advice",
    ),
    Case(
        "significant harm and unsure: advice recorded, then sign-off",
        f"{CALDERDALE} Section 4",
        {
            **SIG,
            "purpose": {"purpose_legitimate": "not_sure"},
            "purpose_recheck": {"purpose_legitimate_after_advice": "no"},
        },
        "do_not_share",
        "before",
        through=("advice_purpose",),
        prompt=REFER,
    ),
    # -- 9. Requests from the public, and from organisations ----------------------------
    Case(
        "a curious neighbour: no purpose by default, no sign-off",
        BATHNES_REASON,
        PUBLIC,
        "do_not_share",
        "none",
        through=("request_public",),
        prompt="does not need sign-off",
        values={"purpose_legitimate": "no"},
    ),
    Case(
        "a member of the public asks at significant harm: sign-off and referral",
        f"{CALDERDALE} Section 4",
        {**PUBLIC, **SIG},
        "do_not_share",
        "before",
        prompt=REFER,
    ),
    Case(
        "refusing an organisation's request needs sign-off",
        BATHNES_REASON,
        {**REQUEST, "purpose": {"purpose_legitimate": "no"}},
        "do_not_share",
        "before",
        reason="Refusing another organisation's request",
        prompt="Explain your reasons",
    ),
    Case(
        "an organisation's request answered with consent",
        f"{LSCP} Section 4",
        REQUEST,
        "share_with_consent",
        values={"recipient_org": "Children's social care", "recipient_role": "Social worker"},
    ),
    # -- 10. Permissive gateways -------------------------------------------------------
    Case(
        "Crime and Disorder Act 1998 section 115",
        f"{LSCP} The Crime and Disorder Act 1998",
        {
            **REQUEST,
            "request_details": {"requester_legal_basis": "cda1998_s115"},
            **REFUSED,
            "lawful_reason": {"lawful_reason": ["statutory_power"]},
        },
        "share_without_consent",
        "before",
        through=("gateway", "proportionality"),
        values={"gateway": "cda1998_s115", "purpose_categories": ["crime"]},
    ),
    Case(
        "the Serious Violence Duty gateway permits but does not oblige",
        f"{LSCP} Serious Violence Duty",
        {
            **REFUSED,
            "lawful_reason": {"lawful_reason": ["statutory_power"]},
            "gateway": {"gateway": "pcsca2022_s16"},
            "proportionality": {"is_proportionate": "no"},
        },
        "do_not_share",
        through=("gateway",),
        reason="does not oblige",
    ),
    Case(
        "Children Act 1989 section 27",
        f"{LSCP} The Children Act 1989",
        {
            **REFUSED,
            "lawful_reason": {"lawful_reason": ["statutory_power"]},
            "gateway": {"gateway": "ca1989_s27"},
        },
        "share_without_consent",
        "before",
    ),
    # -- 11. The informant ----------------------------------------------------------------
    Case(
        "told in confidence by someone else: protect them",
        LLR_OWED,
        {"information": {"informant": "in_confidence"}},
        "share_with_consent",
        prompt="Confidentiality is owed to them too",
        values={"informant": "in_confidence"},
    ),
    # -- 12. The consent record -------------------------------------------------------------
    Case(
        "early help needs signed consent",
        LLR_EARLY_HELP,
        {
            "purpose": {"purpose_categories": ["early_help"]},
            "consent_given": {"consent_how": "verbal"},
        },
        "share_with_consent",
        prompt="need signed consent",
        values={"consent_how": "verbal"},
    ),
    Case(
        "signed consent for early help: no prompt",
        LLR_EARLY_HELP,
        {"purpose": {"purpose_categories": ["early_help"]}},
        "share_with_consent",
        values={"consent_how": "signed", "consent_date": DATE},
    ),
]


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_the_guidance_routes_the_case(edition, case):
    pack = load(edition)
    _answers, result = decide(pack, case.changes)
    assert result.complete
    assert result.outcome.id == case.outcome, result.reasons
    assert result.sign_off == case.sign_off
    assert result.needs_approval is (case.sign_off != "none")
    for step_id in case.through:
        assert step_id in result.path, result.path
    if case.reason:
        assert any(case.reason in line for line in result.reasons), result.reasons
    if case.prompt:
        assert any(case.prompt in p.text for p in result.prompts), result.prompts
    for name, value in case.values.items():
        assert result.values.get(name) == value, name
    if result.outcome.kind in engine.SHARING_KINDS:
        assert result.values.get("gdpr_article6"), "a sharing route records its Article 6 basis"


def test_there_are_at_least_forty_cases_each_with_a_source():
    assert len(CASES) >= 40
    files = {BATHNES, CALDERDALE, LLR, LSCP, RULES_2008}
    for case in CASES:
        assert any(case.source.startswith(f + " ") for f in files), case.name


def test_significant_harm_prompts_only_when_it_applies():
    pack = load(EDITIONS[-1])
    _answers, result = decide(pack, {"purpose": {"purpose_legitimate": "no"}})
    assert not any(REFER in p.text for p in result.prompts)


@dataclass(frozen=True)
class Refused:
    name: str
    source: str
    changes: dict[str, dict[str, Any]]  # answers to the pages before `step`
    step: str
    values: dict[str, Any]  # this page's answers (over the defaults)
    field: str
    message: str  # a fragment of the message shown against `field`


REFUSALS = [
    Refused(
        "a child under 12 cannot consent for themselves",
        BATHNES_CHILD,
        {},
        "consent_given",
        {"consent_given_by": "the_person"},
        "consent_given_by",
        "not usually able to give valid consent",
    ),
    Refused(
        "a parent cannot consent for an adult",
        f"{LLR} Section 7",
        ADULT,
        "consent_given",
        {"consent_given_by": "parent"},
        "consent_given_by",
        "A parent cannot decide about consent for an adult",
    ),
    Refused(
        "a parent cannot consent for a young person of 16 or 17",
        LLR_WHOSE,
        subject(age_band="16_17"),
        "consent_given",
        {"consent_given_by": "parent"},
        "consent_given_by",
        "presumed able to decide",
    ),
    Refused(
        "an attorney acts only for an adult",
        BATHNES_MCA,
        {},
        "consent_given",
        {"consent_given_by": "attorney"},
        "consent_given_by",
        "acts only for an adult",
    ),
    Refused(
        "a parent cannot refuse for an adult",
        f"{LLR} Section 7",
        {**ADULT, **REFUSED},
        "consent_refused",
        {"refused_by": "parent"},
        "refused_by",
        "A parent cannot decide",
    ),
    Refused(
        "a child under 16 who cannot decide is not 'lacking capacity'",
        BATHNES_CANNOT_CONSENT,
        {"consent": {"consent": "cannot_obtain"}},
        "consent_unobtainable_reason",
        {"consent_unobtainable_reason": "lacks_capacity", "capacity_assessed_by": "GP"},
        "consent_unobtainable_reason",
        "parental responsibility can consent",
    ),
    Refused(
        "who assessed capacity is recorded",
        f"{LLR} Section 7",
        {**ADULT, "consent": {"consent": "cannot_obtain"}},
        "consent_unobtainable_reason",
        {"consent_unobtainable_reason": "lacks_capacity", "capacity_assessed_by": ""},
        "capacity_assessed_by",
        "assessed their capacity",
    ),
    Refused(
        "best interests only for a person who lacks capacity",
        f"{LLR} Section 7",
        REFUSED,
        "lawful_reason",
        {"lawful_reason": ["best_interests"]},
        "lawful_reason",
        "Best interests applies only",
    ),
    Refused(
        "'the law requires me to share', then 'none of these'",
        LLR_MUST_SHARE,
        {
            "consent": {"consent": "not_sought"},
            "consent_not_sought_reason": {"consent_not_sought_reason": "legal_duty"},
        },
        "lawful_reason",
        {"lawful_reason": ["none"]},
        "lawful_reason",
        "requires you to share",
    ),
    Refused(
        "'the law requires me to share', then only the public interest",
        f"{LLR} Section 5",
        {
            "consent": {"consent": "not_sought"},
            "consent_not_sought_reason": {"consent_not_sought_reason": "legal_duty"},
        },
        "lawful_reason",
        {"lawful_reason": ["public_interest_child"]},
        "lawful_reason",
        "select the legal duty",
    ),
    Refused(
        "a court order, then 'none of these'",
        LLR_MUST_SHARE,
        {**REQUEST, "request_details": {"requester_legal_basis": "court_order"}, **REFUSED},
        "lawful_reason",
        {"lawful_reason": ["none"]},
        "lawful_reason",
        "court order",
    ),
    Refused(
        "'None of these' with a real reason",
        f"{BATHNES} Section 11, question 5",
        REFUSED,
        "lawful_reason",
        {"lawful_reason": ["none", "public_interest_child"]},
        "lawful_reason",
        "on its own",
    ),
    Refused(
        "'I'm not sure' with a real reason",
        f"{BATHNES} Section 11",
        REFUSED,
        "lawful_reason",
        {"lawful_reason": ["not_sure", "vital_interests"]},
        "lawful_reason",
        "on its own",
    ),
    Refused(
        "'None of these' purposes with a purpose",
        BATHNES_PURPOSE,
        {},
        "purpose",
        {"purpose_categories": ["none", "s47_child_protection"]},
        "purpose_categories",
        "on its own",
    ),
    Refused(
        "'not special category' with health data shared",
        LSCP_GDPR,
        {"what_to_share": {"data_categories": ["health"]}},
        "data_protection_basis",
        {"special_category_condition": "not_special"},
        "special_category_condition",
        "special category data",
    ),
    Refused(
        "'no personal data' about identifiable information",
        LLR_IDENTIFIED,
        {},
        "data_protection_basis",
        {"gdpr_article6": "not_personal_data"},
        "gdpr_article6",
        "personal data",
    ),
    Refused(
        "a legal obligation basis with no legal duty",
        LSCP_GDPR,
        {},
        "data_protection_basis",
        {"gdpr_article6": "legal_obligation"},
        "gdpr_article6",
        "did not say that the law requires",
    ),
    Refused(
        "names shared from 'anonymised' information",
        LLR_IDENTIFIED,
        {"information": {"identifiable": "no"}},
        "what_to_share",
        {"data_categories": ["names"]},
        "data_categories",
        "identify people",
    ),
    Refused(
        "told in confidence, but 'not confidential'",
        LLR_OWED,
        {},
        "information",
        {"informant": "in_confidence", "confidential": "no"},
        "confidential",
        "in confidence",
    ),
    Refused(
        "another purpose needs describing",
        BATHNES_PURPOSE,
        {},
        "purpose",
        {"purpose_categories": ["other"], "purpose_other": ""},
        "purpose_other",
        "Describe the other purpose",
    ),
    Refused(
        "another gateway needs naming",
        f"{LSCP} Serious Violence Duty",
        {**REFUSED, "lawful_reason": {"lawful_reason": ["statutory_power"]}},
        "gateway",
        {"gateway": "other", "gateway_other": ""},
        "gateway_other",
        "statutory power",
    ),
    Refused(
        "an urgent share needs a short justification",
        BATHNES_RECORD,
        URGENT,
        "urgent",
        {"urgent_reason": "life_at_risk", "urgent_justification": ""},
        "urgent_justification",
        "cannot wait",
    ),
    Refused(
        "a refusal at significant harm needs a lead's advice",
        f"{CALDERDALE} Section 4",
        {**SIG, "purpose": {"purpose_legitimate": "no"}},
        "not_sharing_reasons",
        {"lead_advice_from": "", "lead_advice": ""},
        "lead_advice_from",
        "advised you",
    ),
    Refused(
        "what the person who asked was told",
        f"{LSCP} Section 4",
        PUBLIC,
        "not_sharing_reasons",
        {"requester_response": ""},
        "requester_response",
        "the person who asked",
    ),
    Refused(
        "a child cannot be 18 or over",
        LLR_WHOSE,
        {},
        "subject",
        {"subject_type": "child", "age_band": "adult"},
        "age_band",
        "under 18",
    ),
]


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in REFUSALS])
def test_the_page_refuses_the_answer(edition, case):
    pack = load(edition)
    answers, result = decide(pack, case.changes, stop_at=case.step)
    assert result.next_step == case.step, result.path
    values = page_values(pack, case.step, answers, {case.step: case.values})
    errors = engine.step_errors(pack, case.step, values, answers)
    assert case.field in errors, errors
    assert case.message in errors[case.field]


def test_invalid_consent_stored_without_the_page_check_is_not_relied_on():
    # A stored answer the page would now refuse (a parent for an adult) must still not lead to
    # "share with consent": the engine routes it as no valid consent.
    pack = load(EDITIONS[-1])
    answers, _ = decide(pack, ADULT, stop_at="consent_given")
    answers["consent_given"] = {
        "consent_given_by": "parent",
        "consent_informed": "yes",
        "consent_how": "signed",
        "consent_date": DATE,
        "consent_limits": "",
    }
    assert engine.node_after(pack, answers, "consent_given") == "lawful_reason"


def test_no_prompt_says_no_sign_off_when_sign_off_is_needed():
    pack = load(EDITIONS[-1])
    _answers, result = decide(pack, {**PUBLIC, **SIG})
    assert result.sign_off == "before"
    assert not any("does not need sign-off" in p.text for p in result.prompts)
