"""The server's own numbers in Prometheus' text format (``GET /metrics``): requests by status,
a latency histogram and a histogram of the rows each model call ran. Per process."""

from __future__ import annotations

import bisect
import threading
from collections import Counter

__all__ = ["Metrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts):
            running += count
            edge = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{{labels}le="{edge}"}} {running}')
        out.append(f"{name}_sum{{{labels.rstrip(',')}}} {self.total}")
        out.append(f"{name}_count{{{labels.rstrip(',')}}} {self.count}")
        return out


class Metrics:
    """Counters and histograms one server process keeps."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.latency = _Histogram(LATENCY_BUCKETS)
        self.batch_rows = _Histogram(BATCH_BUCKETS)
        self.reloads = 0

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(endpoint, status)] += 1
            if endpoint == "predict":
                self.latency.observe(seconds)

    def batch(self, rows: int) -> None:
        with self._lock:
            self.batch_rows.observe(rows)

    def text(self) -> str:
        model = f'model="{self.model}",'
        with self._lock:
            lines = [
                "# HELP petri_requests_total Requests answered, by endpoint and HTTP status.",
                "# TYPE petri_requests_total counter",
            ]
            for (endpoint, status), count in sorted(self.requests.items()):
                lines.append(
                    f'petri_requests_total{{{model}endpoint="{endpoint}",code="{status}"}} {count}'
                )
            errors = sum(c for (_, status), c in self.requests.items() if status >= 400)
            lines += [
                "# HELP petri_request_errors_total Requests answered with a 4xx or 5xx status.",
                "# TYPE petri_request_errors_total counter",
                f"petri_request_errors_total{{{model.rstrip(',')}}} {errors}",
                "# HELP petri_predict_latency_seconds Time from a predict request to its answer.",
                "# TYPE petri_predict_latency_seconds histogram",
                *self.latency.lines("petri_predict_latency_seconds", model),
                "# HELP petri_batch_rows Rows in each call of the model.",
                "# TYPE petri_batch_rows histogram",
                *self.batch_rows.lines("petri_batch_rows", model),
                "# HELP petri_model_reloads_total Newer exports switched to.",
                "# TYPE petri_model_reloads_total counter",
                f"petri_model_reloads_total{{{model.rstrip(',')}}} {self.reloads}",
            ]
        return "\n".join(lines) + "\n"
