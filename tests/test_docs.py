"""The documentation stays true: the site builds strictly, pointers resolve, imports flow one way.

- ``mkdocs build --strict`` succeeds on the repository's ``mkdocs.yml`` and fails on a broken
  cross-reference, a link to a missing page, a page left out of the navigation or a navigation
  entry without a page;
- the Python examples of ``docs/*.md`` print what they say (``# -> ...``);
- every file pointer in README.md, DEVELOPERS.md, docs/ and src/ names a file of the repository
  (and a ``tests/...py::name`` pointer a test that exists);
- the import graph of ``src/autowarm``, computed from the AST, flows in the documented direction.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "autowarm"
DOCS = ROOT / "docs"
THIS = Path(__file__).resolve()


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


# --- the site ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_site_builds_in_strict_mode(tmp_path):
    result = _mkdocs(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lr_page = (tmp_path / "site" / "api" / "lr" / "index.html").read_text()
    assert 'id="autowarm.lr.AdaptiveWarmup"' in lr_page  # the API is rendered from docstrings
    assert '<span class="gp">&gt;&gt;&gt; </span>' in lr_page  # doctests: highlighted sessions
    for page in ("method", "schedules", "optimizers", "benchmark", "reliability"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page


def _small_site(tmp_path: Path, pages: dict[str, str], nav: list[str]) -> Path:
    """A copy of the repository's mkdocs.yml over a small docs directory."""
    import yaml  # a dependency of mkdocs

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in pages.items():
        (docs / name).write_text(text)
    config["docs_dir"] = str(docs)
    config["nav"] = [{name.removesuffix(".md"): name} for name in nav]
    config.pop("exclude_docs", None)
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            python = plugin["mkdocstrings"]["handlers"]["python"]
            python["paths"] = [str(ROOT / "src")]
            options = python["options"]
            options["extensions"] = [str(ROOT / e) for e in options.get("extensions", [])]
    path = tmp_path / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config))
    return path


