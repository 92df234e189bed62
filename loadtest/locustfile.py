"""The load test's users (run by loadtest/run.py; `make loadtest`): practitioners deciding
(the wizard's question pages, answers and submit), leads reviewing (their queue, a review page,
approving; their audit log) and managers reporting (the reports page, a CSV export), spread
over the web nodes in LOADTEST_NODES. Loopback only: run.py refuses any other host.

Environment: LOADTEST_NODES (comma-separated base URLs), LOADTEST_ACCOUNTS (the JSON written by
loadtest/seed.py), LOADTEST_MAX_REQUESTS (the run stops after this many requests).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, events, task

NODES = os.environ["LOADTEST_NODES"].split(",")
for _node in NODES:
    if urlsplit(_node).hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"the load test runs against loopback only, not {_node}")
SEED = json.loads(open(os.environ["LOADTEST_ACCOUNTS"]).read())  # noqa: SIM115
MAX_REQUESTS = int(os.environ.get("LOADTEST_MAX_REQUESTS", "20000"))
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_next_account = {role: itertools.cycle(emails) for role, emails in SEED["accounts"].items()}
_node_turn = itertools.count()
_requests = itertools.count(1)


_environment = None
_stopping = False


@events.init.add_listener
def _keep_environment(environment, **kwargs):
    global _environment
    _environment = environment


@events.request.add_listener
def _bounded(**kwargs):
    """Stop the whole run after MAX_REQUESTS requests, whatever the time left."""
    global _stopping
    if next(_requests) >= MAX_REQUESTS and not _stopping and _environment is not None:
        _stopping = True
        gevent.spawn(_environment.runner.quit)


class IsgUser(HttpUser):
    abstract = True
    role = ""
    wait_time = between(0.2, 1.0)
    host = NODES[0]

    def on_start(self) -> None:
        # Each user stays on one node, the nodes taken in turn: a sticky load balancer.
        self.client.base_url = NODES[next(_node_turn) % len(NODES)]
        self.email = next(_next_account[self.role])
        self.client.get("/accounts/login/", name="sign in page")
        response = self.post(
            "/accounts/login/",
            {"username": self.email, "password": SEED["password"]},
            name="sign in",
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in failed for a {self.role}: {response.status_code}")

    def post(self, path: str, data: dict | None = None, *, name: str, **kwargs):
        token = self.client.cookies.get("csrftoken", "")
        return self.client.post(
            path,
            data=data or {},
            headers={"X-CSRFToken": token, "Referer": self.client.base_url + path},
            allow_redirects=False,
            name=name,
            **kwargs,
        )


class Practitioner(IsgUser):
    role = "practitioner"
    weight = 10

    @task
    def decide(self) -> None:
        outcome = random.choice(list(SEED["routes"]))
        started = self.post("/decisions/new/", name="wizard: start")
        match = re.search(UUID, started.headers.get("Location", ""))
        if not match:
            return
        base = f"/decisions/{match.group(0)}"
        for step_id, data in SEED["routes"][outcome]:
            self.client.get(f"{base}/step/{step_id}/", name="wizard: question page")
            with self.client.post(
                f"{base}/step/{step_id}/",
                data=data,
                headers={"X-CSRFToken": self.client.cookies.get("csrftoken", "")},
                allow_redirects=False,
                name="wizard: answer",
                catch_response=True,
            ) as answered:
                if answered.status_code != 302:
                    answered.failure(f"answer not taken: {answered.status_code}")
                    return
        self.client.get(f"{base}/check/", name="wizard: check answers")
        with self.client.post(
            f"{base}/check/",
            headers={"X-CSRFToken": self.client.cookies.get("csrftoken", "")},
            allow_redirects=False,
            name="wizard: submit",
            catch_response=True,
        ) as submitted:
            if submitted.status_code != 302:
                submitted.failure(f"not submitted: {submitted.status_code}")
                return
        # Reading one's own write at once: the record, from the primary.
        self.client.get(f"{base}/", name="record page (own, just written)")


class Lead(IsgUser):
    role = "lead"
    weight = 3

    @task(3)
    def review(self) -> None:
        queue = self.client.get("/review/approvals/", name="lead: approvals queue")
        waiting = sorted(set(re.findall(rf"/review/approvals/({UUID})/", queue.text)))
        if not waiting:
            return
        public_id = random.choice(waiting)
        url = f"/review/approvals/{public_id}/"
        self.client.get(url, name="lead: review page")
        with self.client.post(
            url,
            data={"outcome": "approved", "comments": ""},
            headers={"X-CSRFToken": self.client.cookies.get("csrftoken", "")},
            allow_redirects=False,
            name="lead: approve",
            catch_response=True,
        ) as approved:
            if approved.status_code == 302:
                approved.success()
            elif approved.status_code in (400, 404, 409):
                approved.success()  # another approver was first: a page that says so
            else:
                approved.failure(f"approve: {approved.status_code}")

    @task(1)
    def audit_log(self) -> None:
        self.client.get("/review/audit/", name="lead: audit log (standby)")


class Manager(IsgUser):
    role = "manager"
    weight = 3

    @task(3)
    def reports(self) -> None:
        self.client.get("/reports/", name="manager: reports page (standby)")

    @task(1)
    def export_csv(self) -> None:
        with self.post(
            "/reports/export/", {"kind": "csv"}, name="manager: CSV export", catch_response=True
        ) as got:
            if got.status_code not in (200, 302):
                got.failure(f"export: {got.status_code}")
