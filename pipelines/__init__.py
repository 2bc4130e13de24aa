"""dlt sources, one module per system, each runnable as `python -m pipelines.<source>`."""

import importlib.util as _importlib_util
import sys as _sys

if _importlib_util.find_spec("dlt") is None:  # a Python outside the project's venv: say how to run it instead
    _message = (f"{_sys.executable} cannot import dlt: the project's packages live in .venv (`make install`). "
                f"Run `.venv/bin/python -m pipelines.<source>`, `make <source>` or `pipenv run python -m pipelines.<source>`")
    if _sys.argv and _sys.argv[0] in ("-m", "-c"):
        raise SystemExit(_message)
    raise ModuleNotFoundError(_message, name="dlt")
