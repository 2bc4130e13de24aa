"""The one redaction point: no resolved secret value, nor a common escaped form of it, leaves the process.

What is a secret (the registry):
- every value dlt resolves for a secret-hinted field (`dlt.secrets.value`, credentials), whichever provider
  gave it: environment, `.dlt/secrets.toml`, Google Secret Manager (a hook on dlt's resolver trace log);
- every value held by dlt's secret providers (the whole secrets.toml document, Secret Manager fragments);
- environment variables whose names look secret (TOKEN, SECRET, PASSWORD, KEY, CREDENTIALS ...);
- credentials seen on the wire by `pipelines.common.http` (Authorization headers, key-like query parameters);
- anything another module hands to `register_secret()` (e.g. a token store's tokens when read).

What is redacted: each value as is and stripped, its repr/JSON/URL/bytes-escaped forms, its base64, the
base64 of `a:b` pairs (HTTP basic auth) and the long lines of multi-line values (PEM keys). `redact()` applies
them; it is used by the CLI's output streams (`redacted_output`), the one-line error, the ledger row, a log
record factory (every logger: dlt, requests, urllib3, ours) and `sanitise_files` (dlt's trace pickle and any
text file left in the pipelines folder).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import logging
import os
import pickle
import re
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
MIN_SECRET_CHARS = 6  # shorter values ("EU", "true", ports) would mask half of every message
MIN_LINE_CHARS = 16  # lines of multi-line secrets (PEM bodies) redacted on their own
MAX_PAIR_VALUES = 40  # basic-auth pairs are n^2: beyond this many secrets they are skipped
SWEEP_MAX_BYTES = 5_000_000

_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|PWD|KEY|CREDENTIAL|AUTH|PRIVATE|DSN|SIGNATURE)", re.I)
# names that match the pattern above but hold locations or switches, not secrets
_NOT_SECRET_NAME = re.compile(r"(_PATH|_DIR|_FILE|_URL|_URI|_STORE|_ENABLED|_ENABLE|PROJECT_ID|_EMAIL)$", re.I)
_SECRET_PARAM = re.compile(r"(token|secret|password|passwd|key|signature|auth|code)", re.I)


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.values: dict[str, str | None] = {}  # secret value -> where it came from (config key or env name)
        self.forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._bytes_pattern: re.Pattern[bytes] | None = None
        self._stale: set[type] = set()  # pattern kinds (str, bytes) compiled before the last forms were added
        self._env_seen: frozenset[tuple[str, str]] = frozenset()

    def add(self, value: str, name: str | None, override: bool = False) -> bool:
        if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_CHARS:
            return False
        with self.lock:
            if value in self.values:
                if name and (override or not self.values[value]):
                    self.values[value] = name
                return False
            self.values[value] = name
            new = _forms(value) - self.forms
            if len(self.values) <= MAX_PAIR_VALUES:
                stripped = value.strip()
                for other in list(self.values):
                    other = other.strip()
                    for a, b in ((stripped, other), (other, stripped)):
                        if a != b:
                            new |= _b64_forms(f"{a}:{b}")
            if new:
                self.forms |= new
                self._stale = {str, bytes}
            return True

    # Compiled when first needed after a change, not on every add: a run registers its secrets (dozens of forms
    # each) one by one, and compiling the alternation each time cost seconds per run once a process held many.
    @property
    def pattern(self) -> re.Pattern[str] | None:
        with self.lock:
            if str in self._stale:
                self._pattern = re.compile("|".join(re.escape(f) for f in sorted(self.forms, key=len, reverse=True)))
                self._stale.discard(str)
            return self._pattern

    @property
    def bytes_pattern(self) -> re.Pattern[bytes] | None:
        with self.lock:
            if bytes in self._stale:
                encoded = sorted({f.encode("utf-8") for f in self.forms}, key=len, reverse=True)
                self._bytes_pattern = re.compile(b"|".join(re.escape(f) for f in encoded))
                self._stale.discard(bytes)
            return self._bytes_pattern


_registry = _Registry()


def _b64_forms(text: str) -> set[str]:
    raw = text.encode("utf-8")
    return {base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")}


def _forms(value: str) -> set[str]:
    """The value and the ways it gets escaped on its way into a message, a log line, JSON or a URL."""
    out: set[str] = set()
    for v in {value, value.strip(), value.rstrip("\r\n")}:
        if len(v.strip()) < MIN_SECRET_CHARS:
            continue
        out |= {v, repr(v)[1:-1], json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1],
                quote(v, safe=""), quote(v), quote_plus(v), repr(v.encode("utf-8"))[2:-1],
                v.encode("unicode_escape").decode("ascii")}
        out |= _b64_forms(v)
    for line in value.splitlines():
        if len(line.strip()) >= MIN_LINE_CHARS:
            out.add(line.strip())
    return {f for f in out if len(f.strip()) >= MIN_SECRET_CHARS}


def register_secret(value: Any, name: str | None = None, _override: bool = False) -> None:
    """Treat `value` (a string, or every string inside a dict/list, or a credentials URL's password) as secret.

    `name` says where it is configured (a config key like sources.notion.api_token, or an env var), for messages.
    """
    for path, leaf in _leaves(value, name):
        if _registry.add(leaf, path, _override):
            if "://" in leaf and "@" in leaf:  # connection strings: their password on its own, decoded too
                try:
                    password = urlsplit(leaf.strip()).password
                except ValueError:
                    password = None
                if password:
                    _registry.add(password, path)
                    _registry.add(unquote(password), path)
            parsed = _parse_document(leaf)
            if parsed is not None:
                register_secret(parsed, path)


def _leaves(value: Any, name: str | None) -> Iterator[tuple[str | None, str]]:
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, bytes):
        yield name, value.decode("utf-8", "replace")
    elif isinstance(value, dict) or hasattr(value, "items"):
        try:
            items = list(value.items())
        except Exception:  # noqa: BLE001 - a mapping-like object we cannot walk holds nothing we can see
            return
        for key, item in items:
            yield from _leaves(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _leaves(item, name)


def _parse_document(text: str) -> Any:
    """A secret that is itself a JSON document (a service-account key in one env var): its values too."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def secret_name(text: str) -> str | None:
    """The config key or env var of a registered secret that occurs (stripped) in `text`, if any."""
    with _registry.lock:
        found = [(v, n) for v, n in _registry.values.items() if v.strip() and v.strip() in text]
    found.sort(key=lambda item: (item[1] is None, -len(item[0])))
    return found[0][1] if found else None


@functools.lru_cache(maxsize=4096)
def secret_looking_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def scan_environment() -> None:
    """Register env values whose names look secret (cheap: only changed variables are looked at).

    Runs on every redaction, so on every log record: a build's dbt in this process logs thousands. Names are
    judged once each and only the values of secret-looking ones are read."""
    environ = os.environ
    current = frozenset((k, v) for k in list(environ) if secret_looking_name(k) and (v := environ.get(k)) is not None)
    if current == _registry._env_seen:
        return
    for name, value in current - _registry._env_seen:
        if value and not _is_existing_path(value):
            register_secret(value, name)
    _registry._env_seen = current


def _is_existing_path(value: str) -> bool:
    try:
        return len(value) < 4096 and "\n" not in value and os.path.exists(value)
    except (OSError, ValueError):
        return False


def collect_config() -> None:
    """Register every value held by dlt's secret providers (secrets.toml, Secret Manager fragments) and env."""
    scan_environment()
    try:
        from dlt.common.configuration.container import Container
        from dlt.common.configuration.providers import EnvironProvider
        from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

        providers = Container()[PluggableRunContext].providers.providers
    except Exception:  # noqa: BLE001 - no dlt context yet: env and the resolver hook still apply
        return
    for provider in providers:
        if isinstance(provider, EnvironProvider) or not getattr(provider, "supports_secrets", False):
            continue
        doc = getattr(provider, "_config_doc", None)
        if isinstance(doc, dict):
            register_secret(doc)


# --- redaction ------------------------------------------------------------------------------


def redact(text: str) -> str:
    """`text` with every registered secret form replaced by ***."""
    if not isinstance(text, str) or not text:
        return text
    scan_environment()
    pattern = _registry.pattern
    return pattern.sub(MASK, text) if pattern is not None else text


def contains_secret(data: str | bytes) -> bool:
    scan_environment()
    if isinstance(data, bytes):
        pattern = _registry.bytes_pattern
    else:
        pattern = _registry.pattern
    return pattern is not None and pattern.search(data) is not None


def redact_obj(obj: Any) -> Any:
    """Strings inside dicts, lists, tuples and named tuples (dlt's trace objects) redacted; other objects as they are."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return obj._replace(**{f: redact_obj(getattr(obj, f)) for f in obj._fields})
    if isinstance(obj, dict):
        return {redact_obj(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_obj(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(redact_obj(v) for v in obj)
    return obj


# --- where it is applied --------------------------------------------------------------------

_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Hook dlt's config resolver and logging once per process, and register what is known so far."""
    global _installed
    with _install_lock:
        if not _installed:
            _hook_dlt_resolver()
            _hook_logging()
            _installed = True
    collect_config()
    _filter_log_handlers()


def _hook_dlt_resolver() -> None:
    """Every value dlt resolves is logged to its TraceLogContext: secret-hinted ones are registered there."""
    from dlt.common.configuration import is_secret_hint
    from dlt.common.configuration.utils import TraceLogContext

    original = TraceLogContext.log
    if getattr(original, "_registers_secrets", False):
        return

    def log(self, trace):  # noqa: ANN001 - dlt's ResolvedValueTrace
        if trace.value is not None:
            try:
                secret = is_secret_hint(trace.hint) or secret_looking_name(trace.key) and isinstance(trace.value, str)
            except Exception:  # noqa: BLE001 - an unusual hint: treat a value under a secret-looking key as secret
                secret = secret_looking_name(trace.key)
            if secret and not (isinstance(trace.value, str) and _NOT_SECRET_NAME.search(trace.key.upper())):
                # dlt's key names win over env var names in messages ("sources.notion.api_token has ...")
                register_secret(trace.value, ".".join([*trace.sections, trace.key]), _override=True)
                _provider_of[".".join([*trace.sections, trace.key])] = trace.provider_name
        return original(self, trace)

    log._registers_secrets = True  # type: ignore[attr-defined]
    TraceLogContext.log = log  # type: ignore[method-assign]


_provider_of: dict[str, str] = {}


def provider_of(name: str) -> str | None:
    """Which dlt provider ('Environment Variables', 'secrets.toml', 'Google Secrets') gave a registered secret."""
    return _provider_of.get(name)


class RedactingFilter(logging.Filter):
    """Redacts a record's message, arguments and exception text (also installed as the record factory)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_FILTER = RedactingFilter()


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record: leave it to logging's own error handling
        return
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._redacted = True  # type: ignore[attr-defined]


def _hook_logging() -> None:
    """A record factory redacts every record of every logger (filters on the root logger would not see records
    that propagate from child loggers, and dlt's own logger does not propagate)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_redacting", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    factory._redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    logging.getLogger().addFilter(_FILTER)


def _filter_log_handlers() -> None:
    """The filter on every handler of the root and dlt loggers too (records made before the factory existed)."""
    for logger in (logging.getLogger(), logging.getLogger("dlt")):
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)


class RedactingStream(io.TextIOBase):
    """A text stream that redacts whole lines before passing them on (a secret split over two writes is caught)."""

    def __init__(self, inner):
        self._inner = inner
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                head, _, self._pending = self._pending.rpartition("\n")
                self._inner.write(redact(head + "\n"))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._inner.write(redact(self._pending))
                self._pending = ""
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self):  # noqa: D401 - mirrors the wrapped stream
        return getattr(self._inner, "encoding", "utf-8")

    def writable(self) -> bool:
        return True


