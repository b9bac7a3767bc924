"""The batch runner (``client.batches.run``): the JSONL formats, the durable result store, the pacer and the run
loop. Private modules; the public names are re-exported from :mod:`grok_azure`."""
