"""The database schema: typed SQLAlchemy 2.0 models for every table Nudge keeps.

Invariants that matter for patient safety live here as constraints, so they hold on
both SQLite and PostgreSQL whatever the Python code does:
- one open offer per mobile number (partial unique index);
- a slot is held by at most one offer (a single `held_by_offer_id` column) and booked at
  most once (partial unique index on live bookings);
- an outbound message is queued once per purpose (unique `dedupe_key`) and an inbound
  message or provider receipt is stored once (unique provider SID).

One module per owner: `people` (practices, patients, numbers), `diary` (slots, offers,
bookings), `outcomes` (what attended checks found), `campaigns`, `messages` (texts,
receipts, conversations) and `staff` (accounts, audit, heartbeats); every model is
importable from here.
"""

from app.data.base import Base
from app.data.models.campaigns import Campaign, CampaignMember, CampaignPractice, CampaignSnapshot
from app.data.models.diary import Booking, Offer, OfferSlot, Slot
from app.data.models.messages import Conversation, Message, StatusEvent, conversation_key
from app.data.models.outcomes import CheckOutcome
from app.data.models.people import ImportBatch, Patient, PhoneNumber, Practice
from app.data.models.staff import AuditEvent, SchedulerHeartbeat, User, UserPractice

__all__ = [
    "Base",
    "Practice",
    "ImportBatch",
    "Patient",
    "PhoneNumber",
    "Slot",
    "Offer",
    "OfferSlot",
    "Booking",
    "CheckOutcome",
    "Campaign",
    "CampaignPractice",
    "CampaignMember",
    "CampaignSnapshot",
    "Message",
    "StatusEvent",
    "conversation_key",
    "Conversation",
    "User",
    "UserPractice",
    "AuditEvent",
    "SchedulerHeartbeat",
]
