"""The floors (DESIGN.md, "Layout"): xuchang_portal holds settings, urls and the Celery app
and nothing else (the import contracts in pyproject.toml keep core from importing apps), and
no module imports another that imports it back."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_package_holds_settings_urls_and_the_celery_app_only():
    package = ROOT / "xuchang_portal"
    modules = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "settings" not in path.relative_to(package).parts
    )

    assert modules == [
        "__init__.py",
        "api/__init__.py",
        "api/urls.py",
        "celery.py",
        "urls.py",
        "wsgi.py",
    ]


@pytest.mark.parametrize("module", ["disputes.models", "disputes.sanling"])
def test_the_sanling_rule_and_the_models_import_nothing_that_imports_them_back(module):
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("core", "villages", "visits", "stars", "disputes", "dashboards")

    back = {
        imported: graph.find_shortest_chain(importer=imported, imported=module)
        for imported in graph.find_modules_directly_imported_by(module)
    }

    assert {imported: chain for imported, chain in back.items() if chain} == {}
