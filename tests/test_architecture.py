"""The dependency picture of docs/domain.md, checked: the sandbox is a leaf nobody imports, and the
domain apps never import the HTTP layer or the sandbox."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEVER_IMPORT = {
    "notifications": {"sandbox", "api", "participants", "statements", "declarations", "jobs"},
    "participants": {"sandbox", "api", "declarations", "statements", "jobs"},
    "statements": {"sandbox", "api", "declarations", "jobs"},
    "declarations": {"sandbox", "api", "jobs"},
    "api": {"sandbox", "jobs"},
    "visibility": {"sandbox", "api", "jobs"},
    # The job runner sits on top: it calls services of the apps below, nothing imports it but ecf/.
    "jobs": {"sandbox"},
}
# The admin modules are a presentation layer like api/ (docs/domain.md): they may call any domain
# app's services, but never the HTTP layer or the sandbox.
PRESENTATION_NEVER_IMPORTS = {"sandbox", "api"}


def forbidden_for(app: str, path: Path) -> set[str]:
    return PRESENTATION_NEVER_IMPORTS if path.name == "admin.py" and app != "api" else NEVER_IMPORT[app]


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("app", sorted(NEVER_IMPORT))
def test_app_imports_only_what_the_picture_allows(app):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) & forbidden_for(app, path))
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and imported_apps(path) & forbidden_for(app, path)
    }
    assert offenders == {}


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from sandbox.world import stable_id\nimport api.views\n")
    assert imported_apps(module) >= {"sandbox", "api"}


def test_api_holds_no_sandbox_code():
    assert not (ROOT / "api" / "sandbox.py").exists()
    assert not (ROOT / "api" / "scenarios.py").exists()


# The read model of visibility sits on both sides (docs/domain.md): its models, selectors and the
# `visibility_changed` call are below every domain app and import none; its services, which
# compute the rows from participants and declarations, are above them and subscribe at start-up.
DOMAIN_APPS = {"participants", "statements", "declarations"}
VISIBILITY_BELOW = ("models.py", "selectors.py", "changes.py")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_lower_half_of_visibility_imports_no_domain_app():
    offenders = {name: imported_apps(ROOT / "visibility" / name) & DOMAIN_APPS for name in VISIBILITY_BELOW}
    assert offenders == dict.fromkeys(VISIBILITY_BELOW, set())


def test_domain_apps_reach_the_read_model_only_through_its_lower_half():
    allowed = {f"visibility.{name.removesuffix('.py')}" for name in VISIBILITY_BELOW}
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            module for module in imported_modules(path) if module.startswith("visibility") and module not in allowed
        )
        for app in DOMAIN_APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}
