"""Issue #14: `petri serve` over HTTP on 127.0.0.1, a real server in its own process.

The digits LeNet run (the example config, shortened) is trained with `petri run`, which exports
it; the served predictions are checked against the Estimator's on the whole eval split, under
load from another process, through bad requests, and across a hot reload. A DQN CartPole
agent's exported policy is served too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from _servers import petri_server
from petri.datasets import digits
from petri.serving import Client, ServingError

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LENET = ROOT / "examples" / "configs" / "lenet_digits.yaml"


def petri(*args: object) -> list[str]:
    return [sys.executable, "-m", "petri", *(str(arg) for arg in args)]


def server(*args: object, log: Path) -> contextlib.AbstractContextManager[str]:
    """`petri serve ARGS` on a free port; its URL once /healthz answers. Always stopped."""
    return petri_server(["serve", *args], "/healthz", log)


def post(url: str, body: bytes | dict, path: str = "/v1/models/lenet_digits:predict"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("serve") / "run"
    done = subprocess.run(
        petri("-q", "run", LENET, "--set", "train_steps=500", "--output-dir", run),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return run


@pytest.fixture(scope="module")
def eval_split() -> tuple[np.ndarray, np.ndarray]:
    return digits.load_data()[1]


@pytest.fixture(scope="module")
def estimator_predictions(lenet_run, eval_split) -> dict[str, np.ndarray]:
    """What the run's Estimator predicts for the whole eval split."""
    from petri.data import numpy_input_fn
    from petri.experiments import create_experiment

    experiment = create_experiment(lenet_run / "config.yaml", output_dir=lenet_run)
    predicted = list(experiment.estimator.predict(numpy_input_fn(eval_split[0], batch_size=128)))
    return {key: np.stack([p[key] for p in predicted]) for key in predicted[0]}


@pytest.fixture(scope="module")
def lenet_url(lenet_run, tmp_path_factory) -> Iterator[str]:
    with server(lenet_run, log=tmp_path_factory.mktemp("log") / "serve.log") as url:
        yield url


@pytest.mark.parametrize("runtime", ["torch", "onnxruntime"])
def test_served_predictions_equal_the_estimators(
    runtime, lenet_run, lenet_url, eval_split, estimator_predictions, tmp_path
):
    if runtime == "onnxruntime":
        pytest.importorskip("onnxruntime")
        context = server(lenet_run, "--runtime", runtime, log=tmp_path / "serve.log")
    else:
        context = contextlib.nullcontext(lenet_url)
    with context as url:
        client = Client(url, "lenet_digits")
        x = eval_split[0]
        out = {key: [] for key in estimator_predictions}
        for start in range(0, len(x), 100):  # the whole eval split, in requests of 100 rows
            answer = client(x[start : start + 100])
            for key in out:
                out[key].append(answer[key])
        for key, expected in estimator_predictions.items():
            np.testing.assert_allclose(np.concatenate(out[key]), expected, rtol=0, atol=1e-5)
        # the row format answers the same, one object per row
        status, body = post(url, {"instances": x[:3].tolist()})
        assert status == 200 and len(body["predictions"]) == 3
        assert [row["classes"] for row in body["predictions"]] == list(
            estimator_predictions["classes"][:3]
        )


def test_onnx_runtime_alone_answers_the_estimators_predictions(
    lenet_run, eval_split, estimator_predictions, tmp_path
):
    """The run's export in ONNX Runtime, in a process that imports neither petri nor torch."""
    pytest.importorskip("onnxruntime")
    export = max((lenet_run / "exports" / "latest").iterdir())
    np.save(tmp_path / "x.npy", eval_split[0])
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, onnxruntime
        session = onnxruntime.InferenceSession({str(export / "model.onnx")!r})
        names = [o.name.split("/", 1)[1] for o in session.get_outputs()]
        x = np.load({str(tmp_path / "x.npy")!r})
        outputs = session.run(None, {{"input": x}})
        np.savez({str(tmp_path / "out.npz")!r}, **dict(zip(names, outputs)))
        assert not any(m.split(".")[0] in ("petri", "torch") for m in sys.modules)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    out = np.load(tmp_path / "out.npz")
    for key, expected in estimator_predictions.items():
        np.testing.assert_allclose(out[key], expected, rtol=0, atol=1e-5)


