from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("new/", views.product_create, name="product_create"),
    path("feed.csv", views.approved_feed, name="approved_feed"),
    path("search.json", views.product_search, name="product_search"),
    path("shop/", views.shop, name="shop"),
    path("shop/imports/<int:pk>/", views.shop_import, name="shop_import"),
    path("shop/shopify-products.csv", views.shopify_export, name="shopify_export"),
    path("shop/merchant-center.tsv", views.merchant_feed, name="merchant_feed"),
    path("<str:sku>/", views.product_detail, name="product_detail"),
    path("<str:sku>/edit/", views.product_edit, name="product_edit"),
    path("<str:sku>/photos/add/", views.photo_upload, name="photo_upload"),
    path("<str:sku>/photos.json", views.product_photos, name="product_photos"),
    path("<str:sku>/photos/<int:pk>/", views.photo_detail, name="photo_detail"),
    path("<str:sku>/photos/<int:pk>/mask.png", views.photo_mask, name="photo_mask"),
    path("<str:sku>/photos/<int:pk>/mask-hints.png", views.photo_mask_hints, name="photo_mask_hints"),
]
