from django.urls import path

from sessions.views import schedule

urlpatterns = [
    path("", schedule.now, name="now"),
]
