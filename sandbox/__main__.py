"""`python -m sandbox`: serve the synthetic person's APIs on 127.0.0.1 until interrupted."""

from __future__ import annotations

import argparse
from datetime import date

from sandbox.app import SYNTHETIC_NOTICE, SandboxConfig
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer

DEFAULT_PORT = 8787


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--start", type=date.fromisoformat, help="first day (default: so the life ends yesterday)")
    args = parser.parse_args()
    life = LifeConfig(args.seed, args.start, args.days) if args.start else LifeConfig.ending_yesterday(args.seed, args.days)
    server = SandboxServer(SandboxConfig(life=life), port=args.port)
    print(f"sandbox on {server.url}  ({SYNTHETIC_NOTICE})", flush=True)
    server._thread.run()


if __name__ == "__main__":
    main()
