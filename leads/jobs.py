"""RQ jobs: thin wrappers taking primitives and calling one service."""
from leads.services import accounts_rollup


def daily_maintenance():
    return accounts_rollup()
