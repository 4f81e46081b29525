"""Text written into files other programs open: spreadsheets (CSV formulas) and Markdown (markup, HTML)."""
from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Links, images, emphasis, code, headings, tables: escaped. "-" and "+" are left: reviewers write bullet lists.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")


def spreadsheet_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character is escaped with an apostrophe (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def markdown_text(value) -> str:
    """Plain text for a Markdown document: HTML made inert, markup characters backslash-escaped."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def natural_key(value: str) -> list:
    """Sort key that orders numbers by value: seed_2 before seed_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", value or "")]
