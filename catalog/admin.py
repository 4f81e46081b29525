from django.contrib import admin
from django.utils.translation import gettext_lazy
from django.utils.html import format_html

from catalog.models import Product, ProductPhoto


def thumb(fieldfile) -> str:
    if not fieldfile:
        return "–"
    return format_html('<img src="{}" alt="" style="max-height:64px;max-width:64px">', fieldfile.url)


class ProductPhotoInline(admin.TabularInline):
    model = ProductPhoto
    extra = 0
    fields = ["preview", "width", "height", "original_name", "sha256", "created_at"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description=gettext_lazy("Photo"))
    def preview(self, obj):
        return thumb(obj.thumbnail)

    def has_add_permission(self, request, obj=None):
        # Photos enter through the safe intake (the product page's upload), never a raw admin file field.
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "category", "created_at"]
    list_filter = ["category"]
    search_fields = ["sku", "name", "description"]
    inlines = [ProductPhotoInline]


@admin.register(ProductPhoto)
class ProductPhotoAdmin(admin.ModelAdmin):
    list_display = ["id", "preview", "product", "width", "height", "original_format", "created_at"]
    list_select_related = ["product"]
    search_fields = ["product__sku", "original_name", "sha256"]
    readonly_fields = ["product", "image", "thumbnail", "width", "height", "sha256", "original_name", "original_format", "uploaded_by"]

    @admin.display(description=gettext_lazy("Photo"))
    def preview(self, obj):
        return thumb(obj.thumbnail)

    def has_add_permission(self, request):
        return False
