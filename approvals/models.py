"""The approval queue works on outreach.OutreachMessage; decisions are Activity rows."""
