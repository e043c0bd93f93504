-- Users in byte order (docs/http.md §6.11): who-can and previews page
-- through users by id compared as bytes, whatever the database's collation.
CREATE INDEX users_id_bytes ON users (id COLLATE BINARY);
