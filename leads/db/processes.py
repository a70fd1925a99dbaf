"""Processes doing bulk work: database connections across `fork()`, the cyclic collector.

A forked child inherits its parent's open database sockets. Closing them the usual way sends
the server a goodbye on the parent's session; letting them be finalised may do the same;
keeping them open keeps the parent's session (and the locks of its open transaction) alive
if the parent is killed. A child therefore closes only its own copy of each socket and never
touches the connection object again, and Django opens a new connection when it next needs one."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager

from django.db import connections

_inherited: list = []  # held, never finalised: their sockets belong to the parent's sessions


def inherited_connections_release() -> None:
    """In a forked child: let go of every database connection the parent had open."""
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _inherited.append(wrapper.connection)
            os.close(wrapper.connection.fileno())
            wrapper.connection = None


@contextmanager
def collector_paused():
    """Bulk work without the cyclic garbage collector. A replay allocates objects by the
    hundred thousand that all live on (rows, states, contribution lines); each time they are
    promoted the collector walks every object of the process, which doubled a 5,000-event
    lead page's p95. Reference counting frees them all the same; the collector resumes after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
