"""Where the suite finds its configs and shipped data: ``conf/`` and ``data/``, side by side.

In a checkout (and an editable install) both sit at the top of the repository, beside the
package. A built wheel (``pip install .`` too) carries them inside the package, as
``unsafe_vlm/_shipped/conf`` and ``unsafe_vlm/_shipped/data`` (pyproject.toml maps them there).
``REPO_DIR`` is whichever folder holds them: relative paths in configs (``data/organism``)
resolve against it.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_DIR = PACKAGE_DIR / "_shipped"  # an installed wheel's copy of conf/ and data/
REPO_DIR = SHIPPED_DIR if (SHIPPED_DIR / "conf").is_dir() else PACKAGE_DIR.parent
CONF_DIR = REPO_DIR / "conf"
DATA_DIR = REPO_DIR / "data"
UNSAFE_CONCEPTS_DIR = DATA_DIR / "unsafe_concepts"


def shipped_or_given(path: str) -> str:
    """A folder or file relative to the repository (``data/organism``, ``data/unsafe_concepts/contexts.json``:
    the checkout's, or the copy an installed wheel carries) wherever the command runs; else as given
    (an absolute or working-directory path, or a hub id)."""
    shipped = REPO_DIR / path
    if not Path(path).is_absolute() and not Path(path).exists() and shipped.exists():
        return str(shipped)
    return str(path)
