"""All ORM models, imported here so Alembic and the tenancy walker see every table."""

from reos.models.audit import AuditEntry
from reos.models.crm import Deal, DealEvent, DealNote, DealStage, DealTag, DealTask, Offer
from reos.models.dealflow import DealScore, ListMembership, PropertyList, SavedSearch, ScoreModel
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
from reos.models.pipeline import PipelineChunk, PipelineItem, PipelineRun, PipelineSettings
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
    "DealScore",
    "DealStage",
    "DealTag",
    "DealTask",
    "FieldChange",
    "ImportRun",
    "Job",
    "ListMembership",
    "LoginThrottle",
    "Offer",
    "Membership",
    "Organization",
    "OwnerEntity",
    "OwnerOverride",
    "OwnerRecord",
    "PipelineChunk",
    "PipelineItem",
    "PipelineRun",
    "PipelineSettings",
    "Property",
    "PropertyList",
    "QuarantinedRow",
    "RefreshToken",
    "RentListing",
    "ResolutionRun",
    "Sale",
    "SavedSearch",
    "ScheduleRun",
    "ScoreModel",
    "Underwriting",
    "UnderwritingDefaults",
    "UnderwritingRun",
    "User",
    "Valuation",
    "ValuationRun",
]
