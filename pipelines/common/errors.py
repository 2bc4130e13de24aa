"""The project-wide error type and the one line a failure is reported as."""

from __future__ import annotations

import re

from dlt.common.configuration.exceptions import ConfigFieldMissingException

from pipelines.common import redaction

_DUCKDB_LOCK = re.compile(r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in (?P<exe>\S+) '
                          r"\(PID (?P<pid>\d+)\)")


class SourceError(RuntimeError):
    """A problem the user can fix (bad token, unknown id, unsupported data). Its message is one line, secret-free."""


def exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (dlt's `.exception`), its causes and contexts, outermost first."""
    chain, seen = [], set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        chain.append(e)
        stack.extend([getattr(e, "exception", None), e.__cause__, e.__context__])
    return chain


def one_line_error(exc: BaseException) -> str:
    """The most useful single line from an exception chain, with every known secret redacted.

    A SourceError's own message wins. What pipelines.common.http knows about a failed request is added when that
    message does not say it already: an HTTP error's status, reason and endpoint; the endpoint and cause of a
    connection that could not be made, an answer that did not come in time or a malformed body. A DuckDB lock
    says which process holds the warehouse.
    """
    from pipelines.common import http  # http.py imports this module

    chain = exception_chain(exc)
    message = None
    failed = next((e.response for e in chain if isinstance(getattr(getattr(e, "response", None), "status_code", None),
                                                           int) and e.response.status_code >= 400), None)
    http_line = http.http_error_line(failed) if failed is not None else None
    explained = (http.ApiUnreachable, http.ApiTimeout, http.MalformedResponse)
    for e in chain:
        if isinstance(e, SourceError):
            message = str(e).strip()
            inner = next((i for i in chain if isinstance(i, explained) and i is not e), None)
            if inner is not None and not _names(message, getattr(inner, "request", None) or inner.response):
                message = f"{message} [{str(inner).strip()}]"
            elif failed is not None and not (str(failed.status_code) in message
                                             and _reason(http_line).lower() in message.lower()
                                             and _names(message, failed)):
                message = f"{message} [{http_line}]"
            break
        if isinstance(e, ConfigFieldMissingException):
            fields = ", ".join(e.fields)
            message = (f"missing configuration {fields} for {e.spec_name}: set it in .dlt/secrets.toml "
                       f"(template: config/secrets.toml.example) or as an environment variable, "
                       f"e.g. SOURCES__<SOURCE>__{e.fields[0].upper()}")
            break
    if message is None:
        lock = next((m for m in (_DUCKDB_LOCK.search(str(e)) for e in chain) if m), None)
        if lock:
            message = (f"the warehouse {lock['path']} is locked by another process (PID {lock['pid']}, "
                       f"{lock['exe'].rsplit('/', 1)[-1]}: dbt, the dashboard or another pipeline run?); "
                       f"run again when it has finished")
        elif http_line:
            message = http_line
        else:
            root = chain[-1] if chain else exc
            text = str(root).strip()
            message = f"{type(root).__name__}: {text}" if text else type(root).__name__
    # redact before cutting to one line: a secret with a newline in it must be matched whole
    lines = redaction.redact(message).strip().splitlines()
    return redaction.redact(lines[0]) if lines else ""


def _names(message: str, request_or_response) -> bool:
    """Whether `message` already names the endpoint of this request (or response)."""
    from pipelines.common.http import endpoint_tail

    if request_or_response is None:
        return True
    request = getattr(request_or_response, "request", request_or_response)
    tail = endpoint_tail(request, getattr(request_or_response, "url", None))
    return not tail or tail in message


def warehouse_locked(exc: BaseException) -> bool:
    """True when DuckDB refused the warehouse file because another process holds its lock."""
    return any("could not set lock on file" in str(e).lower() for e in exception_chain(exc))


def _reason(http_line: str) -> str:
    """'Service Unavailable' from 'HTTP 503 Service Unavailable from GET host/path'."""
    return http_line.split(" ", 2)[2].split(" from ")[0]
