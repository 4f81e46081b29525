"""Text written into files other programs open: spreadsheets (CSV formulas) and Markdown (markup, HTML)."""
from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Links, images, emphasis, code, headings, tables: escaped. "-" and "+" are left: reviewers write bullet lists.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")


def spreadsheet_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character is escaped with an apostrophe (OWASP).

    Spreadsheets skip leading blanks before reading a formula (and importers strip a tab), so they are
    looked through: " =1+1" and "\t=1+1" are escaped like "=1+1".
    """
    text = "" if value is None else str(value)
    return "'" + text if text.lstrip(" \t\r\n").startswith(FORMULA_STARTS) or text.startswith(FORMULA_STARTS) else text


def markdown_text(value) -> str:
    """Plain text for a Markdown document: HTML made inert, markup characters backslash-escaped."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


BIGINT_MAX = 2**63 - 1  # SQLite's and PostgreSQL's largest integer key


def parse_id(value) -> int | None:
    """A row id typed in a URL or a form ("42"), or None: not "²" (isdigit() but no int), not past a bigint."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= BIGINT_MAX else None


def natural_key(value: str) -> list:
    """Sort key that orders numbers by value: seed_2 before seed_10."""
    return [int(part) if part.isascii() and part.isdigit() else part.lower() for part in re.split(r"([0-9]+)", value or "")]
