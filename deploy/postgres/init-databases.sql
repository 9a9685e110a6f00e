-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
-- POSTGRES_DB creates core_banking; the agent desk gets its own database next to it.
CREATE DATABASE agent_desk OWNER bank;
