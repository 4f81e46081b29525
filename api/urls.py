from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api import pages, views

app_name = "api"
router = DefaultRouter(trailing_slash=True)
router.register("products", views.ProductViewSet, basename="product")
router.register("photos", views.PhotoViewSet, basename="photo")
router.register("jobs", views.JobViewSet, basename="job")
router.register("exports", views.ExportViewSet, basename="export")
router.register("campaigns", views.CampaignViewSet, basename="campaign")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the Content Security Policy allows no inline script.
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("tokens/", pages.tokens, name="tokens"),
    *router.urls,
]
