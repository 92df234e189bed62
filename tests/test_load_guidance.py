"""The load_guidance command: editions are resolved, stored whole and once; the newest edition
that is not superseded becomes current; a bad pack is refused by name; --diff compares."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from decisions import services
from decisions.guidance.overlay import resolve_file
from decisions.guidance.schema import pack_digest
from decisions.guidance.store import (
    NoGuidancePack,
    current_pack,
    current_pack_or_none,
    pack_load_files,
    superseded_only_pack,
)
from decisions.models import GuidancePack

pytestmark = pytest.mark.django_db

EDITION_2015 = settings.GUIDANCE_DIR / "key-questions-2015.json"
EDITION_2024 = settings.GUIDANCE_DIR / "key-questions-2024.json"
V1_2024 = settings.GUIDANCE_DIR / "archive" / "key-questions-2024-v1.json"


def run(*args: str) -> str:
    out = StringIO()
    call_command("load_guidance", *args, stdout=out)
    return out.getvalue()


def resolved_2024() -> dict:
    return resolve_file(EDITION_2024)


def test_loading_again_changes_nothing():
    before = GuidancePack.objects.count()
    assert "kept" in run()
    assert GuidancePack.objects.count() == before


def test_the_newest_edition_is_current():
    current = GuidancePack.objects.get(is_current=True)
    assert (current.pack_id, current.version) == ("key-questions-2024", 2)
    assert current_pack() == current


def test_each_edition_is_stored_whole_with_its_digest():
    stored = GuidancePack.objects.get(pack_id="key-questions-2024", version=2)
    assert stored.data == resolved_2024()
    assert stored.digest == pack_digest(resolved_2024())
    assert "base" not in stored.data
    assert stored.pack.steps["consent"].title == "Do you have consent to share?"


def test_the_superseded_edition_is_stored_but_never_current():
    stored = GuidancePack.objects.get(pack_id="key-questions-2015", version=2)
    assert stored.is_current is False
    assert stored.pack.superseded is True
    assert "[superseded]" in run(str(EDITION_2015))
    assert current_pack().pack_id == "key-questions-2024"


def test_loading_only_a_superseded_edition_leaves_no_pack_current():
    GuidancePack.objects.all().delete()
    pack_load_files([EDITION_2015])
    assert not GuidancePack.objects.filter(is_current=True).exists()
    assert current_pack_or_none() is None
    with pytest.raises(NoGuidancePack):
        current_pack()
    assert superseded_only_pack().pack_id == "key-questions-2015"


def test_no_superseded_notice_while_a_current_edition_is_loaded():
    assert superseded_only_pack() is None


def test_a_superseded_pack_marked_current_is_not_offered():
    GuidancePack.objects.update(is_current=False)
    GuidancePack.objects.filter(pack_id="key-questions-2015", version=2).update(is_current=True)
    assert current_pack_or_none() is None


def test_the_version_1_packs_of_old_records_still_load_unchanged():
    run(str(V1_2024))
    stored = GuidancePack.objects.get(pack_id="key-questions-2024", version=1)
    assert stored.digest == pack_digest(json.loads(V1_2024.read_text()))
    assert stored.pack.steps["consent_given_by"].fields[0].name == "consent_given_by"
    assert current_pack().version == 2


def test_a_pack_with_a_dead_end_is_refused_by_name(tmp_path):
    data = resolved_2024()
    data["steps"][0]["next"] = [
        {"when": {"field": "direction", "equals": "request"}, "goto": "request_details"}
    ]
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(CommandError, match=r"broken\.json.*dead-end"):
        call_command("load_guidance", str(bad))


def test_a_pack_that_is_not_json_is_refused_by_name(tmp_path):
    bad = tmp_path / "garbled.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match=r"garbled\.json"):
        call_command("load_guidance", str(bad))


def test_an_edition_whose_base_is_missing_is_refused(tmp_path):
    overlay = tmp_path / "key-questions-2024.json"
    overlay.write_text(EDITION_2024.read_text())
    with pytest.raises(CommandError, match=r"key-questions\.json: cannot be read"):
        call_command("load_guidance", str(overlay))


def test_changed_content_under_an_existing_version_is_refused(tmp_path):
    data = resolved_2024()
    data["title"] = "Quietly edited"
    changed = tmp_path / "edited.json"
    changed.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="raise 'version'"):
        call_command("load_guidance", str(changed))
    stored = GuidancePack.objects.get(pack_id=data["id"], version=data["version"])
    assert stored.title != "Quietly edited"


def test_check_mode_stores_nothing(tmp_path):
    data = resolved_2024()
    data["version"] = 99
    new = tmp_path / "new.json"
    new.write_text(json.dumps(data))
    assert "ok   new.json" in run(str(new), "--check")
    assert not GuidancePack.objects.filter(version=99).exists()


def test_check_mode_checks_every_edition_by_default():
    lines = run("--check").splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   key-questions-2015.json",
        "ok   key-questions-2018.json",
        "ok   key-questions-2024.json",
    ]


def test_diff_prints_what_changed_between_two_editions():
    out = run("--diff", "2018", "2024")
    lines = out.splitlines()
    assert lines[:2] == ["--- key-questions-2018 v2 (2018)", "+++ key-questions-2024 v2 (2024)"]
    assert "edition: '2018' -> '2024'" in lines
    assert any(line.startswith("golden_rules[1].text:") for line in lines)
    assert not any(line.startswith("steps[consent].next") for line in lines), "one flowchart"


def test_diff_accepts_pack_ids_and_files():
    out = run("--diff", "key-questions-2015", str(EDITION_2024))
    assert "steps[legal_duty].fields[duty_which].choices[ca2004_s14b]: removed" in out


def test_diff_of_an_unknown_edition_is_refused():
    with pytest.raises(CommandError, match="No guidance edition '1999'"):
        call_command("load_guidance", "--diff", "1999", "2024")


def test_a_stored_pack_that_fails_its_checks_gives_a_clear_page_not_a_500(practitioner, client):
    decision = services.decision_start(user=practitioner)
    broken = dict(decision.pack.data, start="nowhere")
    GuidancePack.objects.filter(pk=decision.pack_id).update(data=broken, digest=pack_digest(broken))
    client.force_login(practitioner)
    response = client.get(reverse("check_answers", args=[decision.public_id]))
    assert response.status_code == 503
    assert b"failed its checks" in response.content
