"""Where the repository's data directories live (edgetx is installed editable from its checkout)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOARDS_DIR = REPO / "boards"
TEMPLATES_DIR = REPO / "firmware_templates"
