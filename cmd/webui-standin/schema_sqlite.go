package main

// sqliteSchema is an Open WebUI-shaped schema (column names and SQLite types
// as SQLAlchemy creates them upstream: VARCHAR/TEXT/BIGINT/BOOLEAN/DATE, JSON
// as TEXT, booleans as 0/1). It is a subset of the real tables, enough for
// fleetctl to back up, migrate and replicate realistic data. Timestamps are
// epoch seconds except in message (nanoseconds).
var sqliteSchema = []string{
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
		settings TEXT,
		info TEXT,
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
		chat TEXT,
		created_at BIGINT,
		updated_at BIGINT,
		share_id TEXT UNIQUE,
		archived BOOLEAN,
		pinned BOOLEAN DEFAULT 0,
		meta TEXT DEFAULT '{}' NOT NULL,
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
		meta TEXT,
		PRIMARY KEY (id, user_id)
	)`,
	`CREATE TABLE IF NOT EXISTS folder (
		id TEXT NOT NULL,
		parent_id TEXT,
		user_id TEXT NOT NULL,
		name TEXT NOT NULL,
		items TEXT,
		meta TEXT,
		is_expanded BOOLEAN NOT NULL DEFAULT 0,
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
		data TEXT,
		meta TEXT,
		access_control TEXT,
		created_at BIGINT,
		updated_at BIGINT
	)`,
	`CREATE TABLE IF NOT EXISTS message (
		id TEXT NOT NULL PRIMARY KEY,
		user_id TEXT,
		channel_id TEXT,
		parent_id TEXT,
		content TEXT,
		data TEXT,
		meta TEXT,
		is_pinned BOOLEAN NOT NULL DEFAULT 0,
		created_at BIGINT,
		updated_at BIGINT
	)`,
	`CREATE TABLE IF NOT EXISTS config (
		id INTEGER NOT NULL PRIMARY KEY,
		data TEXT NOT NULL,
		version INTEGER NOT NULL,
		created_at DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
		updated_at DATETIME DEFAULT (CURRENT_TIMESTAMP)
	)`,
	`CREATE TABLE IF NOT EXISTS alembic_version (
		version_num VARCHAR(32) NOT NULL,
		CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
	)`,
	`INSERT INTO alembic_version (version_num)
		SELECT 'standin_0_0_0' WHERE NOT EXISTS (SELECT 1 FROM alembic_version)`,
}
