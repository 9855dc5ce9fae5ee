package migrate

import "strconv"

func strconvItoa(n int64) string { return strconv.FormatInt(n, 10) }

// appSchemaSQL stands for the schema Open WebUI's migrations create on an
// empty PostgreSQL (json, boolean, date, timestamp, serial ids), with an
// alembic_version row of its own.
const appSchemaSQL = `
CREATE TABLE "user" (id varchar PRIMARY KEY, name varchar, email varchar, role varchar, profile_image_url text,
  last_active_at bigint, updated_at bigint, created_at bigint, api_key varchar UNIQUE, settings json, info json,
  oauth_sub text UNIQUE, date_of_birth date);
CREATE TABLE auth (id varchar PRIMARY KEY, email varchar, password text, active boolean);
CREATE TABLE folder (id text, parent_id text, user_id text, name text NOT NULL, items json, meta json,
  is_expanded boolean NOT NULL DEFAULT false, created_at bigint NOT NULL, updated_at bigint NOT NULL, PRIMARY KEY (id, user_id));
CREATE TABLE tag (id varchar, name varchar, user_id varchar, meta json, PRIMARY KEY (id, user_id));
CREATE TABLE chat (id varchar PRIMARY KEY, user_id varchar, title text, chat json, created_at bigint, updated_at bigint,
  share_id text UNIQUE, archived boolean, pinned boolean DEFAULT false, meta json DEFAULT '{}' NOT NULL, folder_id text);
CREATE TABLE chatidtag (id varchar PRIMARY KEY, tag_name varchar, chat_id varchar, user_id varchar, timestamp bigint);
CREATE TABLE chat_message (id text PRIMARY KEY, chat_id text NOT NULL REFERENCES chat (id) ON DELETE CASCADE,
  user_id text, role text, content text, done boolean, created_at bigint, updated_at bigint);
CREATE TABLE file (id varchar PRIMARY KEY, user_id varchar, hash text, filename text, path text, data json, meta json,
  access_control json, created_at bigint, updated_at bigint);
CREATE TABLE knowledge (id text PRIMARY KEY, user_id text NOT NULL, name text NOT NULL, description text, data json,
  meta json, access_control json, created_at bigint NOT NULL, updated_at bigint);
CREATE TABLE knowledge_file (id text PRIMARY KEY, knowledge_id text NOT NULL REFERENCES knowledge (id) ON DELETE CASCADE,
  file_id text NOT NULL REFERENCES file (id) ON DELETE CASCADE, user_id text NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL);
CREATE TABLE message (id text PRIMARY KEY, user_id text, channel_id text, parent_id text, content text, data json, meta json,
  is_pinned boolean NOT NULL DEFAULT false, created_at bigint, updated_at bigint);
CREATE TABLE access_grant (id serial PRIMARY KEY, resource_id text NOT NULL, resource_type text NOT NULL,
  principal_id text NOT NULL, permission text NOT NULL, created_at bigint);
CREATE TABLE config (id serial PRIMARY KEY, data json NOT NULL, version integer NOT NULL,
  created_at timestamp DEFAULT now() NOT NULL, updated_at timestamp DEFAULT now());
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('standin_0_0_0');
`
