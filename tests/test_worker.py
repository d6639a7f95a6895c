"""Pieces of the sandbox's wall, in process: the worker's output cap and error reports,
the channel's framing and deadlines, handles, and the worker answering requests (with
a stand-in for the grader on the other end of its channel)."""

import os
import struct
import sys
import time

import pytest

from autograder.sandbox import protocol as wire
from autograder.sandbox import worker
from autograder.sandbox.worker import CappedWriter, Worker, describe_exception, grader_error


def test_printed_output_is_capped_with_a_note():
    out = CappedWriter()
    out.write("a" * (worker.OUTPUT_CAP - 1))
    out.write("bcd")
    assert out.text() == "a" * (worker.OUTPUT_CAP - 1) + "b\n[... 2 more characters of output were cut]"
    quiet = CappedWriter()
    quiet.write("hi\n")
    assert quiet.text() == "hi\n"


def test_exceptions_are_described_as_plain_data():
    assert describe_exception(SystemExit(3)) == {
        "types": ["SystemExit"], "message": "called sys.exit(3)", "traceback": ""}
    try:
        wire.decode({"$": "pickle"}, None)
    except wire.ProtocolError as exc:
        info = describe_exception(exc)
    assert info["types"] == ["ProtocolError", "Exception", "BaseException", "object"]
    assert info["message"] == "unknown tag 'pickle'"
    assert "in test_exceptions_are_described_as_plain_data" in info["traceback"]
    assert "protocol.py" not in info["traceback"]  # the toolkit's own frames are left out

    class Rude(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert describe_exception(Rude())["message"] == "(the exception's message could not be shown)"


def test_a_refusal_keeps_a_builtin_type_and_says_where_it_came_from():
    error = grader_error({"types": ["ValueError"], "message": "p must be in [0, 1]"})
    assert type(error) is ValueError and str(error) == "(from the grader) p must be in [0, 1]"
    assert str(grader_error({"types": ["ValueError"], "message": "(from the grader) x"})) == \
        "(from the grader) x"
    assert type(grader_error({"types": ["SystemExit"]})) is worker.GraderError  # never an exit
    assert type(grader_error({"types": ["EvilError"]})) is worker.GraderError
    assert type(grader_error("garbage")) is worker.GraderError


@pytest.fixture
def pipe():
    """A channel whose writes come back to its own reads."""
    read_fd, write_fd = os.pipe()
    yield wire.Channel(read_fd, write_fd)
    for fd in (read_fd, write_fd):
        os.close(fd)


def test_the_channel_carries_framed_messages(pipe):
    pipe.send(wire.request(wire.CALL, target="m.f", args=wire.encode([1.5], None)))
    pipe.send(wire.reply(3))
    assert pipe.receive() == {"op": "call", "target": "m.f", "args": {"$": "list", "items": [1.5]}}
    assert pipe.receive(time.monotonic() + 5) == {"op": "reply", "ok": 3}


def test_the_channel_refuses_bad_frames_before_or_after_reading(pipe):
    os.write(pipe.write_fd, struct.pack(">I", wire.MAX_FRAME + 1))
    with pytest.raises(wire.FrameTooLarge):
        pipe.receive()
    for body in (b"not json", b"[1, 2]", b'{"no": "op"}'):
        os.write(pipe.write_fd, struct.pack(">I", len(body)) + body)
        with pytest.raises(wire.ProtocolError):
            pipe.receive()
    with pytest.raises(wire.FrameTooLarge):
        wire.dump({"op": "reply", "ok": "x" * (wire.MAX_FRAME + 1)})


def test_the_channel_gives_up_at_the_deadline_or_when_the_peer_is_gone(pipe):
    start = time.monotonic()
    with pytest.raises(wire.ChannelTimeout):
        pipe.receive(time.monotonic() + 0.2)
    assert time.monotonic() - start < 5
    os.write(pipe.write_fd, struct.pack(">I", 10) + b"{")  # half a message, then silence
    with pytest.raises(EOFError):
        pipe.receive(time.monotonic() + 60, alive=lambda: False)


def test_handles_die_when_released_and_proxies_ask():
    registry = wire.Registry("grader")
    box = object()
    data = registry.register(box)
    assert data == {"$": "handle", "home": "grader", "id": 1, "type": "object"}
    assert registry.get(data) is box
    registry.release([1])
    with pytest.raises(LookupError, match="no longer exists"):
        registry.get(data)
    asked = []

    def ask(message, args, kwargs):
        asked.append((message["op"], message.get("name"), args))
        return wire.METHOD_MARK if message.get("name") == "step" else 0.5

    proxy = wire.Proxy(ask, data)
    assert proxy.lr == 0.5
    proxy.step(1.0)
    proxy.step(2.0)  # known to be a method: no second look-up
    proxy.lr = 0.1
    with pytest.raises(AttributeError):
        proxy.__wrapped__  # noqa: B018 - a dunder never crosses
    assert asked == [("getattr", "lr", ()), ("getattr", "step", ()), ("method", "step", (1.0,)),
                     ("method", "step", (2.0,)), ("setattr", "lr", (0.1,))]


STUDENT = '''
import wtest_b

print("imported wtest_a")


def double(x):
    print("doubling", x)
    return helper(x) * 2


def helper(x):
    return x + 0


def uses_b(x):
    return wtest_b.square(x) + 1


def leaves():
    raise SystemExit(4)
'''


class FakeGrader:
    """The grader's end of a worker's channel: records requests, answers with ``answer``."""

    def __init__(self, answer):
        self.sent, self.answer = [], answer

    def send(self, message):
        self.sent.append(message)

    def receive(self):
        return wire.reply(wire.encode(self.answer, None))


@pytest.fixture
def student(tmp_path):
    """A worker in student mode on two small files, answering in this process."""
    (tmp_path / "wtest_a.py").write_text(STUDENT)
    (tmp_path / "wtest_b.py").write_text("def square(x):\n    return x * x + 1000\n")
    serving = Worker(FakeGrader(100), None)
    saved = dict(sys.modules)
    contract = {"wtest_a": ["double", "helper", "uses_b", "leaves"], "wtest_b": ["square"]}
    files = {m: str(tmp_path / f"{m}.py") for m in contract}
    assert serving.handle(wire.request(wire.INIT, files=files, contract=contract,
                                       mode="student")) == wire.reply()
    assert serving.handle(wire.request(wire.LOAD, module="wtest_a"))["error"]["message"] == \
        "the zygote runs no code of the submission"
    serving.zygote = False  # as its forked child, which imports the files
    yield serving
    for name in set(sys.modules) - set(saved):
        del sys.modules[name]
    sys.modules.update(saved)


def call(serving, target, *args, own=False):
    message = wire.request(wire.CALL, target=target, args=wire.encode(list(args), None),
                           kwargs=wire.encode({}, None))
    if own:
        message["own"] = True
    return serving.handle(message)


def test_the_worker_answers_with_the_value_and_what_was_printed(student):
    answer = call(student, "wtest_a.double", 3)
    # helper is another contract name: inside the graded call, the grader's (which answered 100)
    assert answer["ok"] == 200
    assert answer["out"] == "imported wtest_a\ndoubling 3\n"
    assert student.channel.sent[0]["op"] == "call" and student.channel.sent[0]["target"] == \
        "wtest_a.helper"


def test_other_files_are_the_graders_and_own_code_is_the_students(student):
    assert call(student, "wtest_a.uses_b", 3)["ok"] == 101
    assert [m["target"] for m in student.channel.sent] == ["wtest_b.square"]
    assert call(student, "wtest_a.uses_b", 3, own=True)["ok"] == 1010  # the student's square
    assert call(student, "wtest_a.double", 3, own=True)["ok"] == 6
    assert len(student.channel.sent) == 1


def test_sys_exit_in_student_code_is_an_answer(student):
    answer = call(student, "wtest_a.leaves")
    assert answer["error"]["types"] == ["SystemExit"]
    assert answer["error"]["message"] == "called sys.exit(4)"


def test_a_missing_file_or_name_is_reported(student):
    student.files.pop("wtest_b")
    assert call(student, "wtest_b.square", 2)["error"]["message"] == "wtest_b.py was not submitted"
    assert call(student, "wtest_a.triple", 2)["error"]["types"][0] == "AttributeError"
