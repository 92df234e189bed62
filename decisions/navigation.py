"""Where the wizard goes: each flowchart node's page, the back link, the page after an answer.

The engine decides the route (decisions.guidance.engine.Walk); this maps its nodes to the
wizard's pages. A view walks the answers once per request and hands the walk to a Place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from decisions.guidance import engine
from decisions.models import Decision

# A change made from "Check your answers" carries this query, so the wizard goes back there
# once the path is whole again, visiting only the questions the change brought in.
RETURN_TO_CHECK = "return=check"


@dataclass(frozen=True)
class Place:
    """One decision's answers, walked once, and the pages they lead to."""

    decision: Decision
    walk: engine.Walk

    @classmethod
    def of(cls, decision: Decision) -> Place:
        return cls(decision, engine.walk(decision.pack.pack, decision.answers))

    def url(self, node: str | None) -> str:
        """A step's page, the outcome page, or check your answers (for END or nothing left)."""
        public_id = self.decision.public_id
        if node is None or node == engine.END:
            return reverse("check_answers", args=[public_id])
        if node in self.decision.pack.pack.outcomes:
            return reverse("outcome", args=[public_id])
        return reverse("step", args=[public_id, node])

    def resume_url(self) -> str:
        """Where a decision continues: its next question, or its record once submitted."""
        if not self.decision.is_editable:
            return reverse("record", args=[self.decision.public_id])
        return self.url(self.walk.next_step)

    def back_url(self, node: str) -> str:
        before = self.walk.before(node)
        return reverse("start") if before is None else self.url(before)

    def after_answer_url(self, step_id: str, *, returning_to_check: bool) -> str:
        """The page after `step_id` was answered (self.walk is of the new answers)."""
        if returning_to_check:
            if self.walk.complete:
                return self.url(engine.END)
            return f"{self.url(self.walk.next_step)}?{RETURN_TO_CHECK}"
        return self.url(self.walk.after(step_id))


def resume_url(decision: Decision) -> str:
    return Place.of(decision).resume_url()
