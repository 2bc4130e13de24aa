from pipelines.common import cli
from pipelines.notion.source import notion_source

raise SystemExit(cli.main("notion", notion_source))
