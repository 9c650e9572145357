"""Hub tables, one module per concept. Tables never leave the service layer; routes speak
`contract`."""

from hub.models.answers import (
    CaseloadVisit,
    ExistenceDisclosure,
    Notification,
    ProbeFlag,
    RecentDisclosure,
)
from hub.models.ledger import LedgerCheckpoint, LedgerCosignature, LedgerEntry, LedgerHead
from hub.models.linkage import Link, LinkageRun, OverlapSnapshot, RecordCluster, ReviewAnswer
from hub.models.org import StaffMember
from hub.models.records import (
    Assignment,
    Canary,
    Encoding,
    EncodingCounter,
    EncodingRemoval,
    Milestone,
    SyncCheckIn,
    UploadBatch,
)
from hub.models.registry import Agency, AgencyKey, Program
from hub.models.watch import FirstContact, NotificationPreference, PlanAlertSeen

__all__ = [
    "Agency",
    "AgencyKey",
    "Assignment",
    "Canary",
    "CaseloadVisit",
    "Encoding",
    "EncodingCounter",
    "EncodingRemoval",
    "ExistenceDisclosure",
    "FirstContact",
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerEntry",
    "LedgerHead",
    "Link",
    "LinkageRun",
    "Milestone",
    "Notification",
    "NotificationPreference",
    "OverlapSnapshot",
    "PlanAlertSeen",
    "ProbeFlag",
    "Program",
    "RecentDisclosure",
    "RecordCluster",
    "ReviewAnswer",
    "StaffMember",
    "SyncCheckIn",
    "UploadBatch",
]
