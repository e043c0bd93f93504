DROP INDEX users_id_bytes;
