-- MySQL accounts of the test environment (./dev test runs this as root; it is safe to run again).
-- miniplex_app: the runtime user; reads and writes rows of tenant databases, creates no tables.
-- miniplex_ddl: creates, migrates and drops tenant databases (the provisioning and migration commands).
-- Tenant databases are named mp_<appid> (tests use the prefix mp_test_): the grants cover `mp\_%`.
CREATE USER IF NOT EXISTS 'miniplex_app'@'127.0.0.1' IDENTIFIED BY 'miniplex_app';
CREATE USER IF NOT EXISTS 'miniplex_app'@'localhost' IDENTIFIED BY 'miniplex_app';
CREATE USER IF NOT EXISTS 'miniplex_ddl'@'127.0.0.1' IDENTIFIED BY 'miniplex_ddl';
CREATE USER IF NOT EXISTS 'miniplex_ddl'@'localhost' IDENTIFIED BY 'miniplex_ddl';
GRANT SELECT, INSERT, UPDATE, DELETE ON `mp\_%`.* TO 'miniplex_app'@'127.0.0.1', 'miniplex_app'@'localhost';
GRANT ALL PRIVILEGES ON `mp\_%`.* TO 'miniplex_ddl'@'127.0.0.1', 'miniplex_ddl'@'localhost';
FLUSH PRIVILEGES;
