"""Layers point one way: every import of the package (read with ``ast``, those inside functions too)
goes down the layers or stays in its own part, and no two subpackages import each other.

Layers, lowest first; a part may import its own layer's other parts, or any lower layer. The shared
leaves (``errors``, ``paths``, ``settings``, and the package's ``__init__``) sit below everything: all may import
them, and they import no other part. Besides ``import`` statements, a ``"unsafe_vlm.x.y:Name"``
string (the tables that ``importlib`` loads from: commands, methods, backbone families) counts.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "unsafe_vlm"

LAYERS = (
    ("data",),
    ("api", "backbones", "judges"),
    ("rl", "metrics"),
    ("methods", "evaluation", "serving"),
    ("report",),
    ("commands",),
    ("cli", "config_check", "__main__"),
)
SHARED = ("errors", "paths", "registry", "settings", "__init__")  # "__init__": the package's own __init__.py
LOADED_BY_NAME = re.compile(r"unsafe_vlm(\.\w+)+:\w+")


@dataclass(frozen=True)
class Import:
    file: str  # the importing file, from the package's folder on: unsafe_vlm/data/split.py
    line: int
    source: str  # the importing part (a subpackage or top-level module)
    target: str  # the imported part
    text: str  # the import as written

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


def ranks(layers=LAYERS, shared=SHARED) -> dict[str, int]:
    """Each part's layer: -1 for the shared leaves, then 0 for the lowest layer upwards."""
    return {**{part: -1 for part in shared}, **{part: n for n, layer in enumerate(layers) for part in layer}}


def part_of(module: tuple[str, ...], known: set[str]) -> str:
    """The part a dotted module name (``("unsafe_vlm", "data", "synth")``) belongs to."""
    if len(module) > 1 and module[1] in known:
        return module[1]
    return "__init__"


def package_parts(package_dir: Path) -> set[str]:
    """The top-level subpackages and modules of the package (what must have a layer)."""
    names = {p.stem for p in package_dir.glob("*.py")}
    names |= {p.name for p in package_dir.iterdir() if p.is_dir() and any(p.rglob("*.py"))}
    return names - {"__pycache__"}