FAULTS = {
    "none": ({"page.md": "# Page\n\nSee [the scheduler][autowarm.lr.AdaptiveWarmup].\n"}, []),
    "broken reference": ({"page.md": "# Page\n\nSee [it][autowarm.lr.NoSuchScheduler].\n"}, []),
    "missing page": ({"page.md": "# Page\n\nSee [the method](method.md).\n"}, []),
    "page not in nav": ({"page.md": "# Page\n", "orphan.md": "# Orphan\n"}, []),
    "nav entry without page": ({"page.md": "# Page\n"}, ["gone.md"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_strict_build_fails_on_each_kind_of_broken_docs(tmp_path, fault):
    pages, extra_nav = FAULTS[fault]
    api = "::: autowarm.lr.AdaptiveWarmup\n" if "][" in pages["page.md"] else ""  # what refs need
    pages = {"index.md": f"# Home\n\n{api}", **pages}
    config = _small_site(tmp_path, pages, ["index.md", "page.md", *extra_nav])
    result = _mkdocs(config, tmp_path / "site")
    if fault == "none":  # the control: the same small site builds when nothing is broken
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    else:
        assert result.returncode != 0, f"strict build passed with a {fault}"
        log = result.stdout + result.stderr
        assert re.search(r"WARNING|ERROR|Error|Aborted", log), log[-3000:]  # it says why


def _load_extension():
    path = DOCS / "_ext" / "doctest_blocks.py"
    spec = importlib.util.spec_from_file_location("doctest_blocks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_doctest_sessions_are_fenced_at_their_indent():
    fence = _load_extension().fence_doctests
    text = "Example:\n\n    >>> f(1)\n    [0.5, 1.0]\n\nAfter."
    want = "Example:\n\n    ```pycon\n    >>> f(1)\n    [0.5, 1.0]\n    ```\n\nAfter."
    assert fence(text) == want
    assert fence("```\n>>> inside a fence\n```") == "```\n>>> inside a fence\n```"
    assert fence("no session here") == "no session here"
    two = fence(">>> a\n1\n\n>>> b\n2")
    assert two.count("```pycon") == 2 and two.endswith("2\n```")


# --- the examples of the docs ------------------------------------------------------------------


def _pages_with_examples() -> list[Path]:
    return [p for p in sorted(DOCS.glob("*.md")) if "```python" in p.read_text()]


@pytest.mark.parametrize("page", _pages_with_examples(), ids=lambda p: p.name)
def test_docs_examples_print_what_they_claim(page):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    namespace: dict = {"__name__": "__docs__"}  # the blocks of one page run in sequence
    for index, code in enumerate(blocks):
        expected = [m.strip() for m in re.findall(r"# -> (.*)$", code, flags=re.M)]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{page.name}-block-{index}", "exec"), namespace)
        assert out.getvalue().strip().splitlines() == expected, (page.name, index)


# --- file pointers -----------------------------------------------------------------------------

# A path inside the repository: one of its top-level directories, then a file with an extension.
_REPO_PATH = re.compile(
    r"(?<![\w./-])((?:docs|examples|benchmarks|tests|src|\.ci)/[\w./-]*\w\.[a-z]+)(::\w+)?"
)
_ROOT_DOC = re.compile(r"(?<![\w./-])([A-Z][A-Z_]*\.md)\b")  # README.md, BENCHMARKS.md, ...
_OUTSIDE = re.compile(
    r"STYLE\.md|STYLE rule|reference\sdigest|\.\./shared|shared/(?:reference)", re.I
)
_MD_LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")


def _pointer_files() -> list[Path]:
    texts = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted(DOCS.rglob("*.md"))]
    return texts + sorted(SRC.rglob("*.py"))


def _broken_pointers(path: Path) -> list[str]:
    text = path.read_text()
    broken = []
    for match in _REPO_PATH.finditer(text):
        target, test = ROOT / match.group(1), match.group(2)
        missing = not target.is_file()
        if not missing and test:  # a pointer to a test function: the function must exist
            missing = not re.search(rf"^\s*def {test[2:]}\(", target.read_text(), flags=re.M)
        if missing:
            broken.append(match.group(0))
    for match in _ROOT_DOC.finditer(text):
        outside = _OUTSIDE.fullmatch(match.group(1))  # checked by the tests below
        if not outside and not (ROOT / match.group(1)).is_file():
            broken.append(match.group(1))
    if path.suffix == ".md":
        for match in _MD_LINK.finditer(text):
            link = match.group(1).split("#")[0]
            if link and not re.match(r"[a-z]+:", link) and not (path.parent / link).exists():
                broken.append(match.group(1))
    return broken


@pytest.mark.parametrize("path", _pointer_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_file_pointers_resolve_to_files_of_the_repository(path):
    assert _broken_pointers(path) == []


def test_the_pointer_check_catches_a_broken_pointer(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "See docs/nowhere.md, examples/missing.py, NOTES.md, [x](gone.md) and "
        "tests/test_docs.py::test_that_does_not_exist; docs/method.md is fine."
    )
    assert _broken_pointers(page) == [
        "docs/nowhere.md",
        "examples/missing.py",
        "tests/test_docs.py::test_that_does_not_exist",
        "NOTES.md",
        "gone.md",
    ]


_BARE_MD = re.compile(r"(?<![\w./-])([a-z][\w-]*\.md)\b")  # a lowercase doc name without a path


@functools.cache
def _markdown_names() -> frozenset[str]:
    tracked = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True)
    names = {Path(p).name for p in tracked.stdout.split()}
    return frozenset(names | {p.name for p in DOCS.rglob("*.md")})  # docs: tracked or new


def _outside_pointers(path: Path) -> list[str]:
    text = path.read_text()
    found = [m.group(0) for m in _OUTSIDE.finditer(text)]
    if path.suffix == ".py":  # in code, a bare "name.md" points to a document that must exist
        names = _markdown_names()
        found += [m.group(1) for m in _BARE_MD.finditer(text) if m.group(1) not in names]
    return found


def test_nothing_points_outside_the_repository():
    paths = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted(DOCS.rglob("*.md"))]
    paths += sorted(SRC.rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py"))
    found = {
        str(p.relative_to(ROOT)): hits
        for p in paths
        if p.resolve() != THIS and (hits := _outside_pointers(p))
    }
    assert found == {}


def test_docs_and_readme_point_nowhere_outside_the_repository():
    # The part of the check above that this branch owns passes already.
    paths = [*sorted(DOCS.rglob("*.md")), *sorted(DOCS.rglob("*.py")), ROOT / "mkdocs.yml"]
    assert {str(p.relative_to(ROOT)): h for p in paths if (h := _outside_pointers(p))} == {}


# --- the import graph --------------------------------------------------------------------------


def _unit(path: Path) -> str:
    """The package (or top-level module) of ``src/autowarm`` a source file belongs to."""
    rel = path.relative_to(SRC)
    if len(rel.parts) > 1:
        return rel.parts[0]
    return "autowarm" if rel.stem == "__init__" else rel.stem


def _imported_modules(text: str, package: list[str]) -> set[str]:
    """Every module a source imports, at module level or inside functions, as absolute names.

    ``package`` is the dotted package the source lives in (for relative imports); constant
    ``importlib.import_module("...")`` calls count as imports.
    """
    out: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)  # from pkg import module
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.add(node.args[0].value)
    return out


# Compatibility re-exports: the adaptive warm-up's old homes under schedules/ re-export what
# moved to autowarm.adaptive (which builds on schedules). They are the one allowed back edge.
COMPAT_SHIMS = {"schedules/adaptive.py", "schedules/dstar.py", "schedules/kappa.py"}


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """``unit -> units and third-party top-level modules it imports`` (autowarm units by name)."""
    units = {_unit(p) for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).as_posix() in COMPAT_SHIMS:
            continue
        unit = _unit(path)
        edges = graph.setdefault(unit, set())
        package = ["autowarm", *path.relative_to(SRC).parent.parts]
        for name in _imported_modules(path.read_text(), package):
            parts = name.split(".")
            if parts[0] != "autowarm":
                edges.add(parts[0])
            elif len(parts) > 1 and parts[1] in units and parts[1] != unit:
                edges.add(parts[1])
    return graph


def _internal(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {u: {d for d in deps if d in graph} for u, deps in graph.items()}


PURE = {"schedules", "theory", "adaptive"}  # no torch; they may import only each other
LEAF = {
    "_extras",
    "_plot",
    "_version",
    "runlog",
}  # private helpers that import no other autowarm unit


def test_pure_packages_import_no_torch_and_only_each_other():
    graph = import_graph()
    for unit in LEAF:
        assert _internal(graph)[unit] <= LEAF - {unit}, (unit, _internal(graph)[unit])
    for unit in PURE & set(graph):
        assert "torch" not in graph[unit], unit
        allowed = (PURE | LEAF) - {unit}
        assert _internal(graph)[unit] <= allowed, (unit, _internal(graph)[unit])


def test_nothing_imports_cli_but_the_entry_point():
    graph = _internal(import_graph())
    assert {u for u, deps in graph.items() if "cli" in deps} == {"__main__"}


def test_diagnostics_never_imports_train():
    assert "train" not in import_graph()["diagnostics"]


def test_no_scipy_anywhere_and_the_graph_has_no_cycles():
    graph = import_graph()
    assert not [u for u, deps in graph.items() if "scipy" in deps]
    internal = _internal(graph)
    done: set[str] = set()

    def visit(unit: str, path: tuple[str, ...]) -> None:
        assert unit not in path, f"import cycle: {' -> '.join((*path, unit))}"
        if unit not in done:
            for dep in sorted(internal[unit]):
                visit(dep, (*path, unit))
            done.add(unit)

    for unit in sorted(internal):
        visit(unit, ())


def test_the_graph_sees_lazy_and_relative_imports():
    source = (
        "from . import sibling\nfrom ..schedules import kappa\n"
        "def f():\n    import torch\n    importlib.import_module('autowarm.train')\n"
    )
    names = _imported_modules(source, ["autowarm", "lr"])
    assert {"autowarm.lr.sibling", "autowarm.schedules.kappa", "torch", "autowarm.train"} <= names


def test_importing_schedules_does_not_load_torch():
    code = "import sys, autowarm.schedules; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the API pages -----------------------------------------------------------------------------


def test_every_public_package_has_an_api_page_in_the_nav():
    packages = sorted(
        p.name
        for p in SRC.iterdir()
        if (p / "__init__.py").is_file() and not p.name.startswith("_") and p.name != "cli"
    )
    nav = (ROOT / "mkdocs.yml").read_text()
    for name in ["autowarm", *packages]:
        page = DOCS / "api" / f"{name}.md"
        assert page.is_file(), f"no API page docs/api/{name}.md"
        ident = "autowarm" if name == "autowarm" else f"autowarm.{name}"
        assert re.search(rf"^::: {re.escape(ident)}$", page.read_text(), flags=re.M), page
        assert f"api/{name}.md" in nav, f"docs/api/{name}.md is not in mkdocs.yml's nav"


def test_the_developers_guide_shows_the_real_import_graph():
    text = (ROOT / "DEVELOPERS.md").read_text()
    block = text.split("<!-- import-graph: checked by tests/test_docs.py -->\n```text\n", 1)[1]
    documented = {}
    for line in block.split("```", 1)[0].strip().splitlines():
        unit, _, deps = (x.strip() for x in line.partition("->"))
        documented[unit] = set() if deps == "(nothing)" else {d.strip() for d in deps.split(",")}
    graph = _internal(import_graph())
    real = {u: deps - LEAF for u, deps in graph.items() if u not in LEAF}
    assert documented == real
