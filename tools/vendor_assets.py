"""Vendor the dashboard's browser assets from the npm registry (run by ``make install``).

``web/package.json`` pins each package and ``web/package-lock.json`` its exact tarball;
``npm ci --ignore-scripts`` fetches them (no install scripts run), and this script copies
the files the pages use, with each package's licence, into
``src/reos/web/static/vendor/<package>/`` and writes ``MANIFEST.json`` (name, version,
licence, files). The app serves them itself: nothing is fetched from a CDN at run time.
Idempotent: skipped when the manifest matches the lock file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
VENDOR = ROOT / "src" / "reos" / "web" / "static" / "vendor"

#: package -> the files (relative to the package) the dashboard serves.
FILES: dict[str, tuple[str, ...]] = {
    "htmx.org": ("dist/htmx.min.js",),
    "leaflet": (
        "dist/leaflet.js",
        "dist/leaflet.css",
        "dist/images/marker-icon.png",
        "dist/images/marker-icon-2x.png",
        "dist/images/marker-shadow.png",
        "dist/images/layers.png",
        "dist/images/layers-2x.png",
    ),
    "leaflet.markercluster": (
        "dist/leaflet.markercluster.js",
        "dist/MarkerCluster.css",
        "dist/MarkerCluster.Default.css",
    ),
    "swagger-ui-dist": ("swagger-ui-bundle.js", "swagger-ui.css"),
    "axe-core": ("axe.min.js",),
}
LICENCE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "MIT-LICENCE.txt", "MIT-LICENSE.txt")


def _lock_digest() -> str:
    return hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()


def main() -> int:
    manifest_path = VENDOR / "MANIFEST.json"
    digest = _lock_digest()
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("lock") == digest:
        print("web assets are current")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print(
            "npm is missing: install Node.js (Debian: apt-get install nodejs npm)", file=sys.stderr
        )
        return 2
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=WEB,
        check=True,
    )
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    packages = []
    for package, files in FILES.items():
        source = WEB / "node_modules" / package
        meta = json.loads((source / "package.json").read_text())
        target = VENDOR / package
        for rel in files:
            # served flat (dist/ dropped) except leaflet's images, which its CSS finds
            # beside itself in images/
            dest = target / (rel.removeprefix("dist/"))
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, dest)
        licences = [name for name in LICENCE_NAMES if (source / name).exists()]
        for name in licences:
            shutil.copyfile(source / name, target / name)
        packages.append(
            {
                "name": package,
                "version": meta["version"],
                "license": meta.get("license"),
                "licence_files": licences,
                "files": [rel.removeprefix("dist/") for rel in files],
            }
        )
    manifest_path.write_text(json.dumps({"lock": digest, "packages": packages}, indent=2))
    print(f"vendored {len(packages)} packages into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
