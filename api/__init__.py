"""api: the callscope service (FastAPI under /api/v1, OpenAPI at /docs) and its job workers.

- app.py builds the app (routes/ are thin; the logic is in services/), deps.py resolves who asks
  (Bearer token or the `callscope_token` cookie) and hands out DB sessions, uploads.py streams and
  probes recordings, queue.py + worker.py are the durable job queue, demo.py seeds `serve --demo`.
- Roles: admin (everything), manager (their team's reps, calls and evaluations; overrides and
  comments), rep (their own calls and evaluation), integration (the CRM: uploads, creates reps by
  email and deals by CRM id, reads calls and insights). Outside a token's scope a call, rep or deal
  reads as 404; an action the role may not take is 403.
"""
