from pipelines.common import cli
from pipelines.fitbit.source import fitbit_source

raise SystemExit(cli.main("fitbit", fitbit_source))
