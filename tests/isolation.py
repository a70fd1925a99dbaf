"""Loaded with `-p` before Django settings: gives the test run its own var/ folder,
so tests never touch (or share an embedded Redis with) a running local install."""

import os
import tempfile

os.environ.setdefault("LEADSCORE_VAR_DIR", tempfile.mkdtemp(prefix="leadscore-test-"))
# One job per recalculation or preview unless a test asks for chunk jobs: "auto" would count the
# workers other tests registered (a SIGKILLed worker stays registered for minutes).
os.environ.setdefault("CHUNK_JOBS", "never")
