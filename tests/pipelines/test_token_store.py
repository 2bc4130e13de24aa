"""The token stores: atomic writes, a crash right after a refresh loses nothing, concurrent runs refresh once.

The contract tests run against both stores: the local file and Google Secret Manager (over an
in-memory fake with the real client's methods; see tests/fixtures/secret_manager.py).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from google.api_core import exceptions as gexc

from pipelines.common import secret_manager
from pipelines.common.errors import SourceError
from pipelines.fitbit.tokens import (
    LocalFileTokenStore,
    TokenSet,
    TokenStoreBusy,
    fresh_tokens,
    open_token_store,
)
from pipelines.fitbit.tokens.secret_manager import SecretManagerTokenStore
from tests.fixtures.secret_manager import FakeSecretManager


class SingleUseTokenServer:
    """Stands in for Fitbit's /oauth2/token: each refresh token works once, state kept in a directory."""

    def __init__(self, root: Path):
        self.root = root

    def refresh(self, refresh_token: str) -> TokenSet:
        spent = self.root / f"spent-{refresh_token}"
        try:
            spent.touch(exist_ok=False)  # atomic: a second use of the same token fails
        except FileExistsError:
            raise RuntimeError("400 invalid_grant: refresh token already used") from None
        time.sleep(0.3)  # the network round trip, so a concurrent run really overlaps
        n = len(list(self.root.glob("spent-*")))
        return TokenSet(f"access-{n}", f"refresh-{n}", time.time() + 28_800)


def stale(refresh_token: str = "refresh-0") -> TokenSet:
    return TokenSet("access-0", refresh_token, time.time() - 1)


def test_write_is_atomic_private_and_leaves_no_temp_files(tmp_path):
    store = LocalFileTokenStore(tmp_path / "tokens" / "fitbit.json")
    tokens = TokenSet("access-0", "refresh-0", 1_800_000_000.0, "GGNJL9")
    assert store.read() is None
    store.write(tokens)
    assert store.read() == tokens
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["fitbit.json"]
    assert "refresh-0" not in repr(store.read()), "tokens stay out of reprs (logs, tracebacks)"


def test_reuse_of_a_refresh_token_is_impossible(tmp_path):
    server = SingleUseTokenServer(tmp_path)
    server.refresh("refresh-0")
    with pytest.raises(RuntimeError, match="invalid_grant"):
        server.refresh("refresh-0")


def _rotate_then_crash(store_path: str, server_root: str) -> None:
    store = LocalFileTokenStore(store_path)
    fresh_tokens(store, SingleUseTokenServer(Path(server_root)).refresh)
    os._exit(3)  # the run dies right after the refresh, before any load


def test_a_crash_right_after_the_refresh_loses_nothing(tmp_path):
    store = LocalFileTokenStore(tmp_path / "fitbit.json")
    store.write(stale())
    proc = multiprocessing.get_context("spawn").Process(target=_rotate_then_crash,
                                                        args=(str(store.path), str(tmp_path)))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 3
    saved = store.read()
    assert saved.refresh_token == "refresh-1" and saved.is_fresh()
    # and the next run can rotate again with what was saved (the spent token was never needed again)
    store.write(TokenSet(saved.access_token, saved.refresh_token, time.time() - 1))
    assert fresh_tokens(store, SingleUseTokenServer(tmp_path).refresh).refresh_token == "refresh-2"


def _rotate(store_path: str, server_root: str, results) -> None:
    try:
        results.put(fresh_tokens(LocalFileTokenStore(store_path), SingleUseTokenServer(Path(server_root)).refresh,
                                 timeout_seconds=10).access_token)
    except Exception as exc:  # noqa: BLE001 - reported to the parent test
        results.put(f"error: {exc}")


def test_two_concurrent_runs_refresh_once(tmp_path):
    store = LocalFileTokenStore(tmp_path / "fitbit.json")
    store.write(stale())
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_rotate, args=(str(store.path), str(tmp_path), results)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    got = sorted(results.get(timeout=5) for _ in procs)
    assert got == ["access-1", "access-1"], "the second run waited and reused the first run's new token"
    assert len(list(tmp_path.glob("spent-*"))) == 1


def test_a_run_that_cannot_get_the_lock_exits_with_one_clear_line(tmp_path):
    store = LocalFileTokenStore(tmp_path / "fitbit.json")
    store.write(stale())
    with store.locked(1), pytest.raises(TokenStoreBusy, match="another run is refreshing"):
        # flock is per open file description: a second open in this process contends like another run
        fresh_tokens(store, SingleUseTokenServer(tmp_path).refresh, timeout_seconds=0.3)


# --- the same contract for every store: the local file and Secret Manager (over the in-memory fake) ---

SECRET = "projects/personal-data/secrets/fitbit-tokens"


class Crash(BaseException):
    """The process dying right after the refresh was saved (BaseException: no `except Exception` stops it)."""


