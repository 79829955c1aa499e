"""Vendor the NHS.UK frontend's compiled CSS, JS and assets into app/static/nhsuk/.

Run by `make frontend` after `npm pack nhsuk-frontend`. The app must work offline (no
CDN), so the stylesheet's absolute `/assets/` paths are made relative and the
`@font-face` rules that load Frutiger from assets.nhs.uk are dropped: Frutiger is
licensed to NHS.UK sites, and the stylesheet already falls back to Arial.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "app" / "static" / "nhsuk"


def vendor(package_dir: Path) -> str:
    version = json.loads((package_dir / "package.json").read_text())["version"]
    dist = package_dir / "dist" / "nhsuk"
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.mkdir(parents=True)
    css = (dist / "nhsuk-frontend.min.css").read_text()
    css = re.sub(r"@font-face\{[^}]*assets\.nhs\.uk[^}]*\}", "", css)
    css = css.replace("url(/assets/", "url(assets/")
    css = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)
    if "https://" in css:
        raise SystemExit("the stylesheet still loads something from the internet")
    (TARGET / "nhsuk-frontend.min.css").write_text(css)
    js = (dist / "nhsuk-frontend.min.js").read_text()
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    (TARGET / "nhsuk-frontend.min.js").write_text(js)
    shutil.copytree(dist / "assets", TARGET / "assets")
    (TARGET / "VERSION").write_text(
        f"nhsuk-frontend {version} (npm), compiled dist; refresh with `make frontend`\n"
    )
    return version


if __name__ == "__main__":
    print("vendored nhsuk-frontend", vendor(Path(sys.argv[1])))
