"""The long-running processes freeze what start-up loaded (``embudo.core.runtime``)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

from embudo.core.runtime import freeze_startup_objects


def test_loading_the_wsgi_application_freezes_the_startup_objects() -> None:
    code = "import gc, config.wsgi; print(gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert int(out.stdout.strip()) > 50_000  # Django, the apps, the URLconf and the API schema


def test_freezing_collects_garbage_first_and_later_objects_stay_collectable() -> None:
    class Node:
        ref: object = None

    try:
        garbage = Node()
        garbage.ref = garbage  # a cycle, unreachable once the name is gone
        before = weakref.ref(garbage)
        del garbage
        assert freeze_startup_objects() > 0
        assert before() is None  # collected, not frozen forever
        later = Node()
        later.ref = later
        after = weakref.ref(later)
        del later
        gc.collect()
        assert after() is None  # a cycle made after the freeze is still collected
    finally:
        gc.unfreeze()
