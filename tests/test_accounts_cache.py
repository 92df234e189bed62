"""A throttling cache that several web nodes share: production defaults to Django's database
cache (no new infrastructure), and the anonymous-refusal throttle (decisions.audit.noise)
counts across two clients of it as if they were two nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.management import call_command

from decisions.audit import noise
from decisions.audit.record import RequestMeta, current_request

DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"
LOCMEM_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def cache_setting(**env: str) -> dict[str, str]:
    """settings.CACHES["default"] as a fresh process with this environment loads it."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ISG_CACHE_", "DEBUG", "DJANGO_SETTINGS_MODULE"))
    }
    environment |= {"SECRET_KEY": "a-test-only-key-for-reading-settings", **env}
    script = (
        "import json, django, os;"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'isg.settings';"
        "django.setup();"
        "from django.conf import settings;"
        "print(json.dumps(settings.CACHES['default']))"
    )
    output = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        env=environment,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


def test_production_settings_pick_the_shared_database_cache():
    assert cache_setting(DEBUG="false") == {"BACKEND": DATABASE_CACHE, "LOCATION": "isg_cache"}


def test_the_environment_can_name_another_shared_cache():
    chosen = cache_setting(
        DEBUG="false",
        ISG_CACHE_BACKEND="django.core.cache.backends.redis.RedisCache",
        ISG_CACHE_LOCATION="redis://cache.internal:6379",
    )
    assert chosen == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379",
    }


def test_make_run_keeps_a_cache_in_the_process():
    assert cache_setting(DEBUG="true")["BACKEND"] == LOCMEM_CACHE


@pytest.fixture
def two_nodes(settings):
    """Two clients of the production cache (each web node has its own), over one table."""
    settings.CACHES = {"default": {"BACKEND": DATABASE_CACHE, "LOCATION": "isg_cache"}}
    call_command("createcachetable", verbosity=0)
    first, second = caches.create_connection("default"), caches.create_connection("default")
    assert first is not second
    token = current_request.set(RequestMeta(ip_address="203.0.113.9"))
    yield first, second
    current_request.reset(token)
    first.clear()


def refusal_on(node, monkeypatch) -> dict[str, int] | None:
    """One anonymous refusal seen by `node`: the extra details if an event is written."""
    monkeypatch.setattr(noise, "cache", node)
    return noise.throttled("auth.sign_in_failed", lambda extra: dict(extra))


@pytest.mark.django_db
def test_the_refusal_throttle_counts_across_two_nodes(two_nodes, monkeypatch):
    first, second = two_nodes
    minute = noise.current_minute()
    monkeypatch.setattr(noise, "current_minute", lambda: minute)

    assert refusal_on(first, monkeypatch) == {}  # the first of the minute is written
    # The other node sees that minute's event already written: it only counts.
    assert refusal_on(second, monkeypatch) is None
    assert refusal_on(second, monkeypatch) is None
    assert refusal_on(first, monkeypatch) is None

    # Next minute, whichever node writes the event carries the count from both.
    monkeypatch.setattr(noise, "current_minute", lambda: minute + 1)
    assert refusal_on(second, monkeypatch) == {noise.SUPPRESSED_KEY: 3}
    monkeypatch.setattr(noise, "current_minute", lambda: minute + 2)
    assert refusal_on(first, monkeypatch) == {}
