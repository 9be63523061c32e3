"""The email intake (SPEC §4): python scripts/intake.py --help. The work is in service/intake/."""

from service.intake.cli import main

raise SystemExit(main())
