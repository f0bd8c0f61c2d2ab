"""The upload in the OpenAPI schema: multipart with a binary `file`, 202, and its own 400 codes."""

from django.test import Client


def test_the_avatar_upload_is_documented_as_multipart_with_its_errors():
    schema = Client().get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/me/avatar"]["post"]
    [media_type] = operation["requestBody"]["content"]
    assert media_type == "multipart/form-data"
    reference = operation["requestBody"]["content"][media_type]["schema"]["$ref"]
    body = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert body["properties"]["file"] == {**body["properties"]["file"], "type": "string", "format": "binary"}
    assert body["required"] == ["file"]
    assert "202" in operation["responses"]
    errors = operation["responses"]["400"]["description"]
    assert "`avatar_invalid`" in errors and "`avatar_too_large`" in errors
    assert "`request_too_large`" in operation["responses"]["413"]["description"]
    state = schema["components"]["schemas"]["UserOutput"]["properties"]["avatar_state"]
    choices = [schema["components"]["schemas"][one["$ref"].rsplit("/", 1)[1]]["enum"] for one in state["oneOf"]]
    assert sorted(sum(choices, [])) == ["", "approved", "pending", "rejected", "unchecked"]
