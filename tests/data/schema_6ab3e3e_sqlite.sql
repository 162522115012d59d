-- SQLite schema made by db.create_all at release 6ab3e3e (flask --app gateway init-db then),
-- for tests/test_migrations.py: a deployed database from before migrations existed.

CREATE TABLE citizens (
	id INTEGER NOT NULL,
	subject VARCHAR(64) NOT NULL,
	personal_id VARCHAR(12) NOT NULL,
	family_name VARCHAR(80) NOT NULL,
	middle_name VARCHAR(80) NOT NULL,
	given_name VARCHAR(80) NOT NULL,
	birthdate DATE NOT NULL,
	gender VARCHAR(8) NOT NULL,
	email VARCHAR(254),
	email_verified BOOLEAN NOT NULL,
	phone_number VARCHAR(20),
	phone_number_verified BOOLEAN NOT NULL,
	street_address VARCHAR(200),
	ward_code VARCHAR(5),
	locality VARCHAR(100),
	region VARCHAR(100),
	password_hash VARCHAR(200),
	assurance_level INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	CONSTRAINT pk_citizens PRIMARY KEY (id),
	CONSTRAINT uq_citizens_subject UNIQUE (subject),
	CONSTRAINT uq_citizens_personal_id UNIQUE (personal_id)
);

CREATE TABLE login_failures (
	id INTEGER NOT NULL,
	personal_id VARCHAR(12) NOT NULL,
	failed_at INTEGER NOT NULL,
	CONSTRAINT pk_login_failures PRIMARY KEY (id)
);

CREATE INDEX ix_login_failures_personal_id ON login_failures (personal_id);

CREATE TABLE initial_access_tokens (
	id INTEGER NOT NULL,
	token_digest VARCHAR(64) NOT NULL,
	agency_name VARCHAR(200) NOT NULL,
	agency_level VARCHAR(10) NOT NULL,
	administrative_unit_code VARCHAR(5) NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	max_uses INTEGER,
	uses INTEGER NOT NULL,
	revoked_at INTEGER,
	CONSTRAINT pk_initial_access_tokens PRIMARY KEY (id),
	CONSTRAINT uq_initial_access_tokens_token_digest UNIQUE (token_digest)
);

