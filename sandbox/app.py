"""Builds the sandbox FastAPI app: every API replica on one server, plus admin endpoints for tests and demos."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Body, FastAPI, HTTPException

from sandbox.fitbit_api import FitbitAuth
from sandbox.fitbit_api import build_router as fitbit_router
from sandbox.fitbit_data import FitbitHealth, generate_health
from sandbox.hubspot_api import build_router as hubspot_router
from sandbox.hubspot_data import generate_portal
from sandbox.hubspot_store import HubSpotStore, object_type
from sandbox.life import LifeConfig, SyntheticLife
from sandbox.notion_api import build_router as notion_router
from sandbox.notion_data import generate_workspace
from sandbox.notion_store import NotionStore
from sandbox.traffic import Traffic

SYNTHETIC_NOTICE = "All data served here is synthetic: a generated person, not a real account."


@dataclass
class SandboxConfig:
    """What the sandbox serves and how strict it is. Tokens are sandbox-only placeholders."""

    life: LifeConfig = field(default_factory=LifeConfig)
    notion_token: str = "sandbox-notion-token"
    notion_result_cap: int = 10_000
    hubspot_token: str = "sandbox-hubspot-token"
    hubspot_search_cap: int = 10_000
    hubspot_max_query_length: int = 2000
    hubspot_rate_limit: int | None = None  # requests per 10 s window (HubSpot Free: 100)
    fitbit_client_id: str = "SANDBOXID"
    fitbit_client_secret: str = "sandbox-fitbit-client-secret"
    fitbit_rate_limit: int = 150  # requests per hour per user, like Fitbit
    fitbit_heart_rate_interval: int = 4  # mean seconds between heart-rate samples (~7.5 M a year)
    now: datetime | None = None


@dataclass
class Sandbox:
    """In-process handle on the replicas' state (tests mutate it directly; HTTP admin does the same)."""

    config: SandboxConfig
    life: SyntheticLife
    traffic: Traffic
    notion: NotionStore
    hubspot: HubSpotStore | None = None
    fitbit: FitbitHealth | None = None
    fitbit_auth: FitbitAuth | None = None


def build_sandbox(config: SandboxConfig | None = None) -> Sandbox:
    config = config or SandboxConfig()
    life = SyntheticLife(config.life)
    sandbox = Sandbox(
        config=config,
        life=life,
        traffic=Traffic(),
        notion=NotionStore(generate_workspace(life, now=config.now), result_cap=config.notion_result_cap),
        hubspot=HubSpotStore(generate_portal(life, now=config.now), search_cap=config.hubspot_search_cap,
                             max_query_length=config.hubspot_max_query_length),
    )
    sandbox.fitbit = generate_health(life, heart_rate_interval=config.fitbit_heart_rate_interval)
    sandbox.fitbit_auth = FitbitAuth(config.fitbit_client_id, config.fitbit_client_secret,
                                     rate_limit=config.fitbit_rate_limit)
    # the pair a user gets from the first authorisation (scripts would store it in the token store)
    sandbox.fitbit_auth.issue_refresh_token()
    if config.hubspot_rate_limit:
        sandbox.traffic.set_rate_limit("hubspot", config.hubspot_rate_limit, window_seconds=10.0)
    return sandbox