def test_two_server_processes_share_the_port(lenet_run, eval_split, tmp_path):
    with server(lenet_run, "--workers", "2", log=tmp_path / "serve.log") as url:
        client = Client(url, "lenet_digits")
        answers = [client(eval_split[0][:5])["classes"] for _ in range(20)]
    assert all((a == answers[0]).all() for a in answers)


def test_status_metadata_health_and_metrics(lenet_url):
    client = Client(lenet_url, "lenet_digits")
    meta = client.metadata()
    signature = meta["metadata"]["signature_def"]["serving_default"]
    assert signature["inputs"] == {"input": {"dtype": "float32", "shape": [-1, 1, 8, 8]}}
    assert set(signature["outputs"]) == {"classes", "logits", "probabilities"}
    assert client.version() == int(meta["model_spec"]["version"]) > 1_700_000_000
    with urllib.request.urlopen(lenet_url + "/metrics") as response:
        text = response.read().decode()
    assert 'petri_requests_total{model="lenet_digits",endpoint="metadata",code="200"}' in text
    assert "petri_predict_latency_seconds_bucket" in text and "petri_batch_rows_count" in text
    with pytest.raises(ServingError, match="No model 'digits'") as raised:
        Client(lenet_url, "digits").version()
    assert raised.value.status == 404


LOAD = textwrap.dedent(
    """
    import json, sys, threading, urllib.request, numpy as np
    url, clients, per_client = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    x = np.load(sys.argv[4])
    expected = np.load(sys.argv[5])
    errors, wrong, done = [], [], [0]
    lock = threading.Lock()

    def client(number):
        rng = np.random.default_rng(number)
        for _ in range(per_client):
            rows = rng.integers(0, len(x), rng.integers(1, 5))
            body = json.dumps({"inputs": x[rows].tolist()}).encode()
            request = urllib.request.Request(
                url + "/v1/models/lenet_digits:predict", data=body, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    classes = json.loads(response.read())["outputs"]["classes"]
            except Exception as error:
                with lock:
                    errors.append(repr(error))
                continue
            with lock:
                done[0] += 1
                if classes != expected[rows].tolist():
                    wrong.append(rows.tolist())

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"done": done[0], "errors": errors[:5], "n_errors": len(errors),
                      "wrong": len(wrong)}))
    """
)


def test_fifty_clients_five_thousand_requests_no_error(
    lenet_url, eval_split, estimator_predictions, tmp_path
):
    np.save(tmp_path / "x.npy", eval_split[0])
    np.save(tmp_path / "c.npy", estimator_predictions["classes"])
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD,
            lenet_url,
            "50",
            "100",
            tmp_path / "x.npy",
            tmp_path / "c.npy",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"done": 5000, "errors": [], "n_errors": 0, "wrong": 0}
    with urllib.request.urlopen(lenet_url + "/metrics") as response:
        text = response.read().decode()
    calls = int(text.split('petri_batch_rows_count{model="lenet_digits"} ')[1].split()[0])
    assert calls < 5000  # concurrent requests shared model calls


def test_bad_requests_get_a_4xx_that_names_the_problem_while_others_are_served(
    lenet_url, eval_split
):
    x = eval_split[0]
    good = {"inputs": x[:2].tolist()}
    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            statuses.append(post(lenet_url, good)[0])

    worker = threading.Thread(target=keep_asking)
    worker.start()
    row = x[0].tolist()
    bad = [
        (b'{"inputs": [1, 2', 400, "not valid JSON"),
        (
            {"inputs": {"image": [row]}},
            400,
            "unknown inputs ['image'] and missing inputs ['input']",
        ),
        ({"instances": [[1.0, 2.0]]}, 400, "expected shape [-1, 1, 8, 8]"),
        ({"instances": [row, [[0.0]]]}, 400, "the rows are not all of one shape"),
        ({"instances": [[["a"] * 8] * 8]}, 400, "takes float32 numbers; received text"),
        (json.dumps({"inputs": [[[[float("nan")] * 8] * 8]]}).encode(), 400, "NaN or infinity"),
        ({"inputs": np.zeros((5000, 1, 8, 8)).tolist()}, 413, "at most 4096 per request"),
        (b'{"inputs": [' + b"0," * (9 * 2**20) + b"0]}", 413, "at most 16 MB"),
        ({"instances": [row], "signature_name": "embedding"}, 404, "No signature 'embedding'"),
        ({"instances": [row], "inputs": [row]}, 400, 'exactly one of "instances"'),
        ({"rows": [row]}, 400, "Unknown keys ['rows']"),
        ([1, 2], 400, "must be a JSON object"),
        ({"inputs": []}, 400, "expected shape"),
        (b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "nested too deeply"),
    ]
    try:
        for body, status, message in bad:
            got, answer = post(lenet_url, body)
            assert got == status, (message, answer)
            assert message in answer["error"], (message, answer)
        got, answer = post(lenet_url, good, path="/v1/models/lenet_digits:classify")
        assert got == 404 and "Unknown method 'classify'" in answer["error"]
        got, answer = post(lenet_url, good, path="/v2/models/lenet_digits:predict")
        assert got == 404 and "this server answers POST /v1/models/" in answer["error"]
        got, answer = post(lenet_url, good, path="/healthz")  # GET only
        assert got == 405 and "Method Not Allowed: POST /healthz" in answer["error"]
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join()
    assert len(statuses) > 5 and set(statuses) == {200}
    assert post(lenet_url, good)[0] == 200


