from django.urls import path

from generation import views

app_name = "generation"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("new/", views.job_create, name="job_create"),
    path("tokens/", views.prompt_tokens, name="prompt_tokens"),
    path("preview.png", views.job_preview, name="job_preview"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("<int:pk>/rerun/", views.job_rerun, name="job_rerun"),
    path("<int:pk>/compare/", views.rerun_compare, name="rerun_compare"),
    path("<int:pk>/compare/difference.png", views.rerun_diff_map, name="rerun_diff_map"),
    path("<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("<int:pk>/download/", views.job_download, name="job_download"),
    path("<int:pk>/full/", views.job_make_full, name="job_make_full"),
    path("<int:pk>/<str:view>.png", views.job_reference, name="job_reference"),
]
