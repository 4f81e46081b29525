"""What a shop format is (catalog.formats registers them): a name, and an import, an export or both."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    variants: int = 0
    images: int = 0
    errors: list = field(default_factory=list)  # (line, message): the row (or product) was not imported
    warnings: list = field(default_factory=list)  # (line, message): imported, with something to check

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "variants": self.variants, "images": self.images,
                "errors": self.errors, "warnings": self.warnings}


class ShopFormat:
    name: str
    label: str
    filename: str = ""  # the download's name, for formats that export
    content_type: str = ""

    @property
    def exports(self) -> bool:
        return type(self).export is not ShopFormat.export

    @property
    def imports(self) -> bool:
        return type(self).import_rows is not ShopFormat.import_rows

    def matches(self, header: list[str]) -> bool:
        """Whether a file with this first line is in this format (for imports)."""
        return False

    def export(self, base_url: str, images: list, **options) -> str:
        """The catalog with ``images`` (catalog.published.PublishedImage) at their links under ``base_url``."""
        raise NotImplementedError(f"{self.label} is not an export format.")

    def import_rows(self, rows, *, user=None, fetch_images: bool = True, progress=None) -> ImportReport:
        raise NotImplementedError(f"{self.label} is not an import format.")
