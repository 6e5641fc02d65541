from django.urls import URLPattern, URLResolver

app_name = "predictive"
urlpatterns: list[URLPattern | URLResolver] = []
