"""Local Sphinx extension of the course book (loaded through ``_config.yml`` ->
``sphinx.local_extensions``).

At the start of every build it:

* sets the environment the notebooks run in, unless the caller set it already:
  ``COURSE_PROGRESS=plain`` (one summary line per training run, no progress widget) and
  ``COURSE_STATIC_WIDGETS=1`` (widgets render as kernel-free HTML + JavaScript). The
  kernels that execute the notebooks inherit it. It also removes a non-inline
  ``MPLBACKEND`` (such as ``Agg``): in a kernel that would replace matplotlib's inline
  backend, and every figure would vanish from the book;
* records the run profile (``COURSE_PROFILE`` or automatic, see ``course_lib.profiles``)
  as the config value ``course_profile``, so changing the profile re-reads every page,
  and gives each profile its own jupyter-cache (``_build/.jupyter_cache/<profile>``), so
  outputs of a smoke build never appear in a cpu build; the footer says which profile
  computed the outputs;
* provides the directive ``course-budgets``, the table of every training budget of every
  run profile, read from ``course_lib.profiles`` at build time (so the Getting started
  page never goes stale);
* drops duplicate ``<script>`` entries from each page (sphinx-thebe 0.3 adds its inline
  configuration twice on some builds, and the second ``const`` declaration is a
  JavaScript error in the console);
* vendors MathJax (``tools/vendor_js.py``) so that pages typeset equations offline. With
  ``COURSE_BOOK_MATHJAX=cdn`` it loads MathJax from jsDelivr instead (for machines
  without npm).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-mml-chtml.js"
NOTEBOOK_ENVIRONMENT = {"COURSE_PROGRESS": "plain", "COURSE_STATIC_WIDGETS": "1"}


def _load_vendor_tool() -> Any:
    spec = importlib.util.spec_from_file_location(
        "course_vendor_js", ROOT / "tools" / "vendor_js.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _profile_name() -> str:
    from course_lib.profiles import get_profile

    return get_profile().name


def prepare_build(app: Sphinx, config: Config) -> None:
    """``config-inited`` handler: notebook environment, per-profile cache, offline
    MathJax."""
    for key, value in NOTEBOOK_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    backend = os.environ.get("MPLBACKEND", "")
    if backend and "inline" not in backend:
        del os.environ["MPLBACKEND"]
        LOGGER.info(
            f"course book: ignoring MPLBACKEND={backend} so that notebooks show "
            "their figures inline"
        )
    profile = _profile_name()
    config.course_profile = profile
    if not config.nb_execution_cache_path:
        config.nb_execution_cache_path = str(
            Path(app.outdir).parent / ".jupyter_cache" / profile
        )
    LOGGER.info(
        f"course book: run profile {profile}, cache {config.nb_execution_cache_path}"
    )

    if os.environ.get("COURSE_BOOK_MATHJAX", "").strip().lower() == "cdn":
        config.mathjax_path = MATHJAX_CDN
        config.html_static_path = [
            p for p in config.html_static_path if not str(p).startswith("tools/vendor")
        ]
        LOGGER.info(
            "course book: MathJax from the CDN (COURSE_BOOK_MATHJAX=cdn); pages need "
            "the network"
        )
        return
    vendor = _load_vendor_tool()
    try:
        folder = vendor.ensure_vendored()
    except vendor.VendorError as error:
        raise RuntimeError(str(error)) from None
    LOGGER.info(
        f"course book: MathJax {vendor.vendored_version()} served from {folder}"
    )


def drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """``html-page-context`` handler: keep the first of identical script entries (file
    and attributes)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        attributes = tuple(
            sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())
        )
        # an inline script's filename: None or ""
        key = (str(getattr(script, "filename", script) or ""), attributes)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def budget_table() -> str:
    """A Markdown table of ``course_lib.profiles.PROFILES``: one row per recipe, one
    column per profile."""
    from course_lib.profiles import PROFILES

    names = list(PROFILES)
    header = "| recipe | " + " | ".join(f"`{name}`" for name in names) + " |"
    lines = [header, "| --- |" + " --- |" * len(names)]
    for recipe in PROFILES[names[0]].budgets:
        cells = []
        for name in names:
            budget = PROFILES[name].budget(recipe)
            images = (
                "all 60 000"
                if budget.n_train is None
                else f"{budget.n_train:,}".replace(",", " ")
            )
            cells.append(f"{budget.epochs} × {images}, batch {budget.batch_size}")
        lines.append(f"| `{recipe}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


class BudgetTable(SphinxDirective):
    """``course-budgets``: the training budgets of every run profile, as a table."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        container = nodes.container(classes=["course-budgets"])
        self.state.nested_parse(
            StringList(budget_table().splitlines(), source="course_lib.profiles"),
            self.content_offset,
            container,
        )
        return [container]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("course_profile", "", "env")
    app.add_directive("course-budgets", BudgetTable)
    # Priority 100: before Sphinx checks that every html_static_path entry exists
    # (priority 800).
    app.connect("config-inited", prepare_build, priority=100)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
