"""HubSpot constants and defaults (the tunables are overridable under [sources.hubspot] in .dlt/config.toml)."""

API_BASE_URL = "https://api.hubapi.com"
# HubSpot's search index lags writes by a few seconds: re-read this much below the cursor
LAG_SECONDS = 300
# search `limit` at most 200 (api reference 2.2); every page is a query of its own (client.KeysetSearchPaginator)
SEARCH_PAGE_SIZE = 200
MAX_SEARCH_LIMIT = 200
# HubSpot's CRM search allows about 4 requests a second per account (api reference 2.4): paced on our side
SEARCH_REQUESTS_PER_SECOND = 4.0
EPOCH = "1970-01-01T00:00:00.000Z"

ENGAGEMENT_TYPES = ("calls", "emails", "meetings", "notes", "tasks")
_ENGAGEMENT_COMMON = ["hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "hubspot_owner_id", "hs_object_id"]
# api reference 2.1: what the marts need from each object; override per type with sources.hubspot.properties
DEFAULT_PROPERTIES: dict[str, list[str]] = {
    "contacts": ["firstname", "lastname", "email", "phone", "company", "associatedcompanyid", "jobtitle",
                 "lifecyclestage", "hs_email_optout", "createdate", "lastmodifieddate", "hs_object_id"],
    "companies": ["name", "domain", "industry", "city", "country", "numberofemployees", "createdate",
                  "hs_lastmodifieddate", "hs_object_id"],
    "calls": [*_ENGAGEMENT_COMMON, "hs_call_title", "hs_call_body", "hs_call_direction", "hs_call_duration",
              "hs_call_status"],
    "emails": [*_ENGAGEMENT_COMMON, "hs_email_subject", "hs_email_text", "hs_email_direction", "hs_email_status"],
    "meetings": [*_ENGAGEMENT_COMMON, "hs_meeting_title", "hs_meeting_body", "hs_meeting_start_time",
                 "hs_meeting_end_time", "hs_meeting_outcome"],
    "notes": [*_ENGAGEMENT_COMMON, "hs_note_body"],
    "tasks": [*_ENGAGEMENT_COMMON, "hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority",
              "hs_task_type"],
}
DATE_PROPERTIES = {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_createdate", "hs_timestamp",
                   "hs_meeting_start_time", "hs_meeting_end_time"}
MAX_BATCH_INPUTS = 1000
# the sandbox (like HubSpot) answers 414 on long query strings; a comma costs 3 characters once encoded
MAX_PROPERTIES_QUERY_CHARS = 1500

# raw table (resource) -> the CRM object types it holds; every resource is generated from this one definition
OBJECT_TABLES: dict[str, tuple[str, ...]] = {
    "contacts": ("contacts",),
    "companies": ("companies",),
    "engagements": ENGAGEMENT_TYPES,
}
