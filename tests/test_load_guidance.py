"""The load_guidance command: good packs are stored once; a bad pack is refused by name."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from decisions.guidance.schema import pack_digest
from decisions.models import GuidancePack
from tests.factories import answered_decision

pytestmark = pytest.mark.django_db

PACK_2024 = settings.GUIDANCE_DIR / "key-questions-2024.json"


def test_loading_again_changes_nothing():
    before = GuidancePack.objects.count()
    out = StringIO()
    call_command("load_guidance", stdout=out)
    assert GuidancePack.objects.count() == before
    assert "kept" in out.getvalue()


def test_the_newest_edition_is_current():
    assert GuidancePack.objects.get(is_current=True).edition == "2024"


def test_a_pack_with_a_dead_end_is_refused_by_name(tmp_path):
    data = json.loads(PACK_2024.read_text())
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


def test_changed_content_under_an_existing_version_is_refused(tmp_path):
    data = json.loads(PACK_2024.read_text())
    data["title"] = "Quietly edited"
    changed = tmp_path / "edited.json"
    changed.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="raise 'version'"):
        call_command("load_guidance", str(changed))
    stored = GuidancePack.objects.get(pack_id=data["id"], version=data["version"])
    assert stored.title != "Quietly edited"


def test_check_mode_stores_nothing(tmp_path):
    data = json.loads(PACK_2024.read_text())
    data["version"] = 99
    new = tmp_path / "new.json"
    new.write_text(json.dumps(data))
    call_command("load_guidance", str(new), "--check", stdout=StringIO())
    assert not GuidancePack.objects.filter(version=99).exists()


def test_a_stored_pack_that_fails_its_checks_gives_a_clear_page_not_a_500(practitioner, client):
    decision = answered_decision(practitioner, "can_share")
    broken = dict(decision.pack.data, start="nowhere")
    GuidancePack.objects.filter(pk=decision.pack_id).update(data=broken, digest=pack_digest(broken))
    client.force_login(practitioner)
    response = client.get(reverse("check_answers", args=[decision.public_id]))
    assert response.status_code == 503
    assert b"failed its checks" in response.content
