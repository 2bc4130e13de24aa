"""The token store: atomic writes, a crash right after a refresh loses nothing, concurrent runs refresh once."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from pipelines.common.token_store import LocalFileTokenStore, TokenSet, TokenStoreBusy, fresh_tokens


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
