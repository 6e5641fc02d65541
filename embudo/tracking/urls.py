from django.urls import URLPattern, URLResolver, path

from embudo.tracking import views

app_name = "tracking"
urlpatterns: list[URLPattern | URLResolver] = [
    path("collect", views.collect, name="collect"),
    path("sites/", views.site_list, name="sites"),
    path("sites/new/", views.site_create, name="site_create"),
    path("sites/<int:site_id>/", views.site_edit, name="site_edit"),
    path("sites/<int:site_id>/rotate/", views.site_rotate, name="site_rotate"),
]
