package main

// pgSchema is the stand-in's PostgreSQL schema, shaped like the one Open
// WebUI's own migrations create on an empty PostgreSQL: the same tables and
// columns as sqliteSchema, but with json where upstream declares JSON
// columns, boolean for the 0/1 columns, bigint epochs, date and timestamp.
// "user" and "group" are reserved words: always quoted.
var pgSchema = []string{
	`CREATE TABLE IF NOT EXISTS "user" (
		id VARCHAR NOT NULL PRIMARY KEY,
		name VARCHAR,
		email VARCHAR,
		role VARCHAR,
		profile_image_url TEXT,
		last_active_at BIGINT,
		updated_at BIGINT,
		created_at BIGINT,
		api_key VARCHAR UNIQUE,
		settings JSON,
		info JSON,
		oauth_sub TEXT UNIQUE,
		date_of_birth DATE
	)`,
	`CREATE TABLE IF NOT EXISTS auth (
		id VARCHAR NOT NULL PRIMARY KEY,
		email VARCHAR,
		password TEXT,
		active BOOLEAN
	)`,
	`CREATE TABLE IF NOT EXISTS chat (
		id VARCHAR NOT NULL PRIMARY KEY,
		user_id VARCHAR,
		title TEXT,
		chat JSON,
		created_at BIGINT,
		updated_at BIGINT,
		share_id TEXT UNIQUE,
		archived BOOLEAN,
		pinned BOOLEAN DEFAULT false,
		meta JSON DEFAULT '{}' NOT NULL,
		folder_id TEXT
	)`,
	`CREATE INDEX IF NOT EXISTS idx_chat_user_id ON chat (user_id)`,
	`CREATE TABLE IF NOT EXISTS chat_message (
		id TEXT NOT NULL PRIMARY KEY,
		chat_id TEXT NOT NULL REFERENCES chat (id) ON DELETE CASCADE,
		user_id TEXT,
		role TEXT,
		content TEXT,
		done BOOLEAN,
		created_at BIGINT,
		updated_at BIGINT
	)`,
	`CREATE INDEX IF NOT EXISTS idx_chat_message_chat_id ON chat_message (chat_id)`,
	`CREATE TABLE IF NOT EXISTS tag (
		id VARCHAR NOT NULL,
		name VARCHAR,
		user_id VARCHAR NOT NULL,
		meta JSON,
		PRIMARY KEY (id, user_id)
	)`,
	`CREATE TABLE IF NOT EXISTS folder (
		id TEXT NOT NULL,
		parent_id TEXT,
		user_id TEXT NOT NULL,
		name TEXT NOT NULL,
		items JSON,
		meta JSON,
		is_expanded BOOLEAN NOT NULL DEFAULT false,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (id, user_id)
	)`,
	`CREATE TABLE IF NOT EXISTS file (
		id VARCHAR NOT NULL PRIMARY KEY,
		user_id VARCHAR,
		hash TEXT,
		filename TEXT,
		path TEXT,
		data JSON,
		meta JSON,
		access_control JSON,
		created_at BIGINT,
		updated_at BIGINT
	)`,
	`CREATE TABLE IF NOT EXISTS message (
		id TEXT NOT NULL PRIMARY KEY,
		user_id TEXT,
		channel_id TEXT,
		parent_id TEXT,
		content TEXT,
		data JSON,
		meta JSON,
		is_pinned BOOLEAN NOT NULL DEFAULT false,
		created_at BIGINT,
		updated_at BIGINT
	)`,
	`CREATE TABLE IF NOT EXISTS config (
		id SERIAL PRIMARY KEY,
		data JSON NOT NULL,
		version INTEGER NOT NULL,
		created_at TIMESTAMP DEFAULT now() NOT NULL,
		updated_at TIMESTAMP DEFAULT now()
	)`,
	`CREATE TABLE IF NOT EXISTS alembic_version (
		version_num VARCHAR(32) NOT NULL,
		CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
	)`,
	`INSERT INTO alembic_version (version_num)
		SELECT 'standin_0_0_0' WHERE NOT EXISTS (SELECT 1 FROM alembic_version)`,
}
