"""Fitbit constants and defaults (overridable under [sources.fitbit] in .dlt/config.toml)."""

from pipelines.common.settings import REPO_ROOT

API_BASE_URL = "https://api.fitbit.com"
AUTHORIZE_URL = "https://www.fitbit.com/oauth2/authorize"
REDIRECT_URI = "http://localhost:8080/callback"
SCOPES = "activity heartrate sleep weight profile"
# the rotating token pair when sources.fitbit.token_store is unset
DEFAULT_TOKEN_STORE_PATH = str(REPO_ROOT / "data" / "fitbit_tokens.json")
START_DATE = "2025-01-01"
# days re-pulled below where each resource resumes (late syncs, edits)
REPULL_DAYS = 3
HOURLY_BUDGET = 150
