"""Where the suite finds its configs and shipped data (the repository layout)."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
CONF_DIR = REPO_DIR / "conf"
DATA_DIR = REPO_DIR / "data"
UNSAFE_CONCEPTS_DIR = DATA_DIR / "unsafe_concepts"
