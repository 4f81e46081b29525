from django.urls import path

from evaluation import campaign_views as views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_new, name="campaign_new"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/grid/", views.campaign_grid, name="campaign_grid"),
    path("<int:pk>/<str:action>/", views.campaign_action, name="campaign_action"),
]
