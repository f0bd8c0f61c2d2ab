"""The jobs' outbox: a job's record is written in the same transaction as the data it is about.

Two small apps hold the tables; the logic is in tenants.jobs (outbox.py writes and pushes, relay.py relays):
- `tenants.outbox` (a tenant app): `OutboxJob`, one table in every tenant's database;
- `tenants.outbox.control` (a control app): the platform jobs' outbox and the list of tenants that have
  records waiting, so that the relay visits those tenants only.
"""
