"""Blueprints: the staff pages, the reports API, Twilio webhooks and the calendar file."""