CREATE TABLE client_assertion_jtis (
	id INTEGER NOT NULL,
	client_id VARCHAR(48) NOT NULL,
	jti_digest VARCHAR(64) NOT NULL,
	expires_at INTEGER NOT NULL,
	CONSTRAINT pk_client_assertion_jtis PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_client_assertion_jtis_client_jti ON client_assertion_jtis (client_id, jti_digest);

CREATE INDEX ix_client_assertion_jtis_expires_at ON client_assertion_jtis (expires_at);

CREATE TABLE signing_keys (
	id INTEGER NOT NULL,
	kid VARCHAR(64) NOT NULL,
	kty VARCHAR(8) NOT NULL,
	private_jwk TEXT NOT NULL,
	active BOOLEAN NOT NULL,
	created_at DATETIME NOT NULL,
	retired_at DATETIME,
	CONSTRAINT pk_signing_keys PRIMARY KEY (id),
	CONSTRAINT uq_signing_keys_kid UNIQUE (kid)
);

CREATE TABLE pending_authorizations (
	id INTEGER NOT NULL,
	uid VARCHAR(64) NOT NULL,
	browser_digest VARCHAR(64) NOT NULL,
	client_id VARCHAR(48) NOT NULL,
	params JSON NOT NULL,
	login_sid VARCHAR(64),
	consent_given BOOLEAN NOT NULL,
	denied BOOLEAN NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	CONSTRAINT pk_pending_authorizations PRIMARY KEY (id),
	CONSTRAINT uq_pending_authorizations_uid UNIQUE (uid)
);

CREATE TABLE consents (
	id INTEGER NOT NULL,
	citizen_id INTEGER NOT NULL,
	client_id VARCHAR(48) NOT NULL,
	scope TEXT NOT NULL,
	granted_at INTEGER NOT NULL,
	CONSTRAINT pk_consents PRIMARY KEY (id),
	CONSTRAINT uq_consents_citizen_client UNIQUE (citizen_id, client_id),
	CONSTRAINT fk_consents_citizen_id_citizens FOREIGN KEY(citizen_id) REFERENCES citizens (id) ON DELETE CASCADE
);

CREATE TABLE totp_credentials (
	id INTEGER NOT NULL,
	citizen_id INTEGER NOT NULL,
	secret VARCHAR(64) NOT NULL,
	last_step INTEGER,
	created_at INTEGER NOT NULL,
	CONSTRAINT pk_totp_credentials PRIMARY KEY (id),
	CONSTRAINT uq_totp_credentials_citizen_id UNIQUE (citizen_id),
	CONSTRAINT fk_totp_credentials_citizen_id_citizens FOREIGN KEY(citizen_id) REFERENCES citizens (id) ON DELETE CASCADE
);

CREATE TABLE recovery_codes (
	id INTEGER NOT NULL,
	citizen_id INTEGER NOT NULL,
	code_digest VARCHAR(64) NOT NULL,
	used_at INTEGER,
	CONSTRAINT pk_recovery_codes PRIMARY KEY (id),
	CONSTRAINT fk_recovery_codes_citizen_id_citizens FOREIGN KEY(citizen_id) REFERENCES citizens (id) ON DELETE CASCADE
);

CREATE INDEX ix_recovery_codes_citizen_id ON recovery_codes (citizen_id);

CREATE TABLE qr_logins (
	id INTEGER NOT NULL,
	code_digest VARCHAR(64) NOT NULL,
	pending_uid VARCHAR(64) NOT NULL,
	browser_digest VARCHAR(64) NOT NULL,
	client_id VARCHAR(48) NOT NULL,
	ip_address VARCHAR(45),
	user_agent VARCHAR(300),
	status VARCHAR(16) NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	phone_sid VARCHAR(64),
	citizen_id INTEGER,
	phone_acr VARCHAR(40),
	phone_amr JSON,
	decided_at INTEGER,
	consumed_at INTEGER,
	CONSTRAINT pk_qr_logins PRIMARY KEY (id),
	CONSTRAINT uq_qr_logins_code_digest UNIQUE (code_digest),
	CONSTRAINT fk_qr_logins_citizen_id_citizens FOREIGN KEY(citizen_id) REFERENCES citizens (id) ON DELETE CASCADE
);

CREATE INDEX ix_qr_logins_ip_address ON qr_logins (ip_address);

CREATE INDEX ix_qr_logins_pending_uid ON qr_logins (pending_uid);

CREATE INDEX ix_qr_logins_browser_digest ON qr_logins (browser_digest);

CREATE INDEX ix_qr_logins_created_at ON qr_logins (created_at);

CREATE INDEX ix_qr_logins_citizen_id ON qr_logins (citizen_id);

CREATE TABLE oauth2_clients (
	id INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	registration_access_token_digest VARCHAR(64),
	initial_access_token_id INTEGER,
	client_id VARCHAR(48),
	client_secret VARCHAR(120),
	client_id_issued_at INTEGER NOT NULL,
	client_secret_expires_at INTEGER NOT NULL,
	client_metadata TEXT,
	CONSTRAINT pk_oauth2_clients PRIMARY KEY (id),
	CONSTRAINT uq_oauth2_clients_registration_access_token_digest UNIQUE (registration_access_token_digest),
	CONSTRAINT fk_oauth2_clients_initial_access_token_id_initial_access_tokens FOREIGN KEY(initial_access_token_id) REFERENCES initial_access_tokens (id) ON DELETE SET NULL
);

CREATE INDEX ix_oauth2_clients_client_id ON oauth2_clients (client_id);

CREATE UNIQUE INDEX ix_oauth2_clients_client_id_unique ON oauth2_clients (client_id);

CREATE TABLE user_sessions (
	id INTEGER NOT NULL,
	sid VARCHAR(64) NOT NULL,
	handle_digest VARCHAR(64) NOT NULL,
	citizen_id INTEGER NOT NULL,
	auth_time INTEGER NOT NULL,
	acr VARCHAR(40) NOT NULL,
	amr JSON NOT NULL,
	created_at INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	ended_at INTEGER,
	ip_address VARCHAR(45),
	user_agent VARCHAR(300),
	CONSTRAINT pk_user_sessions PRIMARY KEY (id),
	CONSTRAINT uq_user_sessions_sid UNIQUE (sid),
	CONSTRAINT uq_user_sessions_handle_digest UNIQUE (handle_digest),
	CONSTRAINT fk_user_sessions_citizen_id_citizens FOREIGN KEY(citizen_id) REFERENCES citizens (id) ON DELETE CASCADE
);

CREATE TABLE authorization_codes (
	id INTEGER NOT NULL,
	code_digest VARCHAR(64) NOT NULL,
	client_id VARCHAR(48) NOT NULL,
	citizen_id INTEGER NOT NULL,
	redirect_uri TEXT NOT NULL,
	scope TEXT NOT NULL,
	nonce TEXT,
	sid VARCHAR(64),
	auth_time INTEGER NOT NULL,
	acr VARCHAR(40),
	amr JSON NOT NULL,
	claims JSON,
	code_challenge VARCHAR(128),
	code_challenge_method VARCHAR(8),
	issued_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER,
	CONSTRAINT pk_authorization_codes PRIMARY KEY (id),
	CONSTRAINT uq_authorization_codes_code_digest UNIQUE (code_digest),
	CONSTRAINT fk_authorization_codes_citizen_id_citizens FOREIGN KEY(citizen_id) REFERENCES citizens (id) ON DELETE CASCADE
);

CREATE INDEX ix_authorization_codes_client_challenge ON authorization_codes (client_id, code_challenge);

CREATE INDEX ix_authorization_codes_client_nonce ON authorization_codes (client_id, nonce);

CREATE TABLE tokens (
	id INTEGER NOT NULL,
	access_token_digest VARCHAR(64) NOT NULL,
	refresh_token_digest VARCHAR(64),
	client_id VARCHAR(48) NOT NULL,
	citizen_id INTEGER,
	authorization_code_id INTEGER,
	sid VARCHAR(64),
	token_type VARCHAR(20) NOT NULL,
	scope TEXT NOT NULL,
	issued_at INTEGER NOT NULL,
	expires_in INTEGER NOT NULL,
	revoked_at INTEGER,
	CONSTRAINT pk_tokens PRIMARY KEY (id),
	CONSTRAINT uq_tokens_access_token_digest UNIQUE (access_token_digest),
	CONSTRAINT uq_tokens_refresh_token_digest UNIQUE (refresh_token_digest),
	CONSTRAINT fk_tokens_citizen_id_citizens FOREIGN KEY(citizen_id) REFERENCES citizens (id) ON DELETE CASCADE,
	CONSTRAINT fk_tokens_authorization_code_id_authorization_codes FOREIGN KEY(authorization_code_id) REFERENCES authorization_codes (id) ON DELETE SET NULL
);

CREATE INDEX ix_tokens_authorization_code_id ON tokens (authorization_code_id);
