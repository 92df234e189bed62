"""Seed the load test's database (loadtest/run.py runs this with its environment): organisations,
each with practitioners, a lead and a manager, and decisions made through the services (so each
has its audit events), some waiting for sign-off. Writes the accounts and the wizard's answers
for the locust users (loadtest/locustfile.py) as JSON to the path given.

    python loadtest/seed.py OUT.json ORGANISATIONS DECISIONS_PER_ORGANISATION
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isg.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402

from decisions.models import Organisation, OrganisationKind, Role, User  # noqa: E402
from tests.factories import ROUTES, answered_decision, as_post  # noqa: E402

PRACTITIONERS = 4
OUTCOMES = ["share_without_consent", "share_with_consent", "do_not_share"]


def main(out: Path, organisations: int, per_organisation: int) -> None:
    started = time.monotonic()
    password = secrets.token_urlsafe(16)
    hashed = make_password(password)  # one PBKDF2 hash for every account: seeding stays quick
    accounts: dict[str, list[str]] = {"practitioner": [], "lead": [], "manager": []}
    made = 0
    for n in range(organisations):
        org = Organisation.objects.create(
            name=f"Load Test Agency {n}",
            slug=f"load-test-{n}",
            kind=OrganisationKind.LOCAL_AUTHORITY,
        )

        def person(role: str, label: str, org=org, n=n) -> User:
            email = f"{label}@org{n}.loadtest.invalid"
            user = User.objects.create(
                email=email, full_name=f"{label.title()} {n}", organisation=org, role=role
            )
            User.objects.filter(pk=user.pk).update(password=hashed)
            return user

        deciders = [person(Role.PRACTITIONER, f"practitioner{i}") for i in range(PRACTITIONERS)]
        accounts["practitioner"] += [u.email for u in deciders]
        accounts["lead"].append(person(Role.LEAD, "lead").email)
        accounts["manager"].append(person(Role.MANAGER, "manager").email)
        for i in range(per_organisation):
            answered_decision(deciders[i % PRACTITIONERS], OUTCOMES[i % 3], submit=True)
            made += 1
    routes = {
        outcome: [[step_id, as_post(values)] for step_id, values in ROUTES[outcome]]
        for outcome in OUTCOMES
    }
    out.write_text(json.dumps({"password": password, "accounts": accounts, "routes": routes}))
    out.chmod(0o600)
    print(
        f"seeded {organisations} organisations, {sum(map(len, accounts.values()))} people, "
        f"{made} decisions in {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
