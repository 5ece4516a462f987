"""The package installs anywhere: a built wheel carries conf/ and data/, and unsafe_vlm/paths.py finds
them both in a checkout and in an installed wheel."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers.cli_runner import run_cli

from unsafe_vlm import paths

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BUILD_LEFTOVERS = (".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".cache",
                   "outputs", "multirun", "runs", "lightning_logs")


def setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def shipped_files() -> list[str]:
    """conf/ and data/ as a wheel must carry them: every config, every shipped data file."""
    files = [p for p in (ROOT / "conf").rglob("*.yaml")] + [p for p in (ROOT / "data").rglob("*") if p.is_file()]
    return sorted(p.relative_to(ROOT).as_posix() for p in files)


def load_paths_module(package_dir: Path):
    """unsafe_vlm/paths.py as if imported from ``package_dir`` (a copy of the file placed there)."""
    package_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(paths.__file__, package_dir / "paths.py")
    spec = importlib.util.spec_from_file_location("paths_copy", package_dir / "paths.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_in_the_checkout_conf_and_data_are_the_repositorys_own():
    assert paths.REPO_DIR == ROOT
    assert paths.CONF_DIR == ROOT / "conf" and (paths.CONF_DIR / "fit.yaml").is_file()
    assert paths.DATA_DIR == ROOT / "data" and (paths.DATA_DIR / "safe_concepts.txt").is_file()
    assert (paths.UNSAFE_CONCEPTS_DIR / "metadata.jsonl").is_file()
    assert not paths.SHIPPED_DIR.exists()  # a checkout never holds the wheel's copy


def test_a_config_path_relative_to_the_repository_resolves_from_any_folder(tmp_path, monkeypatch):
    from unsafe_vlm.paths import shipped_or_given

    monkeypatch.chdir(tmp_path)
    assert shipped_or_given("data/organism") == str(ROOT / "data" / "organism")
    contexts = "data/unsafe_concepts/contexts.json"  # a file too (data.contexts_file)
    assert shipped_or_given(contexts) == str(ROOT / contexts)
    assert shipped_or_given("data/none.json") == "data/none.json"


def test_an_installed_package_finds_the_copy_it_carries(tmp_path):
    package = tmp_path / "site-packages" / "unsafe_vlm"
    (package / "_shipped" / "conf").mkdir(parents=True)
    installed = load_paths_module(package)
    found = (installed.REPO_DIR, installed.CONF_DIR, installed.UNSAFE_CONCEPTS_DIR)
    shipped = package / "_shipped"
    assert found == (shipped, shipped / "conf", shipped / "data" / "unsafe_concepts")
    checkout = load_paths_module(tmp_path / "checkout" / "unsafe_vlm")
    found = (checkout.REPO_DIR, checkout.DATA_DIR)
    assert found == (tmp_path / "checkout", tmp_path / "checkout" / "data")


def test_pyproject_lists_every_subpackage_and_maps_conf_and_data_where_paths_looks():
    config = setuptools_config()
    on_disk = {
        ".".join(folder.relative_to(ROOT).parts)
        for folder in {p.parent for p in (ROOT / "unsafe_vlm").rglob("*.py")}
        if "__pycache__" not in folder.parts
    }
    shipped = f"unsafe_vlm.{paths.SHIPPED_DIR.name}"
    listed = set(config["packages"])
    assert listed - {f"{shipped}.conf", f"{shipped}.data"} == on_disk, "pyproject.toml [tool.setuptools] packages"
    assert config["package-dir"] == {f"{shipped}.conf": "conf", f"{shipped}.data": "data"}
    assert config["include-package-data"] is False  # only what package-data names ships


@pytest.mark.slow
def test_the_wheel_carries_conf_data_and_metadata_but_no_tests_or_tools(tmp_path, data_cache):
    source = tmp_path / "source"  # a clean copy: no stale build/ of the checkout ends up in the wheel
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*BUILD_LEFTOVERS))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", str(source),
         "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("unsafe_vlm-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in shipped_files():
            assert archive.read(f"unsafe_vlm/_shipped/{name}") == (ROOT / name).read_bytes(), name
        dist_info = f"unsafe_vlm-{tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['version']}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "unsafe_vlm").rglob("*.py")}
    assert {name for name in names if name.endswith(".py")} == modules  # the package's own, nothing stale
    assert {f"{dist_info}/{f}" for f in ("METADATA", "WHEEL", "RECORD", "entry_points.txt")} <= names
    assert "Name: unsafe-vlm" in metadata and "Requires-Dist: hydra-core" in metadata
    assert "unsafe-vlm = unsafe_vlm.cli:main" in entry_points
    assert {name.split("/")[0] for name in names} == {"unsafe_vlm", dist_info}  # no tests/, tools/, conf/ at the top

    # Installed from the wheel (and nothing else of the checkout on the path), evaluate runs on the
    # shipped organism from an empty folder and writes under it.
    site, work = tmp_path / "site", tmp_path / "work"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    work.mkdir()
    env = {"PYTHONPATH": str(site)}
    evaluated = run_cli("evaluate", "data.limit_per_task=4", f"data.cache_dir={data_cache}", "hydra.run.dir=run",
                    cwd=work, env=env)
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert json.loads((work / "run" / "metrics.json").read_text())["perception/n"] > 0
    config = (work / "run" / ".hydra" / "config.yaml").read_text()
    assert "path: data/organism" in config
    probe = "import unsafe_vlm.paths as r; print(r.shipped_or_given('data/organism'))"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=work,
                           env={**os.environ, **env}, check=True)
    assert Path(found.stdout.strip()) == site / "unsafe_vlm" / "_shipped" / "data" / "organism"
