"""Fitbit (Google Health API v4) constants and defaults, overridable under [sources.fitbit] in .dlt/config.toml."""

from pipelines.common.settings import REPO_ROOT

# the Google Health API (the legacy Fitbit Web API at api.fitbit.com answers 410 Gone since 2026-11-02)
API_BASE_URL = "https://health.googleapis.com/v4"
# Google's OAuth endpoints (an installed-app client's defaults; the sandbox serves both shapes on 127.0.0.1)
AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
TOKEN_URI = "https://oauth2.googleapis.com/token"
# read-only scopes of the data types we load (all "restricted" scopes)
SCOPES = [
    "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly",
    "https://www.googleapis.com/auth/googlehealth.health_metrics_and_measurements.readonly",
    "https://www.googleapis.com/auth/googlehealth.sleep.readonly",
]
# the refresh token (Google does not rotate it) and the cached access token, when sources.fitbit.token_store is unset
DEFAULT_TOKEN_STORE_PATH = str(REPO_ROOT / "data" / "fitbit_tokens.json")
# the first run backfills from here
START_DATE = "2025-01-01"
# days re-read below where each data type's newest point was (late syncs, edits, deletions)
LAG_DAYS = 3
# documented page sizes: default 1,440 and at most 10,000 points; sleep and exercise at most 25
MAX_PAGE_SIZE = 10_000
SESSION_PAGE_SIZE = 25
# the reconciled stream: one point per interval when the phone and the watch both reported it
ALL_SOURCES = "users/me/dataSourceFamilies/all-sources"
# the exact command that (re-)runs the first consent, quoted in error lines
AUTHORIZE_COMMAND = "python -m pipelines.fitbit.authorize"
EXPORT_COMMAND = "python -m pipelines.fitbit_export --path <Takeout zip>"
# what older versions of the Fitbit pipelines wrote; they stay, readable by staging, never dropped by this pipeline
LEGACY_TABLES = ("fitbit__sleep", "fitbit__daily_activity", "fitbit__heart_rate_daily", "fitbit__heart_rate_intraday",
                 "fitbit__weight", "fitbit__export_files")
