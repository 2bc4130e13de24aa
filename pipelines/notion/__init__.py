"""Notion habit trackers -> raw.notion__* (`python -m pipelines.notion`)."""

from pipelines.notion.source import notion_source

__all__ = ["notion_source"]
