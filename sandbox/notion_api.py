"""FastAPI router replicating the Notion API (Notion-Version 2025-09-03 data-source flow)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.notion_store import NotionStore, QueryError
from sandbox.traffic import Traffic

SUPPORTED_VERSIONS = {"2025-09-03", "2026-03-11"}
MAX_PAGE_SIZE = 100


def notion_error(status: int, code: str, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    body = {"object": "error", "status": status, "code": code, "message": message,
            "request_id": str(uuid.uuid4()), **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def build_router(store: NotionStore, traffic: Traffic, token: str) -> APIRouter:
    router = APIRouter(prefix="/v1")

    def guard(request: Request, endpoint: str) -> JSONResponse | None:
        traffic.record("notion", endpoint)
        refused = traffic.check("notion")
        if refused:
            status, wait = refused
            if status == 429:
                return notion_error(429, "rate_limited", "You have been rate limited. Please try again in a few minutes.",
                                    headers={"Retry-After": str(wait)},
                                    additional_data={"rate_limit_reason": "public_api_request_rate_limit"})
            return notion_error(status, "internal_server_error" if status == 500 else "service_unavailable",
                                "Unexpected error occurred.")
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {token}":
            return notion_error(401, "unauthorized", "API token is invalid.")
        version = request.headers.get("notion-version")
        if not version:
            return notion_error(400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined.")
        if version not in SUPPORTED_VERSIONS:
            return notion_error(400, "validation_error", f"Notion-Version {version} is not supported by the sandbox (use 2025-09-03).")
        return None

    def not_found(kind: str, object_id: str) -> JSONResponse:
        return notion_error(404, "object_not_found",
                            f"Could not find {kind} with ID: {object_id}. Make sure the relevant pages and databases "
                            "are shared with your integration.")

    @router.get("/databases/{database_id}")
    def get_database(database_id: str, request: Request):
        if (err := guard(request, "GET /v1/databases")) is not None:
            return err
        db = store.database(database_id)
        return db if db is not None else not_found("database", database_id)

    @router.get("/data_sources/{data_source_id}")
    def get_data_source(data_source_id: str, request: Request):
        if (err := guard(request, "GET /v1/data_sources")) is not None:
            return err
        ds = store.data_source(data_source_id)
        return ds if ds is not None else not_found("data_source", data_source_id)

    @router.post("/data_sources/{data_source_id}/query")
    async def query(data_source_id: str, request: Request):
        # `filter_properties` (repeatable query parameter): only those properties come back in each page
        only = request.query_params.getlist("filter_properties") or None
        endpoint = "POST /v1/data_sources/query" + ("?filter_properties" if only else "")
        if (err := guard(request, endpoint)) is not None:
            return err
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            return notion_error(400, "invalid_json", "Error parsing JSON body.")
        page_size = body.get("page_size", MAX_PAGE_SIZE)
        if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            return notion_error(400, "validation_error", "body.page_size should be a number between 1 and 100.")
        try:
            pages = store.query(data_source_id, body)
        except QueryError as e:
            return notion_error(400, "validation_error", str(e))
        if pages is None:
            return not_found("data_source", data_source_id)
        incomplete = len(pages) > store.result_cap
        pages = pages[: store.result_cap]
        start = 0
        if body.get("start_cursor"):
            ids = [p.id for p in pages]
            if body["start_cursor"] not in ids:
                return notion_error(400, "validation_error", "body.start_cursor should be a valid cursor.")
            start = ids.index(body["start_cursor"])
        chunk = pages[start : start + page_size]
        has_more = start + page_size < len(pages)
        out = {"object": "list", "results": [store.render_page(p, only) for p in chunk],
               "next_cursor": pages[start + page_size].id if has_more else None, "has_more": has_more,
               "type": "page_or_data_source", "page_or_data_source": {}, "request_id": str(uuid.uuid4())}
        if incomplete:
            out["request_status"] = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}
        return out

    return router
