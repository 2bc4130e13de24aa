"""`python scripts/fitbit_authorize.py` / `python -m scripts.fitbit_authorize`: the first consent with Google for
the Google Health API (the Fitbit pipeline's data source since the Fitbit Web API was switched off). The same as
`python -m pipelines.fitbit.authorize`, whose arguments it takes; the code lives in pipelines/fitbit/authorize.py."""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pipelines.fitbit.authorize import main

    raise SystemExit(main())
