"""Reference cycles are freed on the GUI thread only (twin_app.ui.gui_gc): a cycle made
garbage on a worker thread, which there would have been collected as soon as the worker's
allocations passed the threshold, is freed by the GUI thread's timer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_a_cycle_made_on_a_worker_is_freed_on_the_gui_thread() -> None:
    code = textwrap.dedent(
        """
        import gc, threading
        from PySide6.QtCore import QCoreApplication, QTimer
        from twin_app.ui.gui_gc import collect_on_gui_thread

        app = QCoreApplication([])
        collect_on_gui_thread(0.05)
        freed_on = []

        class Node:
            def __init__(self):
                self.me = self  # a cycle: only the cyclic collector frees it
            def __del__(self):
                freed_on.append(threading.current_thread().name)

        kept = []

        def work():
            for _ in range(50):
                Node()
            # allocations far past gen 0's threshold (700), kept alive
            kept.extend([] for _ in range(20000))

        t = threading.Thread(target=work, name="worker")
        t.start(); t.join()
        worker_freed = list(freed_on)
        QTimer.singleShot(400, app.quit)
        app.exec()
        print(gc.isenabled(), len(worker_freed), len(freed_on), sorted(set(freed_on)))
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    enabled, on_worker, freed, threads = done.stdout.split(maxsplit=3)
    assert enabled == "False" and on_worker == "0"
    assert freed == "50" and threads.strip() == "['MainThread']"
