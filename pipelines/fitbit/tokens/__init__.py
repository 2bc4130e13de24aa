"""Token stores for the Fitbit pipeline's Google OAuth tokens; `open_token_store()` picks one from configuration."""

from __future__ import annotations

from pathlib import Path

from pipelines.fitbit.tokens.base import TokenSet, TokenStore, TokenStoreBusy, fresh_tokens
from pipelines.fitbit.tokens.local_file import LocalFileTokenStore

__all__ = ["GSM_SCHEME", "LocalFileTokenStore", "TokenSet", "TokenStore", "TokenStoreBusy", "fresh_tokens",
           "open_token_store"]

GSM_SCHEME = "gsm://"


def open_token_store(location: str | None, default_path: str | Path) -> TokenStore:
    """The store a setting names: empty -> the local file `default_path`; `gsm://projects/<p>/secrets/<s>`
    -> that Google Secret Manager secret; `file://<path>` or a bare path -> that local file."""
    location = (location or "").strip()
    if not location:
        return LocalFileTokenStore(default_path)
    if location.startswith(GSM_SCHEME):
        from pipelines.fitbit.tokens.secret_manager import SecretManagerTokenStore

        return SecretManagerTokenStore(location.removeprefix(GSM_SCHEME))
    return LocalFileTokenStore(location.removeprefix("file://"))
