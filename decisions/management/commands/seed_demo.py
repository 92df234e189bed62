"""Load the partner organisations and create one fictional demo user per role (local use)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from decisions.audit import AuditAction, record_event
from decisions.audit.receivers import recorded_by_caller
from decisions.models import Organisation, Role, User

DEMO_ORGANISATION = "Leicester City Council"
OTHER_ORGANISATION = "Leicestershire Police"
# Clearly fictional people, one per role, plus one in a second organisation.
DEMO_USERS = [
    ("practitioner@example.org", "Pat Practitioner (demo)", Role.PRACTITIONER, DEMO_ORGANISATION),
    ("lead@example.org", "Lee Lead (demo)", Role.LEAD, DEMO_ORGANISATION),
    ("manager@example.org", "Morgan Manager (demo)", Role.MANAGER, DEMO_ORGANISATION),
    ("admin@example.org", "Ash Administrator (demo)", Role.ADMIN, DEMO_ORGANISATION),
    (
        "partnership.manager@example.org",
        "Parker Partnership (demo)",
        Role.MANAGER,
        DEMO_ORGANISATION,
    ),
    (
        "police.practitioner@example.org",
        "Robin Constable (demo)",
        Role.PRACTITIONER,
        OTHER_ORGANISATION,
    ),
]


def load_organisations() -> int:
    path = settings.BASE_DIR / "fixtures" / "organisations.json"
    created = 0
    for item in json.loads(path.read_text(encoding="utf-8"))["organisations"]:
        if Organisation.objects.filter(name=item["name"]).exists():
            continue
        org = Organisation(
            name=item["name"],
            slug=slugify(item["name"])[:80],
            kind=item["kind"],
            address=item["address"],
        )
        # This command logs the creation itself; the post_save receiver would log it again.
        recorded_by_caller(org).save()
        created += 1
        record_event(
            AuditAction.ORGANISATION_CREATED,
            actor=None,
            actor_email="system",
            obj=org,
            details={"name": org.name, "kind": org.kind},
        )
    return created


class Command(BaseCommand):
    help = "Create the organisations and demo users (one per role) with fresh passwords."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="allow with DEBUG off")

    @transaction.atomic
    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Demo users are for local use: run with DEBUG=true (or --force).")
        created = load_organisations()
        self.stdout.write(f"Organisations: {Organisation.objects.count()} ({created} new)")
        self.stdout.write("Demo users (fictional; passwords are new on every run, local use only):")
        for email, name, role, org_name in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            user = User.objects.filter(email=email).first()
            was_created = user is None
            if user is None:
                user = User(
                    email=email,
                    full_name=name,
                    role=role,
                    organisation=Organisation.objects.get(name=org_name),
                    # The demo administrator sees the whole administration area.
                    partnership_wide=email.startswith("partnership.") or role == Role.ADMIN,
                )
            user.set_password(password)
            # One event per user, written here: the post_save receiver is told to skip it.
            recorded_by_caller(user).save()
            action = AuditAction.USER_CREATED if was_created else AuditAction.PASSWORD_RESET
            record_event(
                action,
                actor=None,
                actor_email="system",
                obj=user,
                details={"email": email, "role": role},
            )
            self.stdout.write(f"  {role:<13} {email:<34} {password}")
