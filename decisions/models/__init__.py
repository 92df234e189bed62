"""ISG's models: organisations and users, guidance packs, decisions and their records, audit."""

from decisions.models.api import (
    ApiScope,
    ApiToken,
    DecisionLaunch,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from decisions.models.approvals import Approval, ReviewAction
from decisions.models.archive import AuditArchive, LegalHold  # audit archive
from decisions.models.audit import AuditChain, AuditEvent, AuditVerification
from decisions.models.decisions import Decision, DecisionRecord, ReferenceCounter, Status
from decisions.models.exports import Export, ExportKind, ExportStatus
from decisions.models.guidance import GuidancePack
from decisions.models.organisations import Organisation, OrganisationKind, Role, User
from decisions.models.pdfs import RenderedPdf
from decisions.models.reports import ReportContribution, ReportSummary  # reports area
from decisions.models.sso import (
    IdentityProvider,  # single sign-on
    SsoIdentity,  # sec: (issuer, subject) -> account
)

__all__ = [
    "Approval",
    "AuditChain",
    "AuditEvent",
    "AuditVerification",
    "Decision",
    "DecisionRecord",
    "Export",
    "ExportKind",
    "ExportStatus",
    "GuidancePack",
    "IdentityProvider",
    "Organisation",
    "OrganisationKind",
    "ReferenceCounter",
    "RenderedPdf",
    "ReportContribution",  # reports area
    "ReportSummary",  # reports area
    "ReviewAction",
    "Role",
    "Status",
    "User",
    # area api
    "ApiScope",
    "ApiToken",
    "DecisionLaunch",
    "DeliveryStatus",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    # audit archive
    "AuditArchive",
    "LegalHold",
    # sec
    "SsoIdentity",
]
