"""The code's layout stays what the README's code map says: leads/ in packages by concern,
no module importing another in a circle, and one event's short path to the stage log."""

import ast
import re
import traceback
from pathlib import Path

import pytest
from django.db.models.query import QuerySet

from leads.engine import scoring
from leads.ingest.credentials import write_key_create
from leads.models import Lead, StageChange
from tests.leads.test_tracking_api import post, track

ROOT = Path(__file__).resolve().parents[2]
APPS = ("leads", "models_review", "surveys", "scoring_site")
MAX_TOP_LEVEL_MODULES = 12
# The files one tracked event passes through on its way to the stage-change log, in order;
# the README's code map lists the same files in the same order.
EVENT_PATH = (
    "leads/api/tracking.py",
    "leads/ingest/messages.py",
    "leads/ingest/events.py",
    "leads/engine/scoring.py",
    "leads/services.py",
)


@pytest.fixture
def write_key(spec_model):
    return write_key_create(name="Website")[1]


def project_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            modules[".".join(parts)] = path
    return modules


def module_level_imports(path: Path, module: str, known: dict) -> set[str]:
    """Project modules `module` imports when it is itself imported: statements at module
    level (also inside a top-level if/try), not those deferred into functions or written
    for type checkers only."""
    imported = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(statements):
        for node in statements:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, ast.If):
                visit(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + [base]
                    ).strip(".")
                imported.add(base)
                imported.update(f"{base}.{alias.name}" for alias in node.names)

    visit(ast.parse(path.read_text()).body)
    return {name for name in imported if name in known and name != module}


def import_graph() -> dict[str, set[str]]:
    known = project_modules()
    return {module: module_level_imports(path, module, known) for module, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_layout_leads_has_at_most_twelve_top_level_modules():
    modules = sorted(path.name for path in (ROOT / "leads").glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_layout_no_module_imports_another_in_a_circle():
    assert cycles(import_graph()) == []


def test_layout_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_layout_engine_imports_nothing_of_the_database():
    graph = import_graph()
    engine = [module for module in graph if module.startswith("leads.engine")]
    reached = {target for module in engine for target in graph[module]}
    assert reached <= set(engine), reached - set(engine)


def test_layout_one_tracked_event_reaches_the_stage_log_through_the_files_the_readme_names(
    client, write_key, monkeypatch
):
    assert post(client, "track", track(messageId="m1"), write_key).status_code == 200  # 25 points: stage 1
    stacks, engine_calls = [], []
    original_bulk_create, original_apply = QuerySet.bulk_create, scoring.apply_event

    def recording_bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if self.model is StageChange and objs:
            stacks.append([frame.filename for frame in traceback.extract_stack()])
        return original_bulk_create(self, objs, *args, **kwargs)

    def recording_apply(*args, **kwargs):
        engine_calls.append(args)
        return original_apply(*args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", recording_bulk_create)
    monkeypatch.setattr(scoring, "apply_event", recording_apply)
    assert post(client, "track", track(messageId="m2"), write_key).status_code == 200  # 50 points: stage 2

    assert Lead.objects.get(user_id="u1").stage == 2
    assert len(stacks) == 1 and len(engine_calls) == 1
    on_stack = project_files_from_the_view(stacks[0])
    assert on_stack == [path for path in EVENT_PATH if path != "leads/engine/scoring.py"]
    assert len(EVENT_PATH) <= 6


def project_files_from_the_view(stack: list[str]) -> list[str]:
    files = []
    for filename in stack:
        path = Path(filename)
        if ROOT not in path.parents or path.parts[len(ROOT.parts)] not in APPS:
            continue
        relative = str(path.relative_to(ROOT))
        if relative not in files:
            files.append(relative)
    return files[files.index(EVENT_PATH[0]) :]


def test_layout_the_readme_code_map_names_the_event_path_in_order():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### The path of one event", 1)[1].split("\n#", 1)[0]
    named = re.findall(r"`((?:leads|models_review|surveys|scoring_site)/[\w/]+\.py)`", section)
    assert named[: len(EVENT_PATH)] == list(EVENT_PATH)
