"""The project-wide error type and the one line a failure is reported as."""

from __future__ import annotations

import os
import re

from dlt.common.configuration.exceptions import ConfigFieldMissingException

_SECRET_ENV = re.compile(r"(TOKEN|SECRET|PASSWORD|KEY|CREDENTIALS)", re.I)


class SourceError(RuntimeError):
    """A problem the user can fix (bad token, unknown id, unsupported data). Its message is one line, secret-free."""


def one_line_error(exc: BaseException) -> str:
    """The most useful single line from an exception chain, with any secret from the environment masked."""
    chain, seen = [], set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        chain.append(e)
        stack.extend([getattr(e, "exception", None), e.__cause__, e.__context__])
    message = None
    for e in chain:
        if isinstance(e, SourceError):
            message = str(e)
            break
        if isinstance(e, ConfigFieldMissingException):
            fields = ", ".join(e.fields)
            message = (f"missing configuration {fields} for {e.spec_name}: set it in .dlt/secrets.toml "
                       f"(template: config/secrets.toml.example) or as an environment variable, "
                       f"e.g. SOURCES__<SOURCE>__{e.fields[0].upper()}")
            break
    if message is None:
        root = chain[-1] if chain else exc
        message = f"{type(root).__name__}: {str(root).strip().splitlines()[0] if str(root).strip() else ''}"
    for name, value in os.environ.items():
        if value and len(value) >= 6 and _SECRET_ENV.search(name):
            message = message.replace(value, "***")
    return message.splitlines()[0]
