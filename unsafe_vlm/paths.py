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
