"""Run a JSONL batch with client.batches.run: paced to the quota, resumable, one result line per request.

Writes 50 requests in the OpenAI / Azure batch input format, runs them (progress printed as lines finish), then
runs again with the same output to show that a finished batch is skipped, not sent twice. Stop it with Ctrl-C
and run it again: it resumes where it stopped. Against your resource when GROK_AZURE_ENDPOINT is set (with
GROK_AZURE_DEPLOYMENT), otherwise the emulator.

    python examples/batch_run.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from grok_azure import BatchProgress, BatchResult
from grok_azure.testing import foundry_target

REQUESTS = 50


def write_input(path: Path, deployment: str) -> None:
    with path.open("w") as file:
        for n in range(REQUESTS):
            line = {
                "custom_id": f"ticket-{n}",
                "method": "POST",
                "url": "/chat/completions",
                "body": {
                    "model": deployment,
                    "messages": [{"role": "user", "content": f"Classify ticket {n}: 'my invoice is wrong'"}],
                    "max_tokens": 20,
                },
            }
            file.write(json.dumps(line) + "\n")


class Show:
    """Prints a progress line every 10 finished requests (on_progress is called after every one)."""

    def __init__(self) -> None:
        self.next = 10

    def __call__(self, progress: BatchProgress) -> None:
        finished = progress.done + progress.failed
        if finished >= self.next:
            self.next = finished - finished % 10 + 10
            print(
                f"progress: {finished}/{progress.total}, {progress.rate:.0f}/s, {progress.in_flight} in flight"
            )


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="grok-batch-"))
    source, output = folder / "input.jsonl", folder / "output.jsonl"
    with foundry_target() as target, target.client() as client:
        write_input(source, target.deployment)
        summary = client.batches.run(source, output, concurrency=8, on_progress=Show())
        print(
            f"done: {summary.done}, failed: {summary.failed}, tokens in/out: {summary.prompt_tokens}/"
            f"{summary.completion_tokens}, cost: {'unknown' if summary.cost is None else f'${summary.cost:.6f}'}"
        )
        again = client.batches.run(source, output)  # a rerun skips every id already in the output
        print(f"rerun: {again.skipped_already_done} already done, nothing sent")
    first = BatchResult.from_line(output.read_text().splitlines()[0])
    assert first.response is not None
    print(f"{first.custom_id}: {first.response['body']['choices'][0]['message']['content']}")


if __name__ == "__main__":
    main()
