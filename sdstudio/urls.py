from django.contrib import admin
from django.contrib.admin.views.decorators import user_passes_test
from django.urls import include, path, re_path

from sdstudio import media, views

# The RQ dashboard can requeue and delete jobs: superusers only, not every staff member.
superuser_required = user_passes_test(lambda u: u.is_active and u.is_superuser, login_url="admin:login")

admin.site.site_header = "SD Studio administration"
admin.site.site_title = "SD Studio"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("catalog/", include("catalog.urls")),
    path("jobs/", include("generation.urls")),
    path("experiments/", include("generation.experiment_urls")),
    path("review/", include("evaluation.urls")),
    re_path(r"^media/(?P<path>.+)$", media.serve_media, name="media"),
]


def _guard_rq_urls():
    import django_rq.urls

    patterns = []
    for pattern in django_rq.urls.urlpatterns:
        if hasattr(pattern, "callback") and pattern.callback is not None:
            pattern.callback = superuser_required(pattern.callback)
        patterns.append(pattern)
    return patterns


urlpatterns.append(path("django-rq/", include((_guard_rq_urls(), "django_rq"), namespace=None)))
