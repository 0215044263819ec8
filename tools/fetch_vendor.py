"""Fetch pinned local copies of the book's CDN scripts and write an offline config.

Usage: python tools/fetch_vendor.py [--dest _build/vendor]

The published book loads MathJax and the ipywidgets manager from CDNs (Sphinx's and
myst-nb's defaults). The browser tests run without internet, so their build loads
the same pinned versions from the book's own ``_static/_vendor/`` instead:

* ``<dest>/site/_static/_vendor/...``  the unpacked npm packages; the offline build
  lists ``<dest>/site`` in ``html_extra_path``, so Sphinx copies it into the HTML
  output (``html_extra_path``, not ``html_static_path``: jupyter-book would inject
  every ``.js`` file of a static path into every page).
* ``<dest>/_config.offline.yml``  the book's ``_config.yml`` plus the Sphinx options
  that point MathJax and the widget manager at those copies; build with
  ``jupyter-book build . --config <dest>/_config.offline.yml``.

Nothing here is committed: ``<dest>`` lives under the ignored ``_build/``. Packages
come from the npm registry through ``npm pack`` (npm's cache makes re-runs offline)
and are checked against the pinned sha512 integrity. ``make book`` does not use any
of this; the online book keeps the CDN URLs.

One package is for the tests only: axe-core (``_static/_vendor/axe-core/axe.min.js``),
the accessibility checker that tests/test_browser.py injects into every page. No
page of the book loads it.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEST = ROOT / "_build" / "vendor"

# The versions the online build loads from CDNs:
# sphinx.ext.mathjax MATHJAX_URL = mathjax@3 (3.2.2 is the last 3.x release);
# myst_nb.core.config.ipywidgets_js_factory = cdnjs require.js 2.3.4 and
# @jupyter-widgets/html-manager@1.0.6 dist/embed-amd.js.
PACKAGES = {
    "mathjax": {
        "spec": "mathjax@3.2.2",
        "integrity": "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1"
                     "/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        "keep": ["es5/"],
    },
    "requirejs": {
        "spec": "requirejs@2.3.4",
        "integrity": "sha512-qPD5gRrj6kGQ0ZySAJgqbArkaDqPMbQIT0zSZDkIv1mfA17w/tR2Faq5"
                     "l2qqRf2CdQx6FWln9nUrgd2UDzb19A==",
        "keep": ["require.js"],
    },
    "html-manager": {
        "spec": "@jupyter-widgets/html-manager@1.0.6",
        "integrity": "sha512-+Mn+Ra8wyIHrYaUpfmf9A3dsLkt/NuwzPQN8sthdxBD35VV5cOJbpmgM"
                     "hNR27n/rmP3mKyEe0PWCJrtZrXTXDQ==",
        "keep": ["dist/"],
    },
    # The accessibility rules the browser tests run on every page (not loaded by
    # the book; the tests inject it).
    "axe-core": {
        "spec": "axe-core@4.10.3",
        "integrity": "sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856"
                     "dYtJYLkuIoYZvGfTs/PbZhideTcEg==",
        "keep": ["axe.min.js"],
    },
}
VENDOR_URL = "_vendor"  # under _static/ in the HTML output
# CDN prefix -> local path under _static/ (what the offline build loads instead).
CDN_TO_LOCAL = {
    "https://cdn.jsdelivr.net/npm/mathjax@3/es5/": f"{VENDOR_URL}/mathjax/es5/",
    "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/": f"{VENDOR_URL}/mathjax/es5/",
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js":
        f"{VENDOR_URL}/requirejs/require.js",
    "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/":
        f"{VENDOR_URL}/html-manager/",
}


def _integrity(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _npm_pack(spec: str, into: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "fetch_vendor: npm is not installed; the offline browser tests need it to "
            "fetch MathJax and the widget manager. Install Node.js/npm "
            "(e.g. `apt-get install npm`) and re-run."
        )
    proc = subprocess.run(
        [npm, "pack", spec, "--json", "--prefer-offline", "--silent",
         "--pack-destination", str(into)],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"fetch_vendor: `npm pack {spec}` failed:\n{proc.stderr}")
    filename = json.loads(proc.stdout)[0]["filename"]
    # npm < 9 names scoped tarballs with the '@'; newer npm without it.
    return into / Path(filename.lstrip("@").replace("/", "-")).name


def _unpack(tarball: Path, keep: list[str], target: Path) -> None:
    """Extract the ``package/<keep...>`` members (no source maps) into ``target``."""
    with tarfile.open(tarball) as tar:
        members = []
        for member in tar.getmembers():
            name = member.name.removeprefix("package/")
            if not member.isfile() or name.endswith(".map"):
                continue
            if any(name == k or (k.endswith("/") and name.startswith(k)) for k in keep):
                member.name = name
                members.append(member)
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            tar.extractall(target, members=members, filter="data")
        else:
            tar.extractall(target, members=members)


def ensure_vendor(dest: Path) -> Path:
    """Unpack the pinned packages under ``dest/site/_static/_vendor``; return site."""
    site = dest / "site"
    vendor = site / "_static" / VENDOR_URL
    stamp = vendor / "pins.json"
    pins = {name: f"{pkg['spec']} {pkg['integrity']}" for name, pkg in PACKAGES.items()}
    if stamp.exists() and json.loads(stamp.read_text()) == pins:
        return site
    shutil.rmtree(vendor, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="ngd-vendor-") as tmp:
        for name, pkg in PACKAGES.items():
            tarball = _npm_pack(pkg["spec"], Path(tmp))
            got = _integrity(tarball)
            if got != pkg["integrity"]:
                raise SystemExit(
                    f"fetch_vendor: {pkg['spec']} has integrity {got}, expected "
                    f"{pkg['integrity']}; refusing to use it."
                )
            _unpack(tarball, pkg["keep"], vendor / name)
            print(f"fetch_vendor: {pkg['spec']} -> {vendor / name}")
    stamp.write_text(json.dumps(pins, indent=1))
    return site


def localize(url: str) -> str | None:
    """The local stand-in for a CDN URL, or None if it is not vendored."""
    for prefix, local in CDN_TO_LOCAL.items():
        if url.startswith(prefix):
            return local + url[len(prefix):]
    return None


def offline_config(site: Path) -> dict:
    """The book's _config.yml with every CDN script it loads swapped for a local copy.

    Only URLs change: the scripts, their order and their other attributes stay as
    the published book has them (the defaults of Sphinx and myst-nb unless
    _config.yml sets ``mathjax_path`` or ``nb_ipywidgets_js``).
    """
    from myst_nb.core.config import ipywidgets_js_factory
    from sphinx.ext.mathjax import MATHJAX_URL

    config = copy.deepcopy(yaml.safe_load((ROOT / "_config.yml").read_text()))
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    unvendored = []

    mathjax = sphinx_config.get("mathjax_path", MATHJAX_URL)
    sphinx_config["mathjax_path"] = localize(mathjax) or mathjax
    if "://" in sphinx_config["mathjax_path"]:
        unvendored.append(mathjax)

    widgets = {}
    for url, attributes in sphinx_config.get(
            "nb_ipywidgets_js", ipywidgets_js_factory()).items():
        local = localize(url)
        if local is None and "://" in url:
            unvendored.append(url)
        attributes = dict(attributes)
        if local is not None:  # the npm file is not byte-identical to the CDN's
            attributes.pop("integrity", None)
        widgets[local or url] = attributes
    sphinx_config["nb_ipywidgets_js"] = widgets
    if unvendored:
        raise SystemExit(
            f"fetch_vendor: the book loads {unvendored} from a CDN but "
            "tools/fetch_vendor.py has no pinned local copy; add the package to "
            "PACKAGES and CDN_TO_LOCAL (matching versions)."
        )
    # jupyter-book resolves local_extensions against the config file's folder.
    local = config["sphinx"].get("local_extensions") or {}
    for name, path in local.items():
        local[name] = str((ROOT / path).resolve())
    extra = list(sphinx_config.get("html_extra_path", []))
    sphinx_config["html_extra_path"] = [*extra, str(site)]
    return config


def write_offline_config(dest: Path) -> Path:
    site = ensure_vendor(dest)
    path = dest / "_config.offline.yml"
    path.write_text(
        "# Generated by tools/fetch_vendor.py from _config.yml: do not edit.\n"
        + yaml.safe_dump(offline_config(site), sort_keys=False, allow_unicode=True)
    )
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    args = parser.parse_args(argv)
    args.dest.mkdir(parents=True, exist_ok=True)
    print(write_offline_config(args.dest.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
