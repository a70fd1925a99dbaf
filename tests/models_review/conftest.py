from tests.rq_support import rq_queue  # noqa: F401 (a fixture)
