"""The OpenAI-compatible planner against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import socket

import pytest
from PIL import Image

from brushnet_core.planner.backend import (
    PlannerAuthError, PlannerHTTPError, PlannerModelNotFound, PlannerTimeout, PlannerUnreachable,
)
from brushnet_core.planner.http_backend import HTTPPlanner, HTTPPlannerConfig, chat_url, check_env_name
from brushnet_core.planner.plan import PlanParseError
from fake_openai import Reply, completion

REMOVE = '{"category": "remove", "object": "dog", "target_caption": "an empty lawn", "box": null}'
ADD = '{"category": "addition", "object": "hat", "target_caption": "a cat wearing a hat", "box": [%s]}'


def _planner(server, **kw) -> HTTPPlanner:
    cfg = dict(base_url=server.base_url, model="fake-vl", timeout_s=5.0, retries=2, backoff_s=0.01)
    cfg.update(kw)
    return HTTPPlanner(HTTPPlannerConfig(**cfg))


def _img(w=320, h=240) -> Image.Image:
    return Image.new("RGB", (w, h), (120, 160, 90))


def test_canned_answer_becomes_a_plan(openai_server):
    openai_server.script = [Reply(200, completion(REMOVE))]
    plan = _planner(openai_server).plan(_img(), "remove the dog")
    assert (plan.category, plan.object_phrase, plan.target_caption) == ("remove", "dog", "an empty lawn")
    assert plan.raw_answer == REMOVE


def test_request_is_openai_shaped_with_image_data_url(openai_server):
    openai_server.script = [Reply(200, completion(REMOVE))]
    _planner(openai_server).plan(_img(), "remove the dog")
    req = openai_server.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"]["model"] == "fake-vl"
    system, user = req["body"]["messages"]
    assert system["role"] == "system" and isinstance(system["content"], str)
    parts = {p["type"]: p for p in user["content"]}
    assert "remove the dog" in parts["text"]["text"]
    assert parts["image_url"]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_text_only_call_sends_plain_string_content(openai_server):
    openai_server.script = [Reply(200, completion("ok"))]
    assert _planner(openai_server).chat([("user", "hello")], None) == "ok"
    assert openai_server.requests[0]["body"]["messages"][1]["content"] == "hello"


def test_large_image_is_downscaled_and_box_scaled_back(openai_server):
    # sent at 1024x512; the model answers in pixels of what it saw
    openai_server.script = [Reply(200, completion(ADD % "512, 0, 1024, 256"))]
    plan = _planner(openai_server).plan(_img(2048, 1024), "add a hat")
    assert plan.box == (1024, 0, 2048, 512)
    assert "1024x512" in openai_server.requests[0]["body"]["messages"][1]["content"][0]["text"]


def test_norm1000_convention_is_applied(openai_server):
    openai_server.script = [Reply(200, completion(ADD % "0, 500, 500, 1000"))]
    plan = _planner(openai_server, box_convention="norm1000").plan(_img(320, 240), "add a hat")
    assert plan.box == (0, 120, 160, 240)


def test_malformed_answer_gets_one_repair_round(openai_server):
    openai_server.script = [Reply(200, completion("The dog should go. Category: remove")),
                            Reply(200, completion("```json\n" + REMOVE + "\n```"))]
    plan = _planner(openai_server).plan(_img(), "remove the dog")
    assert plan.object_phrase == "dog"
    repair = openai_server.requests[1]["body"]["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert "could not be used" in repair[3]["content"]


def test_still_malformed_after_repair_quotes_both_answers(openai_server):
    openai_server.script = [Reply(200, completion("no idea")),
                            Reply(200, completion('{"category": "paint", "object": "x"}'))]
    with pytest.raises(PlanParseError, match=r"no idea.*paint.*override inputs"):
        _planner(openai_server).plan(_img(), "do something")
    assert len(openai_server.requests) == 2


def test_http_401_is_a_key_error_naming_the_variable(openai_server, monkeypatch):
    monkeypatch.setenv("BRUSHEDIT_TEST_KEY", "sk-wrong")
    openai_server.script = [Reply(401, {"error": {"message": "Incorrect API key provided"}})]
    with pytest.raises(PlannerAuthError, match="HTTP 401.*BRUSHEDIT_TEST_KEY"):
        _planner(openai_server, api_key_env="BRUSHEDIT_TEST_KEY").plan(_img(), "remove the dog")
    assert len(openai_server.requests) == 1  # never retried


def test_http_403_is_a_key_error(openai_server):
    openai_server.script = [Reply(403, {"error": {"message": "forbidden"}})]
    with pytest.raises(PlannerAuthError, match="HTTP 403"):
        _planner(openai_server).plan(_img(), "remove the dog")


def test_http_404_with_model_message_is_model_not_found(openai_server):
    openai_server.script = [Reply(404, {"error": {"message": "model 'fake-vl' not found, try pulling it first"}})]
    with pytest.raises(PlannerModelNotFound, match="model 'fake-vl' was not found"):
        _planner(openai_server).plan(_img(), "remove the dog")


def test_http_404_without_model_message_points_at_base_url(openai_server):
    openai_server.script = [Reply(404, "Not Found")]
    with pytest.raises(PlannerModelNotFound, match="should end in '/v1'"):
        _planner(openai_server).plan(_img(), "remove the dog")


def test_http_500_is_retried_then_succeeds(openai_server):
    openai_server.script = [Reply(500, "boom"), Reply(503, "busy"), Reply(200, completion(REMOVE))]
    assert _planner(openai_server).plan(_img(), "remove the dog").category == "remove"
    assert len(openai_server.requests) == 3


def test_http_500_every_time_is_reported_after_retries(openai_server):
    openai_server.script = [Reply(500, "boom")] * 3
    with pytest.raises(PlannerHTTPError, match="HTTP 500: boom"):
        _planner(openai_server).plan(_img(), "remove the dog")
    assert len(openai_server.requests) == 3


def test_slow_server_times_out_with_a_clear_message(openai_server):
    openai_server.script = [Reply(200, completion(REMOVE), delay=1.0)] * 2
    with pytest.raises(PlannerTimeout, match=r"within 0.2s \(2 tries\)"):
        _planner(openai_server, timeout_s=0.2, retries=1).plan(_img(), "remove the dog")


def test_unreachable_endpoint_is_reported():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now
    cfg = HTTPPlannerConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", retries=0)
    with pytest.raises(PlannerUnreachable, match="cannot reach the planner endpoint"):
        HTTPPlanner(cfg).plan(_img(), "remove the dog")


def test_non_json_reply_is_reported(openai_server):
    openai_server.script = [Reply(200, "<html>hello</html>")]
    with pytest.raises(PlannerHTTPError, match="not JSON"):
        _planner(openai_server).plan(_img(), "remove the dog")


def test_reply_without_choices_is_reported(openai_server):
    openai_server.script = [Reply(200, {"object": "list", "data": []})]
    with pytest.raises(PlannerHTTPError, match="no choices"):
        _planner(openai_server).plan(_img(), "remove the dog")


def test_redirect_is_refused_not_followed(openai_server):
    openai_server.script = [Reply(302, "", headers=(("Location", "http://example.invalid/steal"),))]
    with pytest.raises(PlannerHTTPError, match="HTTP 302"):
        _planner(openai_server).plan(_img(), "remove the dog")
    assert len(openai_server.requests) == 1


def test_chat_url_normalisation_and_scheme_check():
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/chat/completions") == "http://h:1/v1/chat/completions"
    with pytest.raises(ValueError, match="not an http"):
        chat_url("file:///etc/passwd")


def test_key_typed_into_env_name_is_refused_without_echo():
    with pytest.raises(ValueError, match="NAME of an environment variable") as info:
        check_env_name("sk-proj-abc123/xyz")
    assert "sk-proj-abc123" not in str(info.value)


# ------------------------------------------------------------------------- JSON schema (response_format)

def test_request_asks_for_json_with_the_plan_schema(openai_server):
    openai_server.script = [Reply(200, completion(REMOVE))]
    planner = _planner(openai_server)
    planner.plan(_img(), "remove the dog")
    fmt = openai_server.requests[0]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["properties"]["category"]["enum"] == ["addition", "remove", "local", "global", "background",
                                                       "unknown"]
    assert set(schema["required"]) == {"category", "object", "target_caption", "box", "confidence"}
    assert planner.schema_supported is True


@pytest.mark.parametrize("status, body", [
    (400, {"error": {"message": "Unrecognized request argument supplied: response_format"}}),
    (422, {"detail": [{"loc": ["body", "response_format"], "msg": "extra fields not permitted"}]}),
    (400, {"error": {"message": "json_schema is not supported by this backend"}}),
    (500, {"error": {"message": "failed to compile grammar from schema"}}),
])
def test_server_refusing_response_format_is_asked_again_without_it(openai_server, status, body):
    retries = 2 if status >= 500 else 0  # a 5xx is retried first, as any server error
    openai_server.script = [Reply(status, body)] * (retries + 1) + [Reply(200, completion("Sure:\n" + REMOVE)),
                                                                     Reply(200, completion(REMOVE))]
    planner = _planner(openai_server)
    plan = planner.plan(_img(), "remove the dog")
    assert (plan.category, plan.object_phrase) == ("remove", "dog")  # the tolerant parser read the chatty answer
    bodies = [r["body"] for r in openai_server.requests]
    assert all("response_format" in b for b in bodies[:retries + 1])
    assert "response_format" not in bodies[retries + 1]
    assert planner.schema_supported is False
    planner.plan(_img(), "remove the dog")  # later calls do not try the schema again
    assert "response_format" not in openai_server.requests[-1]["body"]
    assert len(openai_server.requests) == retries + 3


def test_other_errors_are_not_mistaken_for_a_schema_refusal(openai_server):
    openai_server.script = [Reply(401, {"error": {"message": "bad key"}})]
    with pytest.raises(PlannerAuthError):
        _planner(openai_server).plan(_img(), "remove the dog")
    openai_server.script = [Reply(404, {"error": {"message": "model 'fake-vl' not found"}})]
    with pytest.raises(PlannerModelNotFound):
        _planner(openai_server).plan(_img(), "remove the dog")
    assert len(openai_server.requests) == 2


def test_structured_output_off_sends_no_response_format(openai_server):
    openai_server.script = [Reply(200, completion(REMOVE))]
    _planner(openai_server, structured_output="off").plan(_img(), "remove the dog")
    assert "response_format" not in openai_server.requests[0]["body"]


def test_model_confidence_and_unknown_answers_are_kept(openai_server):
    answer = '{"category": "unknown", "object": "", "target_caption": "", "box": null, "confidence": 0.1}'
    openai_server.script = [Reply(200, completion(answer))]
    plan = _planner(openai_server).plan(_img(), "what is this")
    assert plan.category == "unknown" and plan.confidence == 0.1 and "unknown" in plan.reason
