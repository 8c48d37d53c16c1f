"""The approval queue has no models of its own."""
