"""Check-in's endpoints, included under /api/v1/ by api/urls.py (LOCAL_TENANT_APPS)."""

from django.urls import path

from checkin.api import CheckinApi, CheckinMeApi, CheckinReminderApi, CheckinRewardPurchaseApi, CheckinRewardsApi

urlpatterns = [
    path("checkin/checkins", CheckinApi.as_view(), name="checkin-checkins"),
    path("checkin/me", CheckinMeApi.as_view(), name="checkin-me"),
    path("checkin/reminder", CheckinReminderApi.as_view(), name="checkin-reminder"),
    path("checkin/rewards", CheckinRewardsApi.as_view(), name="checkin-rewards"),
    path("checkin/rewards/<slug:code>/purchase", CheckinRewardPurchaseApi.as_view(), name="checkin-reward-purchase"),
]
