"""LGPD/GDPR: the consent ledger, data-subject requests, erasure and retention."""

from crm_app.services.compliance.consent import counts_by_purpose, list_consents, may_send, set_consent
from crm_app.services.compliance.holds import list_holds, place_hold, release_hold
from crm_app.services.compliance.report import list_reports
from crm_app.services.compliance.requests import (
    DOWNLOAD_HOURS,
    RequestRow,
    create_download_link,
    create_request,
    get_request,
    list_requests,
    read_download,
)
from crm_app.services.compliance.requests import assign as assign_request
from crm_app.services.compliance.requests import complete as complete_request
from crm_app.services.compliance.retention import create_policy, delete_policy, dry_run, list_policies
from crm_app.services.compliance.score import Score, compliance_score
from crm_app.services.compliance.views import Overview, overview

__all__ = ["DOWNLOAD_HOURS", "Overview", "RequestRow", "Score", "compliance_score", "list_reports",
           "create_policy", "delete_policy", "dry_run", "list_policies",
           "overview", "assign_request", "complete_request", "counts_by_purpose", "create_download_link",
           "create_request", "get_request", "list_consents", "list_holds", "list_requests", "may_send",
           "place_hold", "read_download", "release_hold", "set_consent"]
