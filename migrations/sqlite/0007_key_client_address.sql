-- The camera's address as SFTPGo reported it to the auth hook when the key was issued: HTTPFs
-- calls come from SFTPGo's own address, so audit records and notifications of the SFTPGo door
-- use this one instead.
ALTER TABLE httpfs_keys ADD COLUMN client_ip TEXT;
