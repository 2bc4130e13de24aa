"""Stand-in for dbt's `graph` in sqlfluff: one source table, so models that loop over graph.sources lint their loop body."""

sources = {
    "source.personal_data.notion.notion__habit_pages": {
        "unique_id": "source.personal_data.notion.notion__habit_pages",
        "source_name": "notion",
        "name": "notion__habit_pages",
        "database": "lint",
        "schema": "raw",
        "identifier": "notion__habit_pages",
        "loaded_at_field": "last_edited_time",
        "freshness": {"warn_after": {"count": 3, "period": "day"}, "error_after": {"count": None, "period": None}},
    },
}
nodes: dict = {}
