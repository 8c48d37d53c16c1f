"""Decisions are taken by outreach.services (message_approve, message_reject): the queue only reads."""
