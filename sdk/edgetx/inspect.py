"""`edgetx inspect`: a short summary of a converted model or firmware directory."""

from __future__ import annotations

import json
from pathlib import Path

from edgetx.errors import UserError


def inspect_dir(path: Path) -> str:
    path = Path(path)
    lines = []
    for name in ("report.json", "build.json"):
        f = path / name
        if f.is_file():
            data = json.loads(f.read_text())
            lines.append(f"{f}:")
            lines += [f"  {k}: {json.dumps(v)}" for k, v in data.items()]
    if not lines:
        raise UserError(f"{path} has no report.json or build.json; run 'edgetx convert' or 'build'")
    return "\n".join(lines)
