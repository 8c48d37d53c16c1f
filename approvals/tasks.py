"""The approval queue runs no background work."""
