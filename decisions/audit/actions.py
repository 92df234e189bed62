"""Every audit action ISG writes, with the words the audit pages show for it.

Dotted names ("decision.submitted") are what is stored and hashed; the labels are for people.
Writers pass these members, never bare strings, so the audit-log filter offers every action
that can appear (tests/test_audit_actions.py checks the code for bare action strings).
"""

from __future__ import annotations

from django.db import models


class AuditAction(models.TextChoices):
    SIGNED_IN = "auth.signed_in", "Signed in"
    SIGNED_OUT = "auth.signed_out", "Signed out"
    SIGN_IN_FAILED = "auth.sign_in_failed", "Failed sign-in"
    SIGN_IN_LOCKED_OUT = "auth.locked_out", "Sign-in locked out (too many attempts)"
    SESSION_EXPIRED = "auth.session_expired", "Signed out by ISG (time limit or lockout)"
    REAUTHENTICATED = "auth.reauthenticated", "Password confirmed"
    MFA_VERIFIED = "auth.mfa_verified", "Security code accepted"
    MFA_FAILED = "auth.mfa_failed", "Wrong security code"
    DECISION_STARTED = "decision.started", "Decision started"
    STEP_SAVED = "decision.step_saved", "Answer saved"
    DECISION_SUBMITTED = "decision.submitted", "Decision submitted"
    AMENDMENT_STARTED = "decision.amendment_started", "Amendment started"
    DECISION_AMENDED = "decision.amended", "Decision amended (superseded)"
    DECISION_APPROVED = "decision.approved", "Decision approved"
    DECISION_RETURNED = "decision.returned", "Decision returned"
    DECISION_RECONSIDERED = "decision.reconsidered", "Decision reconsidered"
    DECISION_VIEWED = "decision.viewed", "Record viewed"
    PDF_DOWNLOADED = "decision.pdf_downloaded", "PDF downloaded"
    APPROVE_REFUSED = "decision.approve_refused", "Approval refused"
    RETURN_REFUSED = "decision.return_refused", "Return refused"
    RECONSIDER_REFUSED = "decision.reconsider_refused", "Reconsideration refused"
    APPROVAL_REMINDED = "decision.approval_reminded", "Approvers reminded"
    APPROVAL_ESCALATED = "decision.approval_escalated", "Approval escalated"
    DECISION_DISCARDED = "decision.discarded", "Draft discarded"
    RECORD_VERIFIED = "decision.verified", "Printed record checked"
    ACCESS_REFUSED = "access.refused", "Access refused"
    AUDIT_VIEWED = "audit.viewed", "Audit log viewed"
    AUDIT_EXPORTED = "audit.exported", "Audit log exported"
    RECORD_ACCESS_VIEWED = "audit.record_access_viewed", "Record access log viewed"
    AUDIT_VERIFIED = "audit.verified", "Audit log verified"
    AUDIT_ARCHIVED = "audit.archived", "Audit log month archived"
    LEGAL_HOLD_PLACED = "audit.legal_hold_placed", "Legal hold placed"
    LEGAL_HOLD_RELEASED = "audit.legal_hold_released", "Legal hold released"
    REPORT_EXPORTED = "report.exported", "Report exported"
    REPORT_EXPORT_REQUESTED = "report.export_requested", "Report export requested"
    REPORT_EXPORT_FINISHED = "report.export_finished", "Report export finished"
    REPORT_EXPORT_DOWNLOADED = "report.export_downloaded", "Report export downloaded"
    REPORT_EXPORT_DELETED = "report.export_deleted", "Report export file deleted"
    REPORT_DECISIONS_LISTED = "report.decisions_listed", "Decisions behind a report figure viewed"
    USER_CREATED = "user.created", "User created"
    USER_CHANGED = "user.changed", "User changed"
    PASSWORD_RESET = "user.password_reset", "Password reset"
    PASSWORD_CHANGED = "user.password_changed", "Password changed"
    PASSWORD_RESET_REQUESTED = "user.password_reset_requested", "Password reset requested"
    USER_INVITED = "user.invited", "Invitation sent"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    MFA_ENROLLED = "user.mfa_enrolled", "Authenticator app set up"
    MFA_RESET = "user.mfa_reset", "Authenticator app reset"
    RECOVERY_CODES_CREATED = "user.recovery_codes_created", "Recovery codes created"
    ORGANISATION_CREATED = "organisation.created", "Organisation created"
    ORGANISATION_CHANGED = "organisation.changed", "Organisation changed"
    ORGANISATION_DEACTIVATED = "organisation.deactivated", "Organisation deactivated"
    ORGANISATION_REACTIVATED = "organisation.reactivated", "Organisation reactivated"
    PACK_LOADED = "guidance.pack_loaded", "Guidance pack loaded"
    PACK_MADE_CURRENT = "guidance.pack_made_current", "Guidance pack made current"
    # Accounts (issue 10): passkeys, new recovery codes
    PASSKEY_ADDED = "user.passkey_added", "Passkey added"
    PASSKEY_RENAMED = "user.passkey_renamed", "Passkey renamed"
    PASSKEY_REMOVED = "user.passkey_removed", "Passkey removed"
    RECOVERY_CODES_REPLACED = "user.recovery_codes_replaced", "Recovery codes replaced"
    # Single sign-on (decisions/sso/)
    SSO_SIGNED_IN = "auth.sso_signed_in", "Signed in with the organisation's account"
    SSO_SIGNED_OUT = "auth.sso_signed_out", "Signed out of a single sign-on session"
    SSO_REFUSED = "auth.sso_refused", "Single sign-on refused"
    SSO_REAUTHENTICATED = "auth.sso_reauthenticated", "Confirmed with the organisation's account"
    SSO_ROLE_MAPPED = "user.sso_role_mapped", "Role set from the organisation's groups"
    SSO_PROVIDER_CREATED = "organisation.sso_provider_created", "Single sign-on set up"
    SSO_PROVIDER_CHANGED = "organisation.sso_provider_changed", "Single sign-on changed"
    SSO_PROVIDER_ENABLED = "organisation.sso_provider_enabled", "Single sign-on switched on"
    SSO_PROVIDER_DISABLED = "organisation.sso_provider_disabled", "Single sign-on switched off"
    # area api: the API for case-management systems (decisions/api/)
    API_TOKEN_CREATED = "api.token_created", "API token created"
    API_TOKEN_REVOKED = "api.token_revoked", "API token revoked"
    API_WEBHOOK_ADDED = "api.webhook_added", "Webhook added"
    API_WEBHOOK_REMOVED = "api.webhook_removed", "Webhook removed"
    API_DECISION_STARTED = "api.decision_started", "Decision started through the API"
    API_RECORDS_LISTED = "api.records_listed", "Records listed through the API"
    API_RECORD_READ = "api.record_read", "Record read through the API"
    API_PDF_DOWNLOADED = "api.pdf_downloaded", "PDF downloaded through the API"
    API_CALL_REFUSED = "api.refused", "API call refused"
    API_LINK_FOLLOWED = "api.link_followed", "Link from a case system followed"
    API_LINK_REFUSED = "api.link_refused", "Link from a case system refused"
    # sec: SSO accounts bound to the provider's (iss, sub)
    SSO_IDENTITY_BOUND = "user.sso_identity_bound", "Account bound to the organisation's account"
    SSO_IDENTITY_REMOVED = "user.sso_identity_removed", "Organisation account binding removed"


def action_label(action: str) -> str:
    """Words for an action; an action this version does not know shows as it was stored."""
    return AuditAction(action).label if action in AuditAction.values else action
