"""The email intake (SPEC §4): python scripts/intake.py --help. The work is in service/intake/."""

import gc

from service.intake.cli import main

# What the imports made lives as long as the process: kept out of the collector's sight, each full
# collection walks only what reading and answering mail leaves behind.
gc.freeze()
raise SystemExit(main())
