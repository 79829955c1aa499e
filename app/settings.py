"""The settings the services and the scheduler read, as one frozen value.

Built once from the Flask config (`Settings.from_config`) by the factory, and by the
scheduler for its job context; services take it instead of the whole config mapping, so
what a use case depends on is named and typed. The names in `app.config.DEFAULTS` (and
the NUDGE_* environment variables) stay the contract; this is a typed view of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Settings:
    """Defaults are what a service assumed when a setting was absent."""

    # ENV: None lets the demo load (a bare service call names no environment)
    env: str | None = None
    # SMS_FROM_NUMBER: the number residents text; None lets the outbox row say so
    sms_from_number: str | None = None
    # PUBLIC_BASE_URL: where links in texts point ("" when unset)
    public_base_url: str = ""
    sms_cost_per_segment_gbp: float = 0.04
    retention_days: int = 90
    ready_heartbeat_max_age_seconds: float = 60.0
    dispatch_batch: int = 50
    dispatch_max_attempts: int = 5
    notify_poll_received_texts: bool = False
    # SNOMED concept ids for coded exports, as set (checked where they are used)
    snomed_invitation_code: str = ""
    snomed_declined_code: str = ""
    snomed_did_not_attend_code: str = ""
    # OUTCOME_WINDOW_DAYS: an outcome links to the attended check it follows within it
    outcome_window_days: int = 90
    # TRANSLATIONS_DEMO_APPROVED: drafts sent as if approved, labelled "demo approval"
    translations_demo_approved: bool = False
    # GP Connect: Nudge's identity on the Spine, mutual TLS, timeouts
    gpconnect_consumer_asid: str = ""
    gpconnect_consumer_ods: str = ""
    gpconnect_consumer_name: str = "Nudge"
    gpconnect_device_id: str = "nudge"
    gpconnect_device_model: str = "Nudge"
    gpconnect_device_version: str = "0.1.0"
    gpconnect_client_cert: str = ""
    gpconnect_client_key: str = ""
    gpconnect_ca_bundle: str = ""
    gpconnect_timeout_seconds: float = 10.0
    gpconnect_sync_days: int = 28

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Read the named settings from a Flask config (or any mapping of them)."""
        from_number = config.get("SMS_FROM_NUMBER")
        return cls(
            env=config.get("ENV"),
            sms_from_number=None if from_number is None else str(from_number),
            public_base_url=str(config.get("PUBLIC_BASE_URL") or ""),
            sms_cost_per_segment_gbp=float(config.get("SMS_COST_PER_SEGMENT_GBP", 0.04)),
            retention_days=int(config.get("RETENTION_DAYS", 90)),
            ready_heartbeat_max_age_seconds=float(
                config.get("READY_HEARTBEAT_MAX_AGE_SECONDS", 60)
            ),
            dispatch_batch=int(config.get("DISPATCH_BATCH", 50)),
            dispatch_max_attempts=int(config.get("DISPATCH_MAX_ATTEMPTS", 5)),
            notify_poll_received_texts=bool(config.get("NOTIFY_POLL_RECEIVED_TEXTS")),
            snomed_invitation_code=str(config.get("SNOMED_INVITATION_CODE") or "").strip(),
            snomed_declined_code=str(config.get("SNOMED_DECLINED_CODE") or "").strip(),
            snomed_did_not_attend_code=str(config.get("SNOMED_DID_NOT_ATTEND_CODE") or "").strip(),
            outcome_window_days=int(config.get("OUTCOME_WINDOW_DAYS", 90)),
            translations_demo_approved=bool(config.get("TRANSLATIONS_DEMO_APPROVED")),
            **{
                name.lower(): str(config.get(name) or default)
                for name, default in _GPCONNECT_TEXT.items()
            },
            gpconnect_timeout_seconds=float(config.get("GPCONNECT_TIMEOUT_SECONDS", 10.0)),
            gpconnect_sync_days=int(config.get("GPCONNECT_SYNC_DAYS", 28)),
        )


_GPCONNECT_TEXT = {
    "GPCONNECT_CONSUMER_ASID": "",
    "GPCONNECT_CONSUMER_ODS": "",
    "GPCONNECT_CONSUMER_NAME": "Nudge",
    "GPCONNECT_DEVICE_ID": "nudge",
    "GPCONNECT_DEVICE_MODEL": "Nudge",
    "GPCONNECT_DEVICE_VERSION": "0.1.0",
    "GPCONNECT_CLIENT_CERT": "",
    "GPCONNECT_CLIENT_KEY": "",
    "GPCONNECT_CA_BUNDLE": "",
}
