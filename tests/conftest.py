from datetime import UTC, datetime, timedelta

import pytest

from models_review.services import version_import
from tests.redis_fixtures import _redis_server, redis_down, rq_redis  # noqa: F401  (fixtures for every test)

DAY0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

SPEC_MODEL = {
    "model": "Default",
    "note": "SPEC §2a example",
    "sales_ready_score": 100,
    "decay": {
        "inactivity_days": 30,
        "period_days": 7,
        "mode": "percent",
        "amount": 10,
        "floor_fraction": 0.5,
    },
    "cold_after_days": 30,
    "stage_mode": "score",
    "account_threshold": 200,
    "rules": [
        {"event_type": "page_view", "asset_flag": "sales_ready", "points": 5},
        {"event_type": "page_view", "url_pattern": "*/careers*", "points": -10},
        {"event_type": "video_play", "points": 20},
        {"event_type": "download", "product_line": "Analytics", "points": 10, "max_per_day": 3},
        {"event_type": "form_submit", "points": 25},
        {"event_type": "custom", "event_name": "Trial Started", "points": 30},
    ],
}


def day(n):
    return DAY0 + timedelta(days=n)


@pytest.fixture
def spec_model(db):
    """The SPEC §2a model, published and active."""
    return version_import(data=SPEC_MODEL, publish=True)


@pytest.fixture
def marketer(db):
    from tests.factories import MarketerFactory

    return MarketerFactory(username="marketer")


@pytest.fixture
def rep(db):
    from tests.factories import RepFactory

    return RepFactory(username="rep")
