"""The audit log: append (record), verify, read (queries), the actions, request context.

What other packages use is re-exported here: `record_event`, `record_refusal`, `AuditAction`,
`throttled` (anonymous refusals, decisions.audit.noise).
"""

from decisions.audit.actions import AuditAction, action_label
from decisions.audit.noise import throttled
from decisions.audit.record import (
    AuditChainBroken,
    RequestMeta,
    current_request,
    record_event,
    record_refusal,
)
from decisions.audit.verify import ChainCheck, audit_checkpoint, audit_verify, verify_chain

__all__ = [
    "AuditAction",
    "AuditChainBroken",
    "ChainCheck",
    "RequestMeta",
    "action_label",
    "audit_checkpoint",
    "audit_verify",
    "current_request",
    "record_event",
    "record_refusal",
    "throttled",
    "verify_chain",
]
