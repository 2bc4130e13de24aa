from pipelines.common import cli
from pipelines.hubspot.source import hubspot_source

raise SystemExit(cli.main("hubspot", hubspot_source))
