"""Local fakes of external services for tests (loopback only, no network)."""
