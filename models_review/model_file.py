"""The model file of SPEC §2a: a stable JSON shape users keep in git.

`validate` names the field at fault (`decay.period_days`, `rules[2].points`) so a person
can fix the file; nothing is written unless the whole file is valid."""

from __future__ import annotations

import math

from leads.engine.scoring import ASSET_FLAGS, EVENT_TYPES
from leads.ingest.validation import InvalidValue, check_json

TOP_KEYS = {
    "model",
    "note",
    "sales_ready_score",
    "decay",
    "cold_after_days",
    "stage_mode",
    "account_threshold",
    "engagement_days",
    "account_min_engaged",
    "rules",
}
DECAY_KEYS = {"inactivity_days", "period_days", "mode", "amount", "floor_fraction"}
RULE_KEYS = {
    "event_type",
    "points",
    "url_pattern",
    "event_name",
    "asset",
    "asset_flag",
    "product_line",
    "max_per_day",
}
RULE_EVENT_TYPES = tuple(t for t in EVENT_TYPES if t != "manual")
DEFAULT_DECAY = {
    "inactivity_days": 30,
    "period_days": 7,
    "mode": "percent",
    "amount": 10,
    "floor_fraction": 0.5,
}

# Keys a file may leave out (account score settings of §4).
OPTIONAL_DEFAULTS = {"engagement_days": 90, "account_min_engaged": 2}


# Upper and lower bounds on every setting: outside them dates overflow (a decay window of a
# billion days), ticks multiply without end (a period of 0.0001 days) or totals stop being
# numbers (a sales-ready score of 1e308). Ten years of inactivity is already "never".
MAX_DAYS = 3650
MIN_PERIOD_DAYS = 1
MAX_SCORE = 1_000_000
MAX_ACCOUNT_THRESHOLD = 1_000_000_000
MAX_POINTS = 1_000_000
MAX_PER_DAY = 10_000


class ModelFileError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:40] + "…"


class _Checker:
    def __init__(self):
        self.errors: list[str] = []

    def unknown_keys(self, data: dict, allowed: set[str], where: str):
        for key in sorted(set(data) - allowed):
            self.errors.append(f"{where}{key}: unknown key (allowed: {', '.join(sorted(allowed))})")

    def number(
        self, data: dict, key: str, where: str, *, minimum=None, above=None, maximum=None, required=False
    ):
        if key not in data or data[key] is None:
            if required:
                self.errors.append(f"{where}{key}: is required")
            return
        value = data[key]
        if not _is_number(value):
            self.errors.append(f"{where}{key}: must be a number, not {_shown(value)}")
        elif above is not None and value <= above:
            self.errors.append(f"{where}{key}: must be greater than {above:g}")
        elif minimum is not None and value < minimum:
            self.errors.append(f"{where}{key}: must be at least {minimum:g}")
        elif maximum is not None and value > maximum:
            self.errors.append(f"{where}{key}: must be at most {maximum:g}")

    def whole_number(self, data: dict, key: str, where: str, *, minimum: int):
        if key not in data or data[key] is None:
            return
        value = data[key]
        if isinstance(value, float) and value.is_integer():
            value = data[key] = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.errors.append(f"{where}{key}: must be a whole number of at least {minimum}, not {value!r}")

    def choice(self, data: dict, key: str, where: str, choices, required=False):
        if key not in data:
            if required:
                self.errors.append(f"{where}{key}: is required")
            return
        if data[key] not in choices:
            self.errors.append(
                f"{where}{key}: must be one of {', '.join(map(str, choices))}, not {data[key]!r}"
            )

    def text(self, data: dict, key: str, where: str, required=False, max_length=500):
        value = data.get(key)
        if value is None:
            if required:
                self.errors.append(f"{where}{key}: is required")
            return
        if not isinstance(value, str) or (required and not value.strip()):
            self.errors.append(f"{where}{key}: must be {'non-empty ' if required else ''}text")
        elif len(value) > max_length:
            self.errors.append(f"{where}{key}: must be at most {max_length} characters")


def validate(data) -> dict:
    """Return the file with defaults filled in, or raise ModelFileError listing every problem."""
    check = _Checker()
    if not isinstance(data, dict):
        raise ModelFileError(["file: must be a JSON object"])
    try:
        check_json(data, "")
    except InvalidValue as problem:
        raise ModelFileError([str(problem)]) from None
    check.unknown_keys(data, TOP_KEYS, "")
    check.text(data, "model", "", required=True, max_length=100)
    check.text(data, "note", "", max_length=10_000)
    check.number(data, "sales_ready_score", "", above=0, maximum=MAX_SCORE)
    check.number(data, "cold_after_days", "", above=0, maximum=MAX_DAYS)
    check.number(data, "account_threshold", "", above=0, maximum=MAX_ACCOUNT_THRESHOLD)
    check.number(data, "engagement_days", "", above=0, maximum=MAX_DAYS)
    check.whole_number(data, "account_min_engaged", "", minimum=1)
    check.choice(data, "stage_mode", "", ("score", "content"))
    decay = data.get("decay", {})
    if not isinstance(decay, dict):
        check.errors.append("decay: must be an object")
        decay = {}
    check.unknown_keys(decay, DECAY_KEYS, "decay.")
    check.number(decay, "inactivity_days", "decay.", minimum=0, maximum=MAX_DAYS)
    check.number(decay, "period_days", "decay.", above=0, minimum=MIN_PERIOD_DAYS, maximum=MAX_DAYS)
    check.choice(decay, "mode", "decay.", ("percent", "points"))
    check.number(
        decay,
        "amount",
        "decay.",
        minimum=0,
        maximum=100 if decay.get("mode", "percent") == "percent" else MAX_SCORE,
    )
    check.number(decay, "floor_fraction", "decay.", minimum=0, maximum=1)
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        check.errors.append("rules: must be a list")
        rules = []
    for index, rule in enumerate(rules):
        _check_rule(check, rule, f"rules[{index}].")
    if check.errors:
        raise ModelFileError(check.errors)
    return {
        "model": data["model"].strip(),
        "note": data.get("note", ""),
        "sales_ready_score": data.get("sales_ready_score", 100),
        "decay": {**DEFAULT_DECAY, **decay},
        "cold_after_days": data.get("cold_after_days", 30),
        "stage_mode": data.get("stage_mode", "score"),
        "account_threshold": data.get("account_threshold"),
        **{
            key: default if data.get(key) is None else data[key] for key, default in OPTIONAL_DEFAULTS.items()
        },
        "rules": rules,
    }


def _check_rule(check: _Checker, rule, where: str):
    if not isinstance(rule, dict):
        check.errors.append(f"{where.rstrip('.')}: must be an object")
        return
    check.unknown_keys(rule, RULE_KEYS, where)
    check.choice(rule, "event_type", where, RULE_EVENT_TYPES, required=True)
    check.number(rule, "points", where, required=True, minimum=-MAX_POINTS, maximum=MAX_POINTS)
    for key in ("url_pattern", "event_name", "asset", "product_line"):
        check.text(rule, key, where)
    check.choice(rule, "asset_flag", where, ASSET_FLAGS) if "asset_flag" in rule else None
    if "max_per_day" in rule and rule["max_per_day"] is not None:
        value = rule["max_per_day"]
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_PER_DAY:
            check.errors.append(
                f"{where}max_per_day: must be a whole number from 1 to {MAX_PER_DAY:,}, not {_shown(value)}"
            )
