"""HubSpot CRM -> raw.hubspot__* (`python -m pipelines.hubspot`)."""

from pipelines.hubspot.source import hubspot_source

__all__ = ["hubspot_source"]
