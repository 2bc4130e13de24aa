"""`python -m pipelines.fitbit_export`: the entry point kept where the Makefile and workflows call it.
The import lives in pipelines/fitbit/export/."""

if __name__ == "__main__":
    from pipelines.fitbit.export import main

    raise SystemExit(main())
