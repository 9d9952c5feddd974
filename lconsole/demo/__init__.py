"""`lconsole demo`: traffic over the demo and sample functions, so the console has life to show.

It speaks only through the `Backend` interface (never the engine): `stage` deploys what it needs,
`plan` decides what to send (pure, seeded), `traffic` sends it with bounded concurrency and
`tally` counts what came back.
"""
