"""Remind approvers of decisions waiting too long, and escalate those waiting longest."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from decisions.approvals import chase_waiting_approvals


class Command(BaseCommand):
    help = "Send sign-off reminders and escalate decisions waiting past the configured hours."

    def handle(self, *args: Any, **options: Any) -> None:
        chased = chase_waiting_approvals()
        self.stdout.write(f"Reminded: {len(chased.reminded)}; escalated: {len(chased.escalated)}")
        for reference in chased.escalated:
            self.stdout.write(f"  escalated {reference}")
        for reference in chased.reminded:
            self.stdout.write(f"  reminded  {reference}")
