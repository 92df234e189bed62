"""The audit log: append (record), verify, read (queries), the actions, request context.

What other packages use is re-exported here: `record_event`, `record_refusal`, `AuditAction`.
"""

from decisions.audit.actions import AuditAction, action_label
from decisions.audit.record import RequestMeta, current_request, record_event, record_refusal
from decisions.audit.verify import ChainCheck, audit_verify, verify_chain

__all__ = [
    "AuditAction",
    "ChainCheck",
    "RequestMeta",
    "action_label",
    "audit_verify",
    "current_request",
    "record_event",
    "record_refusal",
    "verify_chain",
]