def test_a_newer_export_is_served_within_two_seconds_without_a_failed_request(
    lenet_run, eval_split, tmp_path
):
    from petri.export import load_exported

    newest = max((lenet_run / "exports" / "latest").iterdir())
    older = (
        subprocess.run(
            petri(
                "export",
                lenet_run,
                "--checkpoint",
                lenet_run / "model.ckpt-250.pt",
                "--to",
                tmp_path / "staging",
            ),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    base = tmp_path / "exports"
    base.mkdir()
    shutil.copytree(older, base / "1000")  # served first
    x = eval_split[0][:20]
    before, after = (load_exported(p)(x)["logits"] for p in (base / "1000", newest))
    assert not np.allclose(before, after)
    failures, versions = [], []
    stop = threading.Event()

    with server(base, "--name", "lenet_digits", log=tmp_path / "serve.log") as url:
        client = Client(url, "lenet_digits")
        assert client.version() == 1000

        def loop() -> None:
            while not stop.is_set():
                try:
                    logits = client(x)["logits"]
                except Exception as error:
                    failures.append(repr(error))
                    continue
                versions.append(0 if np.allclose(logits, before, atol=1e-5) else 1)
                if versions[-1] == 1:
                    np.testing.assert_allclose(logits, after, atol=1e-5)

        worker = threading.Thread(target=loop)
        worker.start()
        try:
            time.sleep(1.0)
            staging = tmp_path / "copying"
            shutil.copytree(newest, staging)
            os.rename(staging, base / "2000")  # appears whole, as export_savedmodel's do
            appeared = time.monotonic()
            while client.version() != 2000:
                assert time.monotonic() - appeared < 2.0, "the newer export was not served"
                time.sleep(0.05)
            switched = time.monotonic() - appeared
            time.sleep(0.5)
        finally:
            stop.set()
            worker.join()
    assert failures == []
    assert versions[0] == 0 and versions[-1] == 1 and versions == sorted(versions)
    assert switched < 2.0


def test_a_dqn_policy_is_served_and_answers_its_greedy_actions(tmp_path):
    from petri.envs import GymEnvironment
    from petri.estimators import Agent
    from petri.rl.memories import Memory

    sys.path.insert(0, str(ROOT / "tests" / "rl"))
    try:
        from _helpers import q_model
    finally:
        sys.path.pop(0)
    agent = Agent(q_model(), Memory(500, 16), model_dir=tmp_path / "dqn", config={"seed": 0})
    agent.train(GymEnvironment("CartPole-v1", seed=0), steps=300, first_update=50)
    export = agent.export_savedmodel(tmp_path / "exports")
    scale = np.array([2.4, 3.0, 0.21, 3.0], np.float32)
    states = np.random.default_rng(0).uniform(-1, 1, (100, 4)).astype(np.float32) * scale
    expected = agent.predict(states)["actions"]
    assert len(set(expected.tolist())) == 2
    with server(export, "--name", "cartpole", log=tmp_path / "serve.log") as url:
        served = [
            post(url, {"instances": [state.tolist()]}, "/v1/models/cartpole:predict")[1]
            for state in states
        ]
    actions = [answer["predictions"][0]["actions"] for answer in served]
    assert actions == expected.tolist()


def test_nothing_to_serve_is_a_petri_error(tmp_path):
    done = subprocess.run(
        petri("serve", tmp_path, "--save-dir", tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "petri: error: Nothing to serve at" in done.stderr and "Traceback" not in done.stderr
