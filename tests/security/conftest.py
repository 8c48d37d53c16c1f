import pytest


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Import progress lives in the cache: keep it from other test processes sharing the file cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
