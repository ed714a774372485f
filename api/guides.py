"""The integrator-facing pages of docs/, served as HTML at /api/docs/<page>/ (issue 16).

The Markdown files in docs/ are the one source: developers read them in the repository, integrators
on the service, and a page cannot drift from its file. Only the pages written for integrators are
served (never deployment or domain notes). Raw HTML in a file is escaped, not rendered, so a page can
only be text and links. A link to another served file (`error-codes.md`) becomes that page's URL.
"""

from functools import cache
from pathlib import PurePosixPath

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from markdown_it import MarkdownIt

# URL slug -> file in docs/. The guide first: it is the entry point the version documents link.
PAGES = {
    "guide": "integrator-guide.md",
    "error-codes": "error-codes.md",
    "moving-from-the-rewrite": "moving-from-the-rewrite.md",
    "rewrite-behaviour-differences": "rewrite-behaviour-differences.md",
    "differences": "differences.md",
}


def page_path(slug: str) -> str:
    return f"/api/docs/{slug}/"


GUIDE_PATH = page_path("guide")


SLUG_OF_FILE = {file: slug for slug, file in PAGES.items()}


def _served_href(href: str) -> str:
    """`error-codes.md#x` or `docs/error-codes.md` -> `/api/docs/error-codes/#x`; anything else unchanged."""
    target, hash_mark, fragment = href.partition("#")
    slug = SLUG_OF_FILE.get(PurePosixPath(target).name) if target.endswith(".md") else None
    if slug is None:
        return href
    return page_path(slug) + (hash_mark + fragment)


def _renderer() -> MarkdownIt:
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

    def link_open(renderer, tokens, index, options, env):
        token = tokens[index]
        token.attrSet("href", _served_href(str(token.attrGet("href") or "")))
        return renderer.renderToken(tokens, index, options, env)

    markdown.add_render_rule("link_open", link_open)
    return markdown


@cache
def rendered(slug: str) -> tuple[str, str]:
    """(title, HTML) of a served page; read once per process (the files ship with the code)."""
    text = (settings.BASE_DIR / "docs" / PAGES[slug]).read_text(encoding="utf-8")
    first_line = text.splitlines()[0] if text else ""
    title = first_line.removeprefix("# ").strip() if first_line.startswith("# ") else slug
    return title, _renderer().render(text)


def guide_page(request, slug: str):
    if slug not in PAGES:
        raise Http404
    title, html = rendered(slug)
    pages = [(page_path(name), rendered(name)[0]) for name in PAGES]
    return render(request, "api/doc_page.html", {"title": title, "html": html, "pages": pages})
