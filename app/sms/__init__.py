"""SMS: the provider interface and its implementations, and rendering of message_templates/."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.sms.provider import SmsProvider


def provider_from_config(config: Mapping[str, Any]) -> SmsProvider:
    """The provider `SMS_PROVIDER` names: `outbox` (default; sends nothing), `twilio` or
    `notify` (GOV.UK Notify)."""
    name = config.get("SMS_PROVIDER", "outbox")
    if name == "outbox":
        from app.sms.outbox_provider import OutboxProvider

        return OutboxProvider()
    if name == "twilio":
        from app.sms.twilio_provider import STATUS_CALLBACK_PATH, TwilioProvider

        return TwilioProvider(
            account_sid=config["TWILIO_ACCOUNT_SID"],
            auth_token=config["TWILIO_AUTH_TOKEN"],
            messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID", ""),
            from_number=config.get("TWILIO_FROM_NUMBER", "") or config.get("SMS_FROM_NUMBER", ""),
            status_callback_url=config["PUBLIC_BASE_URL"].rstrip("/") + STATUS_CALLBACK_PATH,
            api_base_url=config.get("TWILIO_API_BASE_URL", ""),
            timeout=float(config.get("TWILIO_TIMEOUT_SECONDS", 10.0)),
        )
    if name == "notify":
        from app.sms.notify_provider import NotifyProvider

        return NotifyProvider(
            api_key=config.get("NOTIFY_API_KEY", ""),
            template_id=config.get("NOTIFY_TEMPLATE_ID", ""),
            sms_sender_id=config.get("NOTIFY_SMS_SENDER_ID", ""),
            base_url=config.get("NOTIFY_BASE_URL", ""),
            timeout=float(config.get("NOTIFY_TIMEOUT_SECONDS", 10.0)),
        )
    raise ValueError(f"unknown SMS_PROVIDER {name!r} (outbox, twilio or notify)")