@contextmanager
def redacted_output() -> Iterator[None]:
    """sys.stdout and sys.stderr redacted for the block (the CLI's whole run)."""
    install()
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001,S110 - a closed stream at exit has nothing left to say
                pass
        sys.stdout, sys.stderr = out, err


def sanitise_files(folders: Iterable[Path]) -> list[Path]:
    """Remove secrets from files dlt left in its pipelines folders; returns the files changed.

    dlt pickles its run trace (`trace.pickle`: step exceptions, exception attributes) after every step: it is
    unpickled, redacted and written back, or deleted when something in it cannot be redacted. Text files holding
    a secret are rewritten redacted. Binary job files are left alone (they are deleted after a successful load).
    """
    changed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            try:
                if not path.is_file() or path.stat().st_size > SWEEP_MAX_BYTES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if not contains_secret(data):
                continue
            if path.name == "trace.pickle":
                _sanitise_pickle(path)
                changed.append(path)
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            _write_atomic(path, redact(text).encode("utf-8"))
            changed.append(path)
    return changed


def _sanitise_pickle(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f)  # noqa: S301 - dlt's own trace file, written by this process's pipeline
        data = pickle.dumps(redact_obj(obj))
    except Exception:  # noqa: BLE001 - an unreadable trace is deleted rather than left with a secret in it
        data = None
    if data is None or contains_secret(data):
        path.unlink(missing_ok=True)
    else:
        _write_atomic(path, data)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def whitespace_problem(value: str) -> str | None:
    """'a trailing newline', 'a leading space' ... when a token-like value carries whitespace, else None."""
    if not value:
        return None
    if value.endswith("\n") or value.endswith("\r"):
        return "a trailing newline"
    if value[-1].isspace():
        return "trailing whitespace"
    if value[0] in "\r\n":
        return "a leading newline"
    if value[0].isspace():
        return "leading whitespace"
    if any(c in value for c in "\r\n\t\x00"):
        return "a line break or control character inside it"
    return None


def escaped_forms(value: str) -> list[str]:
    """The forms `value` is redacted in (tests grep every output for each of them)."""
    return sorted(_forms(value))
