"""A client for ``petri serve`` (and TensorFlow Serving's REST API): numpy in, numpy out."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import numpy as np

from petri.errors import PetriError

__all__ = ["Client", "ServingError"]


class ServingError(PetriError):
    """The server answered with an error: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class Client:
    """``Client("http://127.0.0.1:8501", "digits")(x)``: the model's outputs for a batch.

    Args:
        url: the server's address.
        name: the served model's name (``petri serve --name``).
        timeout: seconds to wait for an answer.
    """

    def __init__(self, url: str, name: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.timeout = timeout

    def __call__(
        self, inputs: Mapping[str, Any] | Any, signature: str | None = None
    ) -> np.ndarray | dict[str, np.ndarray]:
        """Outputs for ``inputs`` (an array, or ``{input: array}``): an array when the
        signature has one output, else ``{output: array}``."""
        columns = (
            {key: np.asarray(value).tolist() for key, value in inputs.items()}
            if isinstance(inputs, Mapping)
            else np.asarray(inputs).tolist()
        )
        body: dict[str, Any] = {"inputs": columns}
        if signature is not None:
            body["signature_name"] = signature
        outputs = self._send("POST", f"/v1/models/{self.name}:predict", body)["outputs"]
        if isinstance(outputs, dict):
            return {key: np.asarray(value) for key, value in outputs.items()}
        return np.asarray(outputs)

    def metadata(self) -> dict[str, Any]:
        """The served signatures: input and output names, dtypes and shapes."""
        return self._send("GET", f"/v1/models/{self.name}/metadata")

    def version(self) -> int:
        """The version (export timestamp) being served."""
        status = self._send("GET", f"/v1/models/{self.name}")
        return int(status["model_version_status"][0]["version"])

    def _send(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                message = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                message = text
            raise ServingError(error.code, message) from None
