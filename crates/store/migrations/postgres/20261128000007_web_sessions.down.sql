-- Drops the browser sessions: everyone signed in to the web application signs in again.

DROP TABLE web_sessions;
