"""Notion constants and defaults (each overridable under [sources.notion] in .dlt/config.toml)."""

API_BASE_URL = "https://api.notion.com/v1"
# data sources (one database, several sources) need this version or later
NOTION_VERSION = "2025-09-03"
# Notion rounds last_edited_time to the minute: re-read this much below the cursor
LAG_SECONDS = 120
EPOCH = "1970-01-01T00:00:00.000Z"
FREQUENCIES = ("daily", "weekly", "monthly")
# how often the id-only listing of every data source looks for trashed pages: "every_run", "off", or N
# (every N-th run); it costs about one request per 100 pages
RECONCILE = "every_run"
# the listing asks for this one property (`filter_properties`); the title property's id is always "title"
ID_ONLY_PROPERTY = "title"
