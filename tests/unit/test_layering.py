"""The layer's import direction, checked from the source (AST), so it cannot rot.

Every import counts, at module level or inside a function (a lazy import is still a dependency), except
those under ``if TYPE_CHECKING:``, which never run. The rules:

1. **No circles between files** of ``layers/warroom`` and ``functions/``.
2. **The core imports no domain**: ``warroom.core.*`` imports only ``warroom.core.*``.
3. **Domains run one way**, lowest first (a package may import its own modules and any package of a
   lower rank, never one of its own rank or above)::

       core
       audit                                   the hash-chained trail everything sensitive writes to
       notifications  realtime                 email (SES) and WebSocket broadcast
       auth                                    identity: accounts, sessions, tokens, request authentication
       admin                                   users and API keys administered
       mentions  campaigns  documents          the data domains
       crisis                                  detection over mentions, the Alert Center
       dashboard                               figures across mentions, crisis and campaigns
       intelligence                            analysis and the daily brief, over all of the above
       system                                  settings composed from every domain, data mode changes, health
       pipelines                               orchestration: sync-then-detect, the simulator

   ``functions/<group>/app.py`` sits above all of them, and no function imports another.
   A new domain is added to :data:`RANKS` where it belongs: this test fails until it is.
4. **Tests talk to real servers**: nothing imports ``unittest.mock`` (or the ``mock`` package).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import PROJECT_ROOT

LAYER_ROOT = PROJECT_ROOT / "layers"
FUNCTIONS_ROOT = PROJECT_ROOT / "functions"
RANKS: list[set[str]] = [
    {"core"},
    {"audit"},
    {"notifications", "realtime"},
    {"auth"},
    {"admin"},
    {"mentions", "campaigns", "documents"},
    {"crisis"},
    {"dashboard"},
    {"intelligence"},
    {"reports", "webhooks"},
    {"system"},
    {"metrics"},
    {"pipelines"},
]
RANK = {package: rank for rank, packages in enumerate(RANKS) for package in packages}


def _module_name(path: Path) -> str:
    if path.is_relative_to(FUNCTIONS_ROOT):
        return "functions." + ".".join(path.relative_to(FUNCTIONS_ROOT).with_suffix("").parts)
    root = LAYER_ROOT if path.is_relative_to(LAYER_ROOT) else PROJECT_ROOT
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = LAYER_ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (never executed)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for statement in node.body for child in ast.walk(statement)}
    return skipped


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every executed import of a file: ``from a.b import c`` names ``a.b.c`` when
    ``c`` is a module, else ``a.b``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_nodes(tree)
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield (candidate if _is_module(candidate) else base), node.lineno


def _source_files() -> list[Path]:
    return sorted([*(LAYER_ROOT / "warroom").rglob("*.py"), *FUNCTIONS_ROOT.rglob("*.py")])


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported warroom module: first line}."""
    graph: dict[str, dict[str, int]] = {}
    for path in _source_files():
        edges: dict[str, int] = {}
        for target, line in _imports(path):
            if target.startswith("warroom") and target != _module_name(path):
                edges.setdefault(target, line)
        graph[_module_name(path)] = edges
    return graph


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "warroom" and len(parts) > 1 else None


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
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
            visit(node)
    return found


def test_no_import_circle_between_files():
    assert _cycles(_graph()) == []


def _core_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    return [
        f"{module} imports {target} (line {line})"
        for module, edges in graph.items()
        if _domain(module) == "core"
        for target, line in edges.items()
        if _domain(target) not in ("core", None)
    ]


def _rank_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    offending = []
    for module, edges in graph.items():
        source = _domain(module)
        if source is None or source not in RANK:
            continue
        for target, line in edges.items():
            destination = _domain(target)
            if destination in (None, source) or destination not in RANK:
                continue
            if RANK[destination] >= RANK[source]:
                offending.append(f"{module} -> {target} (line {line}): {source} may not import {destination}")
    return offending


def test_the_core_imports_no_domain():
    assert _core_violations(_graph()) == []


def test_every_domain_has_a_rank():
    domains = {_domain(module) for module in _graph()} - {None}
    assert sorted(domains - set(RANK)) == [], "add the new domain to RANKS (and to this module's docstring)"


def test_domains_import_only_lower_ranks():
    assert _rank_violations(_graph()) == []


def test_functions_import_no_other_function_and_no_local_cloud():
    offending = [
        f"{path.relative_to(PROJECT_ROOT)}:{line} imports {target}"
        for path in FUNCTIONS_ROOT.rglob("*.py")
        for target, line in _imports(path)
        if target.split(".")[0] in ("functions", "app", "localcloud", "tests")
    ]
    assert offending == []


def test_nothing_imports_unittest_mock():
    offending = []
    for root in ("layers", "functions", "infra", "tests"):
        for path in (PROJECT_ROOT / root).rglob("*.py"):
            for target, line in _imports(path):
                if target in ("mock", "unittest.mock") or target.startswith(("unittest.mock.", "mock.")):
                    offending.append(f"{path.relative_to(PROJECT_ROOT)}:{line}")
    assert offending == []


def test_the_checker_sees_what_it_must():
    # GIVEN the checker's own view of files known to import across the layer
    graph = _graph()
    # THEN lazy imports inside functions count, ``from package import module`` names the module,
    # and a circle made on purpose is found
    assert "warroom.crisis.detection" in graph["warroom.pipelines.listening"]
    assert "warroom.core.security" in graph["warroom.core.pagination"]  # imported inside _mac_key()
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
    # and the rules fail on the edges this layer once had
    once = {
        "warroom.core.security": {"warroom.auth.revocation": 140},
        "warroom.mentions.ingest": {"warroom.crisis.detection": 606},
        "warroom.auth.account": {"warroom.system.settings": 61},
        "warroom.realtime.websocket": {"warroom.auth.guard": 20},
    }
    assert _core_violations(once) == ["warroom.core.security imports warroom.auth.revocation (line 140)"]
    assert len(_rank_violations(once)) == 4  # the core counts as the lowest rank too
