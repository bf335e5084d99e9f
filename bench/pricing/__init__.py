"""`python -m bench.pricing`: the valuation model's held-out evaluation and its speed.

- `python -m bench.pricing [evaluate]` prints the evaluation table (issue 14): the latest
  sales held out and predicted from the earlier ones, by the code CI checks
  (`bidserver.pricing.evaluation`), on the demo's generated sales history or, with
  `--database-url`, on a database's own sales record.
- `python -m bench.pricing speed` measures a valuation for a make/model with 10,000 sales,
  cached and computed, and the event loop's lag while it computes, each against a
  baseline measured in the same run.
- `python -m bench.pricing trigger` measures what the sales trigger costs a row update.
"""
