"""Exports of the analytics data (CSV and XLSX, one row per conversation cycle, or the chart's days)."""

from crm_app.services.exports.requests import (
    EXPORTERS,
    KEEP_HOURS,
    ExportExpired,
    ExportNotReady,
    ExportRow,
    create_export,
    get_export,
    list_exports,
    open_download,
)

__all__ = ["EXPORTERS", "KEEP_HOURS", "ExportExpired", "ExportNotReady", "ExportRow", "create_export",
           "get_export", "list_exports", "open_download"]
