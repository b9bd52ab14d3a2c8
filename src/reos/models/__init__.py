"""All ORM models, imported here so Alembic and the tenancy walker see every table."""

from reos.models.audit import AuditEntry
from reos.models.crm import Deal, DealEvent, DealNote, DealStage, DealTag, DealTask, Offer
from reos.models.imports import ImportRun, QuarantinedRow
from reos.models.jobs import Job, ScheduleRun
from reos.models.org import (
    ApiKey,
    LoginThrottle,
    Membership,
    Organization,
    RefreshToken,
    User,
)
from reos.models.owner import OwnerEntity, OwnerOverride, OwnerRecord, ResolutionRun
from reos.models.property import FieldChange, Property, Sale
from reos.models.underwriting import (
    RentListing,
    Underwriting,
    UnderwritingDefaults,
    UnderwritingRun,
)
from reos.models.valuation import AvmModelVersion, Valuation, ValuationRun

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AvmModelVersion",
    "Deal",
    "DealEvent",
    "DealNote",
    "DealStage",
    "DealTag",
    "DealTask",
    "FieldChange",
    "ImportRun",
    "Job",
    "LoginThrottle",
    "Offer",
    "Membership",
    "Organization",
    "OwnerEntity",
    "OwnerOverride",
    "OwnerRecord",
    "Property",
    "QuarantinedRow",
    "RefreshToken",
    "RentListing",
    "ResolutionRun",
    "Sale",
    "ScheduleRun",
    "Underwriting",
    "UnderwritingDefaults",
    "UnderwritingRun",
    "User",
    "Valuation",
    "ValuationRun",
]
