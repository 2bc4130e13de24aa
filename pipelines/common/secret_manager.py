"""Google Secret Manager access shared by the token store and scripts/push_secrets.py: one client, bounded calls.

The client library is imported on first use only, so local runs never load it. Tests inject a fake
with the same methods (tests/fixtures/secret_manager.py) or replace `make_client`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEFAULT_TIMEOUT_SECONDS = 30.0


def make_client() -> Any:
    """The real SecretManagerServiceClient with Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS)."""
    from google.cloud import secretmanager

    return secretmanager.SecretManagerServiceClient()


def call(method: Callable, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, **kwargs: Any) -> Any:
    """One API call that cannot hang: a per-attempt timeout and a retry of transient errors within the same budget."""
    from google.api_core import retry as gretry

    retry = gretry.Retry(initial=0.5, maximum=5.0, multiplier=2.0, timeout=timeout_seconds,
                         predicate=gretry.if_transient_error)
    return method(**kwargs, retry=retry, timeout=timeout_seconds)
