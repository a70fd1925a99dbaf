import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wsgi_application_freezes_what_it_loaded_out_of_the_collectors_way():
    # In a process of its own: freezing this test process would keep its garbage forever.
    script = "import gc, scoring_site.wsgi; print(gc.get_freeze_count())"
    frozen = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=os.environ, check=True, capture_output=True, text=True
    ).stdout
    assert int(frozen) > 10_000