def create_app(sandbox: Sandbox) -> FastAPI:
    app = FastAPI(title="personal-data sandbox", description=SYNTHETIC_NOTICE)
    app.state.sandbox = sandbox
    app.include_router(notion_router(sandbox.notion, sandbox.traffic, sandbox.config.notion_token), prefix="/notion")
    app.include_router(hubspot_router(sandbox.hubspot, sandbox.traffic, sandbox.config.hubspot_token), prefix="/hubspot")
    app.include_router(fitbit_router(sandbox.fitbit, sandbox.fitbit_auth, sandbox.traffic), prefix="/fitbit")

    @app.get("/_sandbox/health")
    def health():
        return {"ok": True, "notice": SYNTHETIC_NOTICE}

    @app.get("/_sandbox/config")
    def sandbox_config():
        """What a pipeline needs to point at this sandbox (ids and placeholder tokens)."""
        return {"notice": SYNTHETIC_NOTICE, "life": {"seed": sandbox.config.life.seed,
                "start": sandbox.config.life.start.isoformat(), "days": sandbox.config.life.days},
                "notion": {"databases": sandbox.notion.ws.database_ids, "token": sandbox.config.notion_token},
                "hubspot": {"token": sandbox.config.hubspot_token}}

    @app.get("/_sandbox/requests")
    def requests_made():
        return dict(sandbox.traffic.counts)

    @app.post("/_sandbox/requests/reset")
    def reset_requests():
        sandbox.traffic.reset()
        return {"ok": True}

    @app.post("/_sandbox/faults/{api}")
    def inject(api: str, statuses: list[int] = Body(..., embed=True)):
        sandbox.traffic.inject(api, statuses)
        return {"ok": True}

    @app.post("/_sandbox/rate_limit/{api}")
    def rate_limit(api: str, max_requests: int | None = Body(None, embed=True), window_seconds: float = Body(1.0, embed=True)):
        sandbox.traffic.set_rate_limit(api, max_requests, window_seconds)
        return {"ok": True}

    @app.post("/_sandbox/fitbit/expire_tokens")
    def fitbit_expire_tokens(after_requests: int = Body(0, embed=True),
                             access_token_seconds: int | None = Body(None, embed=True)):
        """Expire every Fitbit access token issued so far after N more API requests (401 expired_token mid-run)."""
        if access_token_seconds is not None:
            sandbox.fitbit_auth.access_token_seconds = access_token_seconds
        sandbox.fitbit_auth.expire_access_tokens(after_requests)
        return {"ok": True}

    @app.post("/_sandbox/notion/pages/{page_id}")
    def edit_page(page_id: str, changes: dict = Body(..., embed=True)):
        if page_id not in sandbox.notion.ws.pages:
            raise HTTPException(404, "no such page")
        return sandbox.notion.render_page(sandbox.notion.edit_page(page_id, changes))

    @app.post("/_sandbox/notion/pages/{page_id}/trash")
    def trash_page(page_id: str):
        if page_id not in sandbox.notion.ws.pages:
            raise HTTPException(404, "no such page")
        return sandbox.notion.render_page(sandbox.notion.trash_page(page_id))

    @app.post("/_sandbox/notion/data_sources/{data_source_id}/rename")
    def rename(data_source_id: str, old_name: str = Body(..., embed=True), new_name: str = Body(..., embed=True)):
        return {"property_id": sandbox.notion.rename_property(data_source_id, old_name, new_name)}

    def _hubspot_record(type_name: str, record_id: str) -> tuple[str, str]:
        obj_type = object_type(type_name)
        if obj_type is None or record_id not in sandbox.hubspot.portal.objects[obj_type]:
            raise HTTPException(404, "no such record")
        return obj_type, record_id

    @app.post("/_sandbox/hubspot/{type_name}/bulk_stamp")
    def hubspot_bulk_stamp(type_name: str, ids: list[str] = Body(..., embed=True), changes: dict = Body(..., embed=True)):
        obj_type = object_type(type_name)
        if obj_type is None or any(i not in sandbox.hubspot.portal.objects[obj_type] for i in ids):
            raise HTTPException(404, "no such record")
        return {"stamp": sandbox.hubspot.bulk_stamp(obj_type, ids, changes).isoformat()}

    @app.post("/_sandbox/hubspot/{type_name}/{record_id}")
    def hubspot_edit(type_name: str, record_id: str, changes: dict = Body(..., embed=True)):
        obj_type, rid = _hubspot_record(type_name, record_id)
        return sandbox.hubspot.render(sandbox.hubspot.edit(obj_type, rid, changes), list(changes))

    @app.post("/_sandbox/hubspot/{type_name}/{record_id}/archive")
    def hubspot_archive(type_name: str, record_id: str):
        obj_type, rid = _hubspot_record(type_name, record_id)
        return sandbox.hubspot.render(sandbox.hubspot.archive(obj_type, rid))

    return app
