-- The queue's own table beside procrastinate's: recurring crawls kept in the database, not in crontabs.
CREATE TABLE IF NOT EXISTS xxgk_queue_schedules (
    name text PRIMARY KEY,
    cron text NOT NULL,
    targets jsonb NOT NULL,          -- [{"spider": "zezhou"} | {"portal": "https://www.x.gov.cn/"}, …]
    created_at timestamptz NOT NULL DEFAULT now(),
    last_enqueued_at timestamptz     -- the cron time last enqueued (NULL: never)
);
