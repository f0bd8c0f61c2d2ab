"""The OpenAPI schema documents check-in's operations, their answers and their own errors."""

from django.test import Client

# method path -> (success status, properties of the answer, error statuses of the work itself)
OPERATIONS = {
    ("post", "/api/v1/checkin/checkins"): ("201", {"day", "points", "member"}, {"409"}),
    ("get", "/api/v1/checkin/me"): ("200", {"today", "checked_in_today", "member"}, set()),
    ("post", "/api/v1/checkin/reminder"): ("200", {"points", "checkins", "reminder_wanted"}, set()),
    ("get", "/api/v1/checkin/rewards"): ("200", {"rewards"}, set()),
    ("post", "/api/v1/checkin/rewards/{code}/purchase"): (
        "201",
        {"order_id", "amount", "description", "prepay_url"},
        {"404"},
    ),
}


def test_every_checkin_operation_is_documented_with_its_answer_and_errors():
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    documented = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert {entry for entry in documented if entry[1].startswith("/api/v1/checkin/")} == set(OPERATIONS)
    for (method, path), (success, properties, errors) in OPERATIONS.items():
        responses = schema["paths"][path][method]["responses"]
        assert [status for status in responses if status.startswith("2")] == [success], path
        reference = responses[success]["content"]["application/json"]["schema"]["$ref"]
        assert properties <= set(schema["components"]["schemas"][reference.rpartition("/")[2]]["properties"]), path
        # Every tenant operation answers 400/401/403/404/429/503 (X-AppID, token, throttles); these are its own.
        assert errors | {"401", "429", "503"} <= set(responses), path
    checkins = schema["paths"]["/api/v1/checkin/checkins"]["post"]["responses"]
    assert "`already_checked_in`" in checkins["409"]["description"]
    purchase = schema["paths"]["/api/v1/checkin/rewards/{code}/purchase"]["post"]["responses"]
    assert "`reward_not_found`" in purchase["404"]["description"]