@pytest.fixture(params=["file", "gsm"])
def make_store(request, tmp_path):
    """A factory of store handles on one shared backend: each handle is what one run would open."""
    if request.param == "file":
        return lambda: LocalFileTokenStore(tmp_path / "store" / "fitbit.json")
    fake = FakeSecretManager()
    fake.add_secret(SECRET)
    factory = lambda: SecretManagerTokenStore(SECRET, fake, poll_seconds=0.02)  # noqa: E731
    factory.fake = fake
    return factory


def test_contract_round_trip_without_tokens_in_reprs(make_store):
    store = make_store()
    assert store.read() is None
    tokens = TokenSet("access-secret-0", "refresh-secret-0", 1_800_000_000.0, "GGNJL9")
    store.write(tokens)
    assert make_store().read() == tokens, "another run's handle sees the write"
    for text in (repr(store), repr(store.read()), str(store.read())):
        assert "secret-0" not in text


def test_contract_a_crash_right_after_the_refresh_loses_nothing(make_store, tmp_path):
    store = make_store()
    store.write(stale())
    original_write = store.write

    def write_then_crash(tokens):
        original_write(tokens)
        raise Crash

    store.write = write_then_crash
    with pytest.raises(Crash):
        fresh_tokens(store, SingleUseTokenServer(tmp_path).refresh)
    saved = make_store().read()
    assert saved.refresh_token == "refresh-1" and saved.is_fresh(), "the rotated pair was durable before the crash"
    # the next run: its lock is free (the crash released it) and the saved refresh token still works
    next_run = make_store()
    next_run.write(TokenSet(saved.access_token, saved.refresh_token, time.time() - 1))
    assert fresh_tokens(next_run, SingleUseTokenServer(tmp_path).refresh, timeout_seconds=1).refresh_token == "refresh-2"


def test_contract_two_concurrent_runs_refresh_once(make_store, tmp_path):
    make_store().write(stale())
    results: list[str] = []

    def run():
        try:
            results.append(fresh_tokens(make_store(), SingleUseTokenServer(tmp_path).refresh,
                                        timeout_seconds=10).access_token)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(f"error: {exc}")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["access-1", "access-1"], "the second run waited and reused the first run's new token"
    assert len(list(tmp_path.glob("spent-*"))) == 1, "the single-use refresh token was spent once"


def test_contract_a_run_that_cannot_get_the_lock_exits_with_one_clear_line(make_store, tmp_path):
    make_store().write(stale())
    with make_store().locked(5), pytest.raises(TokenStoreBusy, match="another run") as busy:
        fresh_tokens(make_store(), SingleUseTokenServer(tmp_path).refresh, timeout_seconds=0.3)
    assert "\n" not in str(busy.value) and "refresh-0" not in str(busy.value)
    assert not list(tmp_path.glob("spent-*")), "a run that could not lock did not refresh"


def test_contract_a_refused_refresh_releases_the_lock_and_keeps_the_stored_pair(make_store, tmp_path):
    store = make_store()
    store.write(stale())
    SingleUseTokenServer(tmp_path).refresh("refresh-0")  # spent elsewhere: the next use is refused
    with pytest.raises(RuntimeError, match="invalid_grant"):
        fresh_tokens(store, SingleUseTokenServer(tmp_path).refresh)
    assert make_store().read() == store.read() and store.read().refresh_token == "refresh-0"
    with make_store().locked(0.5):  # not left locked
        pass


# --- Secret Manager specifics ---


def gsm_store(fake: FakeSecretManager, **kwargs) -> SecretManagerTokenStore:
    return SecretManagerTokenStore(SECRET, fake, poll_seconds=0.02, **kwargs)


def new_fake(**annotations: str) -> FakeSecretManager:
    fake = FakeSecretManager()
    fake.add_secret(SECRET, **annotations)
    return fake


def test_gsm_write_adds_first_then_retires_older_versions_keeping_two_active():
    fake = new_fake()
    store = gsm_store(fake)
    for n in range(4):
        store.write(TokenSet(f"access-{n}", f"refresh-{n}", 1_800_000_000.0))
    assert fake.states(SECRET) == ["DESTROYED", "DESTROYED", "DISABLED", "ENABLED"]
    assert fake.active_versions(SECRET) == 2, "Secret Manager bills active versions: they must not pile up"
    assert store.read().refresh_token == "refresh-3"
    # per write: the add comes first, the old versions are touched only after it succeeded
    writes = " ".join(fake.methods_called()).split("add_secret_version")[1:]
    assert all(w.split()[:1] == ["list_secret_versions"] for w in writes)


def test_gsm_a_failed_add_disables_nothing_and_says_so_without_tokens():
    fake = new_fake()
    store = gsm_store(fake)
    store.write(TokenSet("access-0", "refresh-0", 1_800_000_000.0))
    fake.fail("add_secret_version", gexc.PermissionDenied("Permission 'secretmanager.versions.add' denied"))
    with pytest.raises(SourceError) as failed:
        store.write(TokenSet("access-1", "refresh-1", 1_800_000_000.0))
    assert "PermissionDenied (HTTP 403)" in str(failed.value) and "refresh-1" not in str(failed.value)
    assert fake.states(SECRET) == ["ENABLED"] and store.read().refresh_token == "refresh-0"
    assert "disable_secret_version" not in fake.methods_called()