def imports_of(path: Path, package_dir: Path, known: set[str]) -> Iterator[Import]:
    """Every import of one of the package's parts that ``path`` makes, wherever in the file."""
    name = package_dir.name
    relative = path.relative_to(package_dir.parent).with_suffix("").parts
    module = relative[:-1] if relative[-1] == "__init__" else relative
    package = relative[:-1]  # what a relative import starts from
    source = part_of(module, known)
    code = path.read_text(encoding="utf-8")
    file = path.relative_to(package_dir.parent).as_posix()
    tree = ast.parse(code, filename=str(path))
    for node in ast.walk(tree):
        targets: list[tuple[str, ...]] = []
        if isinstance(node, ast.Import):
            targets = [tuple(alias.name.split(".")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            base += tuple(node.module.split(".")) if node.module else ()
            targets = [(*base, alias.name) for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and LOADED_BY_NAME.fullmatch(node.value):
            targets = [tuple(node.value.split(":")[0].split("."))]
        for target in targets:
            if target[0] == name:
                text = " ".join((ast.get_source_segment(code, node) or "").split())
                yield Import(file, node.lineno, source, part_of(target, known), text)


def package_imports(package_dir: Path = PACKAGE_DIR) -> list[Import]:
    known = package_parts(package_dir)
    return [
        found
        for path in sorted(package_dir.rglob("*.py"))
        if "__pycache__" not in path.parts
        for found in imports_of(path, package_dir, known)
        if found.source != found.target
    ]


def upward_imports(imports: list[Import], parts: Mapping[str, int]) -> list[str]:
    return [
        f"{found}  ({found.source}, layer {parts[found.source]}, imports {found.target}, layer {parts[found.target]})"
        for found in imports
        if parts[found.target] > parts[found.source]
    ]


def import_cycles(imports: list[Import]) -> list[str]:
    """One entry per set of parts that import each other (a strongly connected component), with its imports."""
    graph: dict[str, set[str]] = {}
    for found in imports:
        graph.setdefault(found.source, set()).add(found.target)
        graph.setdefault(found.target, set())
    reaches = {part: _reachable(graph, part) for part in graph}
    components = {frozenset(p for p in graph if p in reaches[part] and part in reaches[p]) for part in graph}
    report = []
    for component in sorted((c for c in components if len(c) > 1), key=sorted):
        inside = [str(found) for found in imports if found.source in component and found.target in component]
        report.append(f"cycle between {', '.join(sorted(component))}:\n    " + "\n    ".join(inside))
    return report


def _reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


# ----- the package ----------------------------------------------------------------------------


def test_every_part_of_the_package_has_a_layer():
    assert package_parts(PACKAGE_DIR) - set(ranks()) == set(), "add the new part to LAYERS (or SHARED)"


def test_the_scan_sees_the_packages_imports():
    edges = {(found.source, found.target) for found in package_imports()}
    assert {("cli", "commands"), ("methods", "rl"), ("backbones", "paths"), ("methods", "backbones")} <= edges


def test_no_import_points_up_the_layers():
    violations = upward_imports(package_imports(), ranks())
    assert not violations, "imports that point up the layers:\n" + "\n".join(violations)


def test_no_two_subpackages_import_each_other():
    cycles = import_cycles(package_imports())
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


# ----- the raw config stays in the commands --------------------------------------------------

READS_THE_CONFIG = ("cli.py", "config_check.py", "settings.py", "commands/")
"""Where omegaconf may be imported: the commands build typed settings from the composed config."""
OMEGACONF_BELOW_THE_COMMANDS: set[str] = set()  # none: not even for Hydra's instantiate, which only commands/ call


def omegaconf_importers(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Files of the package that import omegaconf, from the package's folder on (``data/settings.py``)."""
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name.split(".")[0] == "omegaconf" for name in names):
                found.append(path.relative_to(package_dir).as_posix())
                break
    return found


def below_the_commands(files: list[str]) -> list[str]:
    return [f for f in files if not f.startswith(READS_THE_CONFIG) and f not in OMEGACONF_BELOW_THE_COMMANDS]


def test_below_the_commands_no_module_imports_omegaconf():
    assert below_the_commands(omegaconf_importers()) == [], "take typed settings, built in commands/, instead"


def test_the_omegaconf_scan_finds_an_import_inside_a_function(tmp_path):
    package = write_package(tmp_path, {
        "unsafe_vlm/commands/fit.py": "from omegaconf import DictConfig\n",
        "unsafe_vlm/judges/rule.py": "def f():\n    import omegaconf.errors\n",
        "unsafe_vlm/data/settings.py": "from omegaconf import OmegaConf\n",
        "unsafe_vlm/rl/gae.py": "import torch\n",
    })  # fmt: skip
    assert below_the_commands(omegaconf_importers(package)) == ["data/settings.py", "judges/rule.py"]


# ----- the checker, on a made-up package ------------------------------------------------------


def write_package(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root / "unsafe_vlm"


def test_the_checker_finds_upward_imports_also_inside_functions_and_relative_ones(tmp_path):
    package = write_package(tmp_path, {
        "unsafe_vlm/__init__.py": "",
        "unsafe_vlm/paths.py": "",
        "unsafe_vlm/data/__init__.py": "def f():\n    from ..report.scores import x\n",
        "unsafe_vlm/rl/losses.py": "import unsafe_vlm.methods.dpo\nfrom unsafe_vlm import paths\n",
        "unsafe_vlm/methods/dpo.py": "from unsafe_vlm.rl import losses\nTABLE = {'x': 'unsafe_vlm.commands.fit:fit'}\n",
        "unsafe_vlm/report/scores.py": "from . import markdown\n",
        "unsafe_vlm/commands/fit.py": "",
    })  # fmt: skip
    found = upward_imports(package_imports(package), ranks())
    assert found == [
        "unsafe_vlm/data/__init__.py:2: from ..report.scores import x  (data, layer 0, imports report, layer 4)",
        "unsafe_vlm/methods/dpo.py:2: 'unsafe_vlm.commands.fit:fit'  (methods, layer 3, imports commands, layer 5)",
        "unsafe_vlm/rl/losses.py:1: import unsafe_vlm.methods.dpo  (rl, layer 2, imports methods, layer 3)",
    ]


def test_the_checker_finds_a_cycle_and_names_its_imports(tmp_path):
    package = write_package(tmp_path, {
        "unsafe_vlm/__init__.py": "",
        "unsafe_vlm/evaluation/summary.py": "from unsafe_vlm.report.scores import format_value\n",
        "unsafe_vlm/report/rescore.py": "import os\n\n\ndef rescore():\n    from unsafe_vlm.evaluation import rows\n",
        "unsafe_vlm/report/scores.py": "from unsafe_vlm.data import x\n",
        "unsafe_vlm/data/x.py": "",
    })  # fmt: skip
    assert import_cycles(package_imports(package)) == [
        "cycle between evaluation, report:\n"
        "    unsafe_vlm/evaluation/summary.py:1: from unsafe_vlm.report.scores import format_value\n"
        "    unsafe_vlm/report/rescore.py:5: from unsafe_vlm.evaluation import rows"
    ]