def test_gsm_transient_errors_are_retried_within_the_timeout():
    fake = new_fake()
    fake.fail("add_secret_version", gexc.ServiceUnavailable("try again"))
    gsm_store(fake).write(TokenSet("access-0", "refresh-0", 1_800_000_000.0))
    assert fake.methods_called().count("add_secret_version") == 2 and fake.states(SECRET) == ["ENABLED"]


def test_gsm_every_call_carries_a_timeout(tmp_path):
    fake = new_fake()  # the fake fails any call without one
    store = gsm_store(fake, timeout_seconds=7)
    store.write(stale())
    fresh_tokens(store, SingleUseTokenServer(tmp_path).refresh)
    assert len(fake.timeouts) == len(fake.calls) > 5 and set(fake.timeouts) == {7}


def test_gsm_lease_is_written_to_annotations_and_released(tmp_path):
    fake = new_fake(owner="personal-data")
    store = gsm_store(fake)
    with store.locked(1):
        held = fake.annotations(SECRET)
        assert held["lease-holder"] == store.holder and float(held["lease-expires"]) > time.time()
        assert held["owner"] == "personal-data", "other annotations are kept"
    assert fake.annotations(SECRET) == {"owner": "personal-data"}


def test_gsm_an_expired_lease_can_be_taken(caplog):
    fake = new_fake(**{"lease-holder": "runner:99:dead-run", "lease-expires": f"{time.time() - 1:.0f}"})
    store = gsm_store(fake)
    with caplog.at_level(logging.WARNING), store.locked(0.5):
        assert fake.annotations(SECRET)["lease-holder"] == store.holder
    assert "dead-run" in caplog.text


def test_gsm_a_live_lease_makes_the_other_run_wait_then_give_up_clearly():
    fake = new_fake(**{"lease-holder": "runner:42:other-run", "lease-expires": f"{time.time() + 600:.0f}"})
    started = time.monotonic()
    with pytest.raises(TokenStoreBusy, match="other-run") as busy, gsm_store(fake).locked(0.3):
        pass
    assert 0.3 <= time.monotonic() - started < 5 and "\n" not in str(busy.value)
    assert fake.annotations(SECRET)["lease-holder"] == "runner:42:other-run", "never stolen while live"


def test_gsm_of_two_runs_that_read_the_same_etag_only_one_gets_the_lease():
    fake = new_fake()
    first, second = gsm_store(fake), gsm_store(fake)
    read_secret = first._get_secret
    raced = []

    def read_then_lose_the_race():
        secret = read_secret()
        if not raced:  # between first's read and its conditional write, second takes the lease
            raced.append(True)
            second._acquire(1)
        return secret

    first._get_secret = read_then_lose_the_race
    with pytest.raises(TokenStoreBusy):
        first._acquire(0.2)
    assert fake.annotations(SECRET)["lease-holder"] == second.holder
    assert "update_secret" in fake.methods_called()[fake.methods_called().index("get_secret") + 1:], \
        "first did try its write, and the etag precondition refused it"


def test_gsm_nothing_secret_reaches_logs_or_errors(caplog, tmp_path):
    fake = new_fake()
    store = gsm_store(fake)
    with caplog.at_level(logging.DEBUG):
        store.write(stale("refresh-0"))
        fresh_tokens(store, SingleUseTokenServer(tmp_path).refresh)
        fake.fail("list_secret_versions", gexc.PermissionDenied("Permission 'secretmanager.versions.list' denied"))
        store.write(TokenSet("access-9", "refresh-9", time.time() + 100))  # housekeeping fails: logged, not raised
        fake.fail("access_secret_version", gexc.PermissionDenied("denied"))
        with pytest.raises(SourceError) as failed:
            store.read()
    assert "could not retire" in caplog.text
    for token in ("access-0", "refresh-0", "access-1", "refresh-1", "access-9", "refresh-9"):
        assert token not in caplog.text and token not in str(failed.value)


def test_gsm_a_payload_it_did_not_write_is_an_error_without_its_content():
    fake = new_fake()
    fake.add_secret_version(request={"parent": SECRET, "payload": {"data": b"not-json refresh-zzz"}}, timeout=1)
    with pytest.raises(SourceError, match="does not hold a token pair") as failed:
        gsm_store(fake).read()
    assert "refresh-zzz" not in str(failed.value)


def test_the_setting_picks_the_store(tmp_path, monkeypatch):
    default = tmp_path / "default.json"
    assert open_token_store(None, default).path == default
    assert open_token_store("", default).path == default
    assert open_token_store(f"file://{tmp_path}/other.json", default).path == tmp_path / "other.json"
    assert open_token_store(str(tmp_path / "bare.json"), default).path == tmp_path / "bare.json"
    built = []
    monkeypatch.setattr(secret_manager, "make_client", lambda: built.append(1) or new_fake())
    store = open_token_store(f"gsm://{SECRET}", default)
    assert isinstance(store, SecretManagerTokenStore) and store.secret == SECRET
    assert not built, "no Google client is built until the store is used"
    with pytest.raises(SourceError, match="projects/<project>/secrets/<name>"):
        open_token_store("gsm://fitbit-tokens", default)
